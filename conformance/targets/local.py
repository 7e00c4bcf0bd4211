"""What the targets that run everything as local programs share: a work directory, the echo
backend, stopping in reverse order, and the page's "Before you begin" objects."""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from pathlib import Path

from ..processes import Program, answers, listening, stop_all
from ..waiting import TIMEOUTS
from .base import ObjectRef, Target


class LocalTarget(Target):
    def __init__(self, command: str | None = None, workdir: Path | None = None, timeout: float = TIMEOUTS.change):
        # The reference's command line runs its echo backend too (`<command> echo`).
        self.command = shlex.split(command) if command else [sys.executable, "-m", "reference"]
        self._given_workdir = workdir
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.timeout = timeout
        self.objects: dict[ObjectRef, dict] = {}
        self.programs: list[Program] = []

    def _open_workdir(self, prefix: str) -> Path:
        if self._given_workdir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        self.workdir = Path(self._given_workdir or self._tmp.name)
        self.workdir.mkdir(parents=True, exist_ok=True)
        return self.workdir

    def _start_echo(self) -> Program:
        """Start the echo backend on a loopback socket bound here and handed over; wait for it with `_echo_ready`."""
        sock = listening()
        self.backend = ("127.0.0.1", sock.getsockname()[1])
        echo = Program("echo", [*self.command, "echo", "--listen", f"fd:{sock.fileno()}"], self.workdir,
                       {**os.environ, "PYTHONUNBUFFERED": "1"}, sockets=(sock,))
        self.programs.append(echo)
        return echo

    def _echo_ready(self, echo: Program) -> None:
        echo.wait_until(lambda: answers(f"http://{self.backend[0]}:{self.backend[1]}/status/200"), self.timeout, "ready")

    def stop(self) -> None:
        try:
            stop_all(self.programs)
        finally:
            if self._tmp:
                self._tmp.cleanup()

    def install_base(self) -> None:
        for manifest in self.base_manifests(self.backend[0], str(self.backend[1])):
            self.apply(manifest)
