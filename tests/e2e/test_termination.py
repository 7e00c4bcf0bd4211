"""`kill -TERM` (or a closed terminal's SIGHUP) of a running `pytest features/` leaves
nothing behind: every program the target started is gone, and so is its work directory.

Each run is a real one, in a process group of its own, with TMPDIR pointing at a fresh
directory so that the target's work directory can be watched. The run is signalled while a
scenario is in progress (its gateway and backend are up), and afterwards no descendant of
the run and nothing in TMPDIR may remain.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import BINARY, needs_binary

ROOT = Path(__file__).resolve().parents[2]
# A scenario with several changes and expectations, long enough to be caught running.
SCENARIO = "APIKEY-CORE-034"


def children_of(pid: int) -> set[int]:
    """Every descendant of `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("target, programs", [
    ([], 2),
    (["--target=kubernetes", "--envtest"], 4),
    pytest.param(["--target=agentgateway-local", f"--agentgateway-binary={BINARY}"], 2, marks=needs_binary),
], ids=["reference", "envtest", "agentgateway-local"])
def test_a_signalled_run_leaves_no_process_and_no_work_directory(tmp_path, sig, target, programs):
    # reference: its echo backend and gateway; envtest: etcd, kube-apiserver, go-httpbin, the
    # gateway; agentgateway-local: the echo backend and the real proxy.
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run = subprocess.Popen(
        [sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-q", "-k", SCENARIO, *target],
        cwd=ROOT, env={**os.environ, "TMPDIR": str(tmp)}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
        # As from a terminal: under nohup (CI runners, for one) SIGHUP is ignored, and a run
        # started there rightly ignores it too.
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL),
    )
    try:
        # Wait for every program of the target.
        deadline, started = time.monotonic() + 300, set()
        while time.monotonic() < deadline and run.poll() is None:
            started = {p for p in children_of(run.pid) if alive(p)}
            if len(started) >= programs and any(tmp.iterdir()):
                break
            time.sleep(0.2)
        assert run.poll() is None and len(started) >= programs, "the run never got its programs going:\n" + (run.stdout.read() if run.poll() is not None else "")
        time.sleep(1.0)  # into the scenario
        started |= {p for p in children_of(run.pid) if alive(p)}
        os.kill(run.pid, sig)
        out, _ = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    time.sleep(0.5)
    left = sorted(p for p in started if alive(p))
    assert not left, f"still running after {sig.name}: " + ", ".join(Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ")[:120] for p in left)
    assert not list(tmp.iterdir()), f"left behind in TMPDIR: {sorted(p.name for p in tmp.iterdir())}\n{out[-2000:]}"
    assert run.returncode != 0
