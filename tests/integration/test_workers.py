"""`agw-reference serve --workers N`: N processes serving one listen address, stopped together."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from conformance.targets.base import base_manifest
from conformance.processes import Program, answers, free_port

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="workers are forked processes")


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")
def test_workers_share_the_address_and_stop_with_their_parent(tmp_path):
    echo_port, port, admin = free_port(), free_port(), free_port()
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    (manifests / "base.yaml").write_text(base_manifest("base.yaml"))
    (manifests / "endpoints.yaml").write_text(base_manifest("endpointslice.yaml", address="127.0.0.1", port=str(echo_port)))
    echo = Program("echo", [sys.executable, "-m", "reference", "echo", "--listen", f"127.0.0.1:{echo_port}"], tmp_path)
    gateway = Program("gateway", [sys.executable, "-m", "reference", "serve", "--manifests", str(manifests), "--workers", "2",
                                  "--listen", f"127.0.0.1:{port}", "--admin", f"127.0.0.1:{admin}"], tmp_path)
    try:
        echo.wait_until(lambda: answers(f"http://127.0.0.1:{echo_port}/status/200"), 30, "ready")
        def status() -> int:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/headers", headers={"host": "www.example.com"}, timeout=5).status_code
            except httpx.TransportError:
                return 0  # not listening yet: on a loaded machine the workers start after the echo

        # Each worker loads the configuration itself; wait until both answer through the route.
        deadline = time.monotonic() + 30
        statuses: list[int] = []
        while time.monotonic() < deadline:
            statuses = [status() for _ in range(20)]  # a new connection each: either worker may accept it
            if statuses == [200] * 20:
                break
            time.sleep(0.1)
        assert statuses == [200] * 20
        workers = children(gateway.proc.pid)
        assert len(workers) == 2
        os.kill(gateway.proc.pid, signal.SIGTERM)  # the parent only: it passes the signal on
        assert gateway.proc.wait(10) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # reaped by the parent before it exited
    finally:
        gateway.stop()
        echo.stop()
