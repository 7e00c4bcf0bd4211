"""docs/flakiness.md's tables come from the committed summaries of bench.flakiness, never by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import flakiness_doc as doc


def test_there_are_summaries_of_real_runs():
    assert doc.load_summaries(), f"no summary under {doc.SUMMARIES}"


def test_the_page_matches_the_committed_summaries():
    text = doc.PAGE.read_text()
    assert doc.render(text, doc.load_summaries()) == text, "docs/flakiness.md is out of date: run python -m bench.flakiness_doc"


def _summary(flaky: bool) -> dict:
    counts = {"failed": 1, "passed": 4} if flaky else {"passed": 5}
    entry = {"majority": "passed", "counts": counts, "differing": 1 if flaky else 0}
    if flaky:
        entry["differingRuns"] = [{"run": 3, "outcome": "failed", "message": "expected status 401 | not <200>"}]
    return {"suiteCommit": "a" * 40, "target": {"name": "reference", "versions": {"reference gateway": "0.1.0"}},
            "convergence": {"intervalSeconds": 0.1, "matchesSpaced": False}, "pytestArgs": ["features/", "-n", "2"], "runs": 5,
            "machine": {"cpus": 2, "niceness": 0, "cpuHog": {"processes": 2}, "loadAverage1m": {"min": 1.5, "median": 2.0, "max": 4.25}},
            "flakyScenarios": int(flaky),
            "perRun": [{"exitCode": 1 if flaky and n == 3 else 0, "seconds": 20.0 + n, "outcomes": {"passed": 1}} for n in range(1, 6)],
            "scenarios": {"APIKEY-CORE-001": entry}}


PAGE = f"# t\n\nprose\n{doc.BEGIN}\nstale\n{doc.END}\nmore prose\n"


def test_a_summary_is_one_row_with_its_load_hog_and_failed_runs_and_each_flake_a_row_with_its_message():
    out = doc.render(PAGE, {"2026-01-01-reference-n2-busy.yaml": _summary(flaky=True)})
    assert "stale" not in out and out.startswith("# t\n\nprose\n") and out.endswith(f"{doc.END}\nmore prose\n")
    row = next(line for line in out.splitlines() if line.startswith("| `2026-01-01-reference-n2-busy.yaml` | `aaaaaaaaaaaa`"))
    assert "| `features/ -n 2` | 5 | 2 busy loops | 0 | 1.50 / 2.00 / 4.25 | 2 | 23.0 | 1 | back to back | 1 | 1 |" in row
    flake = next(line for line in out.splitlines() if "APIKEY-CORE-001" in line)
    assert "| passed | 1 failed, 4 passed | run 3: failed (expected status 401 \\| not &lt;200&gt;) |" in flake


def test_without_flakes_the_page_says_so():
    out = doc.render(PAGE, {"s.yaml": _summary(flaky=False)})
    assert "No scenario's outcome differed from its majority in any summary above." in out


def test_a_page_without_its_markers_is_refused():
    with pytest.raises(SystemExit, match="marker lines"):
        doc.render("# no markers\n", {})
