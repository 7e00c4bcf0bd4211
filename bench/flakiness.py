"""How often each scenario's outcome changes between runs of the same suite on the same target.

    python -m bench.flakiness --runs 20 [--busy] [--label NAME] -- <pytest args for the target>

Runs `pytest <args> --report-dir DIR` N times in a row (default args: `features/`, the
reference target), reads each run's ConformanceReport, and writes a summary: per scenario,
its outcome in each run, the majority outcome, and how many runs differed from it (a
scenario absent from a run's report, or a run that wrote no report, counts as "not run").
Beside the outcomes it records what could explain them: the machine's load average before
and after each run, its CPUs, the command's niceness, whether a CPU hog ran (`--busy`: one
busy loop per CPU for the whole set of runs), the suite commit and the target's versions as
the reports give them, and for every outcome that differed the failure message from the
run's JUnit XML.

The summary goes to `docs/bench/flakiness/<date>-<label>-<quiet|busy>.yaml` unless `--out`
says otherwise; `python -m bench.flakiness_doc` renders the tables of `docs/flakiness.md`
from the committed summaries. "quiet" only means that no hog of ours ran: the load columns
say how quiet the machine was.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from conformance.processes import interrupt_on_termination

from .cpu_hog import cpu_hog, cpus

ROOT = Path(__file__).resolve().parents[1]
SUMMARIES = ROOT / "docs" / "bench" / "flakiness"
NOT_RUN = "not run"
_MESSAGE_CHARS = 600
_CASE = re.compile(r"^(?P<id>APIKEY-[A-Z]+-\d+)\b.*?(?P<example>\[[^\[\]]*\])?$", re.DOTALL)


# --- aggregation (pure) -----------------------------------------------------------------

@dataclass
class Verdict:
    """One scenario over all runs: its outcome per run, the majority, and how many differ."""

    outcomes: list[str]
    majority: str | None  # None on a tie: no outcome was the most common alone
    tied: list[str] = field(default_factory=list)

    @property
    def differing(self) -> int:
        """Runs whose outcome is not the most common one; on a tie, all but one tied outcome's runs."""
        return len(self.outcomes) - max(collections.Counter(self.outcomes).values())

    @property
    def flaky(self) -> bool:
        return self.differing > 0

    def differing_runs(self) -> list[int]:
        """The runs (1-based) that differ from the majority; on a tie, those off the first tied outcome."""
        reference = self.majority if self.majority is not None else self.tied[0]
        return [n for n, outcome in enumerate(self.outcomes, 1) if outcome != reference]


def verdict(outcomes: list[str]) -> Verdict:
    counts = collections.Counter(outcomes)
    top = max(counts.values())
    leaders = sorted(o for o, c in counts.items() if c == top)
    if len(leaders) == 1:
        return Verdict(outcomes, leaders[0])
    return Verdict(outcomes, None, leaders)


def aggregate(runs: list[dict[str, str] | None]) -> dict[str, Verdict]:
    """Per scenario, its verdict over `runs` (each: scenario -> outcome, or None for a run
    that wrote no report). A scenario missing from a run was not run in it."""
    names = sorted({name for run in runs if run for name in run})
    return {name: verdict([(run or {}).get(name, NOT_RUN) for run in runs]) for name in names}


# --- reading one run's reports ----------------------------------------------------------

def read_outcomes(report: dict) -> dict[str, str]:
    return {s["name"]: s["outcome"] for s in report.get("scenarios", [])}


def failure_messages(junit: Path) -> dict[str, str]:
    """Scenario -> the first lines of its failure or error message, from `junit.xml` (keys are
    masked there by the suite); empty when the file is missing or unreadable."""
    try:
        root = ET.parse(junit).getroot()
    except (OSError, ET.ParseError):
        return {}
    out: dict[str, str] = {}
    for case in root.iter("testcase"):
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        match = _CASE.match(case.get("name", ""))
        if problem is None or not match:
            continue
        name = match["id"] + (match["example"] or "")
        text = (problem.get("message") or problem.text or "").strip()
        out[name] = text[:_MESSAGE_CHARS] + (" ..." if len(text) > _MESSAGE_CHARS else "")
    return out


# --- running ----------------------------------------------------------------------------

@dataclass
class Run:
    number: int
    exit_code: int
    seconds: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    report: dict | None
    messages: dict[str, str]
    tail: str  # the end of pytest's output, kept only when the run wrote no report


def pytest_command(runner: list[str], pytest_args: list[str], report_dir: Path) -> list[str]:
    return [*runner, *pytest_args, "--report-dir", str(report_dir), "-p", "no:cacheprovider", "-q"]


def run_once(number: int, runner: list[str], pytest_args: list[str], workdir: Path) -> Run:
    report_dir = workdir / f"run-{number:03d}"
    log = workdir / f"run-{number:03d}.log"
    before, started = os.getloadavg(), time.monotonic()
    with open(log, "wb") as out:
        code = subprocess.call(pytest_command(runner, pytest_args, report_dir), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                               stdin=subprocess.DEVNULL)
    seconds, after = time.monotonic() - started, os.getloadavg()
    path = report_dir / "conformance-report.yaml"
    report = yaml.safe_load(path.read_text()) if path.is_file() else None
    tail = "" if report else "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    return Run(number, code, seconds, before, after, report, failure_messages(report_dir / "junit.xml"), tail)


def _load(values: tuple[float, float, float]) -> list[float]:
    return [round(v, 2) for v in values]


def _one(values: list, what: str):
    """The single value every run agreed on, or all of them when they differ."""
    distinct = [v for i, v in enumerate(values) if v not in values[:i]]
    return distinct[0] if len(distinct) == 1 else {"differs between runs": distinct, "field": what}


