"""bench.flakiness: how outcomes over several runs are counted, and that its CPU hog never outlives it."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# `python -m bench...` runs from a checkout; the package is not installed.
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.cpu_hog import cpu_hog
from bench.flakiness import NOT_RUN, Run, aggregate, failure_messages, summarise, verdict


def test_the_majority_is_the_most_common_outcome_and_the_rest_differ():
    v = verdict(["passed", "failed", "passed", "passed"])
    assert (v.majority, v.differing, v.flaky, v.differing_runs()) == ("passed", 1, True, [2])


def test_a_steady_scenario_has_no_differing_run():
    v = verdict(["passed"] * 5)
    assert (v.majority, v.differing, v.flaky, v.differing_runs()) == ("passed", 0, False, [])


def test_a_tie_has_no_majority_and_counts_every_run_off_one_of_the_tied_outcomes():
    v = verdict(["failed", "passed", "passed", "failed"])
    assert v.majority is None and v.tied == ["failed", "passed"]
    assert v.differing == 2 and v.flaky


def test_a_three_way_split_differs_by_all_but_the_largest_share():
    v = verdict(["passed", "failed", "skipped", "passed", "failed"])
    assert v.majority is None and v.tied == ["failed", "passed"] and v.differing == 3


def test_a_scenario_missing_from_a_run_counts_as_not_run_there():
    verdicts = aggregate([{"A": "passed", "B": "passed"}, {"A": "passed"}, {"A": "passed", "B": "passed"}])
    assert verdicts["A"].differing == 0
    assert verdicts["B"].outcomes == ["passed", NOT_RUN, "passed"] and verdicts["B"].differing == 1


def test_a_run_without_a_report_ran_nothing():
    verdicts = aggregate([{"A": "passed"}, None, {"A": "passed"}])
    assert verdicts["A"].outcomes == ["passed", NOT_RUN, "passed"] and verdicts["A"].differing_runs() == [2]


def _report(outcomes: dict[str, str]) -> dict:
    return {"suiteCommit": "c" * 40, "run": {"target": {"name": "reference", "versions": {"reference gateway": "0.1.0"}},
                                             "convergence": {"threshold": 3}, "workers": 0},
            "scenarios": [{"name": n, "outcome": o} for n, o in outcomes.items()]}


def test_the_summary_names_the_runs_that_differed_with_their_message():
    runs = [Run(n, 0 if outcome == "passed" else 1, 10.0, (1.0, 1.0, 1.0), (2.0, 1.0, 1.0),
                _report({"APIKEY-CORE-001": outcome, "APIKEY-CORE-002": "passed"}),
                {} if outcome == "passed" else {"APIKEY-CORE-001": "expected status 401 ..."}, "")
            for n, outcome in enumerate(["passed", "failed", "passed"], 1)]
    summary = summarise(runs, ["features/"], busy=False, hog_processes=0, started=datetime.datetime(2026, 1, 1))
    assert summary["flakyScenarios"] == 1 and summary["runs"] == 3 and summary["suiteCommit"] == "c" * 40
    assert summary["scenarios"]["APIKEY-CORE-001"]["differingRuns"] == [{"run": 2, "outcome": "failed", "message": "expected status 401 ..."}]
    assert summary["scenarios"]["APIKEY-CORE-002"] == {"majority": "passed", "counts": {"passed": 3}, "differing": 0}
    assert summary["machine"]["cpuHog"] is None and summary["machine"]["loadAverage1m"] == {"min": 1.0, "median": 1.5, "max": 2.0}


def test_failure_messages_are_read_per_scenario_and_example(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase name="APIKEY-CORE-001 A wrong key is refused"><failure message="expected 401">long text</failure></testcase>'
        '<testcase name="APIKEY-CORE-003 In Strict mode: &lt;case&gt;[a bare key]"><error message="TimeoutError: late"/></testcase>'
        '<testcase name="APIKEY-CORE-002 passes"/>'
        '</testsuite></testsuites>')
    assert failure_messages(junit) == {"APIKEY-CORE-001": "expected 401", "APIKEY-CORE-003[a bare key]": "TimeoutError: late"}
    assert failure_messages(tmp_path / "missing.xml") == {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead but not yet reaped by its parent.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _all(holds, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not holds():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _gone(pids: list[int], within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(p) for p in pids):
            return True
        time.sleep(0.05)
    return False


def test_the_hog_runs_one_busy_loop_per_process_asked_and_stops_on_an_error():
    with pytest.raises(RuntimeError), cpu_hog(2) as pids:
        assert len(pids) == 2 and all(_alive(p) for p in pids)
        raise RuntimeError("a run failed")
    assert _gone(pids)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_hog_is_stopped_when_the_command_is_interrupted_or_killed(sig):
    """Ctrl-C and kill end the block as an error does; SIGKILL leaves no finally to run, and
    the busy loops die with their parent all the same."""
    # SIGINT as at a terminal, even when these tests run where it is ignored (a background job).
    script = ("import signal, sys, time\n"
              "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
              f"sys.path.insert(0, {str(ROOT)!r})\n"
              "from bench.flakiness import interrupt_on_termination\n"
              "from bench.cpu_hog import cpu_hog\n"
              "interrupt_on_termination()\n"
              "with cpu_hog(2) as pids:\n"
              "    print(*pids, flush=True)\n"
              "    time.sleep(60)\n")
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as command:
        try:
            pids = [int(p) for p in command.stdout.readline().split()]
            assert len(pids) == 2 and all(_alive(p) for p in pids)
            # Each loop starts as setpriv, which sets the parent-death signal and then becomes the
            # loop: a parent killed before that (a loaded machine can be that slow) leaves an
            # orphan that no signal reaches. Wait until each one is the loop.
            assert _all(lambda: all(_command(p) != "setpriv" for p in pids)), "a busy loop never left setpriv"
            command.send_signal(sig)
            command.wait(20)
            assert _gone(pids), f"busy loops left running after {sig.name}"
        finally:
            command.kill()
