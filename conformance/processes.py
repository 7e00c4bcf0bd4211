"""Starting and stopping the local programs a target needs (gateways, backends)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from . import waiting
from .http import control_get
from .waiting import TIMEOUTS


def answers(url: str) -> bool:
    """Whether `url` answers 200 right now: the readiness probe for programs we start.

    Each probe opens and closes its own connection: it asks a program that is only starting,
    at a plain-http address of ours, and a transport without a TLS context costs a fraction
    of a millisecond (one that loads the CA bundle costs tens)."""
    with httpx.HTTPTransport(verify=False) as transport:
        try:
            return control_get(transport, url, timeout=TIMEOUTS.readiness_probe).status_code == 200
        except httpx.HTTPError:
            return False


def listening(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port and listening, to hand to a child that can take one (`fd:N`).

    Bound once and never released, it cannot be taken by another run between choosing the
    port and the child binding it, as a port from `free_port` can."""
    sock = socket.socket()
    sock.bind((host, 0))
    sock.listen(2048)
    return sock


def log_tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file; "" when there is none (yet)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on at `host` now (use "0.0.0.0" for a program that binds every address)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _die_with_us() -> list[str]:
    """A prefix that makes a child get SIGKILL when we die, even by SIGKILL.

    The parent-death signal fires when the *thread* that started the child exits, so it
    is only asked for from the main thread (setpriv(1), util-linux).
    """
    setpriv = shutil.which("setpriv")
    if setpriv and sys.platform == "linux" and threading.current_thread() is threading.main_thread():
        return [setpriv, "--pdeathsig", "KILL", "--"]
    return []


class Program:
    """A child process in its own process group, with its output appended to `<logdir>/<name>.log`.

    It dies with this process (parent-death signal), and `stop` ends its whole group:
    TERM, then KILL after a grace period, and KILL for anything of the group still there
    when the leader is already gone.
    """

    def __init__(self, name: str, argv: list[str], logdir: Path, env: dict[str, str] | None = None,
                 sockets: tuple[socket.socket, ...] = ()):
        """`sockets` are handed to the child (as `fd:N` in its argv) and closed here once it has them."""
        self.name, self.argv = name, argv
        self.log = logdir / f"{name}.log"
        self._out = open(self.log, "ab")  # noqa: SIM115 -- closed by stop()
        try:
            self.proc = subprocess.Popen(_die_with_us() + argv, stdout=self._out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True, env=env,
                                         pass_fds=[s.fileno() for s in sockets])
        except BaseException:
            self._out.close()
            raise
        finally:
            for sock in sockets:
                sock.close()

    def tail(self, lines: int = 30) -> str:
        return log_tail(self.log, lines)

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        waiting.wait_until(ready, timeout, lambda: f"{self.name} did not become {what} within {timeout:g} s:\n{self.tail()}",
                   alive=lambda: self.exited_before(what), error=RuntimeError)

    def exited_before(self, what: str) -> None:
        """Raise, with the end of its log, if the program has exited before `what` happened."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before {what}:\n{self.tail()}")

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def stop(self, grace: float = TIMEOUTS.stop_grace) -> None:
        try:
            if self.running:
                self.signal(signal.SIGTERM)
                try:
                    self.proc.wait(grace)
                except subprocess.TimeoutExpired:
                    self.signal(signal.SIGKILL)
            self.signal(signal.SIGKILL)  # whatever of its group outlived the leader
            self.proc.wait()
        finally:
            self._out.close()


def stop_all(programs: list[Program]) -> None:
    """Stop every program, last started first, even when one of them fails to stop; then
    raise the first failure."""
    failure: BaseException | None = None
    while programs:
        program = programs.pop()
        try:
            program.stop()
        except BaseException as exc:  # noqa: BLE001 -- the others must still be stopped
            failure = failure or exc
    if failure is not None:
        raise failure


def interrupt_on_termination() -> None:
    """SIGTERM and SIGHUP end the run as Ctrl-C does, so every fixture's finalizer stops
    what it started and removes its work directory. Left alone where someone else already
    handles or ignores them (an embedding program; `nohup`, which asks for SIGHUP to be
    ignored), and outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signal.Signals(signum).name}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            signal.signal(sig, interrupt)


def host_address() -> str:
    """A non-loopback IPv4 address of this machine.

    An API server refuses loopback addresses in EndpointSlices, so a backend that a
    cluster's Service points at must listen on a real interface. Connecting a UDP socket
    sends nothing; it only asks the kernel which source address it would use.
    """
    for probe in ("192.0.2.1", "10.255.255.255", "203.0.113.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
            except OSError:
                continue
            address = sock.getsockname()[0]
            if not address.startswith("127."):
                return address
    raise RuntimeError("this machine has no non-loopback IPv4 address for the backend to listen on")