def summarise(runs: list[Run], pytest_args: list[str], busy: bool, hog_processes: int, started: datetime.datetime) -> dict:
    reports = [r.report for r in runs if r.report]
    verdicts = aggregate([read_outcomes(r.report) if r.report else None for r in runs])
    scenarios = {}
    for name, v in verdicts.items():
        entry: dict = {"majority": v.majority if v.majority is not None else "tie: " + ", ".join(v.tied),
                       "counts": dict(sorted(collections.Counter(v.outcomes).items())), "differing": v.differing}
        if v.flaky:
            entry["differingRuns"] = [{"run": n, "outcome": v.outcomes[n - 1],
                                       **({"message": runs[n - 1].messages[name]} if name in runs[n - 1].messages else {})}
                                      for n in v.differing_runs()]
        scenarios[name] = entry
    first_load = [r.load_before[0] for r in runs] + [r.load_after[0] for r in runs]
    return {
        "kind": "FlakinessSummary",
        "date": started.isoformat(timespec="seconds"),
        "suiteCommit": _one([r["suiteCommit"] for r in reports], "suiteCommit") if reports else "unknown: no run wrote a report",
        "target": _one([r["run"]["target"] for r in reports], "target") if reports else None,
        "convergence": _one([r["run"]["convergence"] for r in reports], "convergence") if reports else None,
        "workers": _one([r["run"].get("workers", 0) for r in reports], "workers") if reports else None,
        "pytestArgs": pytest_args,
        "runs": len(runs),
        "machine": {"cpus": cpus(), "python": platform.python_version(), "niceness": os.nice(0),
                    "cpuHog": {"processes": hog_processes} if busy else None,
                    "loadAverage1m": {"min": round(min(first_load), 2), "median": round(statistics.median(first_load), 2),
                                      "max": round(max(first_load), 2)}},
        "flakyScenarios": sum(v.flaky for v in verdicts.values()),
        "perRun": [{"run": r.number, "exitCode": r.exit_code, "seconds": round(r.seconds, 1), "loadBefore": _load(r.load_before),
                    "loadAfter": _load(r.load_after),
                    "outcomes": dict(sorted(collections.Counter(read_outcomes(r.report).values()).items())) if r.report else None,
                    **({"output": r.tail} if r.tail else {})} for r in runs],
        "scenarios": scenarios,
    }


def default_label(summary: dict) -> str:
    target = summary.get("target")
    name = target.get("name", "unknown") if isinstance(target, dict) else "unknown"
    workers = summary.get("workers")
    return name + (f"-n{workers}" if isinstance(workers, int) and workers else "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, pytest_args = (argv[: argv.index("--")], argv[argv.index("--") + 1:]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(prog="python -m bench.flakiness", description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s --runs N [--busy] [--label NAME] [--out FILE] [--keep DIR] [--runner CMD] -- <pytest args>")
    parser.add_argument("--runs", type=int, default=20, help="runs of the suite (default 20)")
    parser.add_argument("--busy", action="store_true", help="keep every CPU busy with a busy loop per CPU while the runs go")
    parser.add_argument("--label", help="names the target in the summary's file name (default: the report's target name, "
                                        "with -nN for pytest-xdist workers); e.g. envtest-reference")
    parser.add_argument("--out", type=Path, help="where to write the summary (default docs/bench/flakiness/<date>-<label>-<quiet|busy>.yaml)")
    parser.add_argument("--keep", type=Path, help="keep every run's reports and output under this directory")
    parser.add_argument("--runner", help="the command that runs pytest, given the pytest args (default: this Python's -m pytest, "
                                         "with features/ when no args are given); e.g. clusters/kind/run-local.sh, which runs "
                                         "pytest features/ --target=kind itself")
    args = parser.parse_args(ours)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    runner = shlex.split(args.runner) if args.runner else [sys.executable, "-m", "pytest"]
    pytest_args = pytest_args or ([] if args.runner else ["features/"])
    interrupt_on_termination()  # `kill` of the command stops the hog and the run under way, as Ctrl-C does
    started = datetime.datetime.now(datetime.UTC)
    hog_processes = cpus() if args.busy else 0
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        workdir = Path(args.keep) if args.keep else Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="agw-flakiness-")))
        workdir.mkdir(parents=True, exist_ok=True)
        if args.busy:
            stack.enter_context(cpu_hog(hog_processes))
        for number in range(1, args.runs + 1):
            run = run_once(number, runner, pytest_args, workdir)
            runs.append(run)
            counts = ", ".join(f"{c} {o}" for o, c in sorted(collections.Counter(read_outcomes(run.report).values()).items())) \
                if run.report else "no report"
            print(f"run {number}/{args.runs}: exit {run.exit_code}, {run.seconds:.1f} s, load {run.load_before[0]:.2f} -> "
                  f"{run.load_after[0]:.2f}; {counts}", flush=True)
    summary = summarise(runs, pytest_args, args.busy, hog_processes, started)
    if args.runner:
        summary["runner"] = args.runner
    out = args.out or SUMMARIES / f"{started:%Y-%m-%d}-{args.label or default_label(summary)}-{'busy' if args.busy else 'quiet'}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(summary, sort_keys=False, allow_unicode=True, width=120))
    flaky = {n: s for n, s in summary["scenarios"].items() if s["differing"]}
    print(f"{len(flaky)} of {len(summary['scenarios'])} scenarios had an outcome that differed from their majority in {args.runs} runs")
    for name, s in flaky.items():
        print(f"  {name}: {s['counts']} (majority {s['majority']})")
    print(f"summary: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
