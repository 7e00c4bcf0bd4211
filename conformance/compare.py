"""A run's ConformanceReport against a committed baseline, scenario by scenario.

A real target can fail scenarios for reasons already known and written down: agentgateway
v1.4.1 fails APIKEY-EXT-102 and EXT-103 because it drops `Proxy-Authorization` before any
policy runs, which upstream has changed since. The report says so, and must keep saying
so; but a job that is red on every run tells nobody anything, and stops before the steps
after it. The report of the last run, committed under `docs/results/`, is the baseline: a
run is as expected when every scenario has the outcome it has there.

    python -m conformance.compare BASELINE.yaml REPORT.yaml
    python -m conformance.compare --baselines docs/results REPORT.yaml
    python -m conformance.compare --baselines docs/results --report-dir DIR -- COMMAND [ARG ...]

`--baselines DIR` takes the one report in DIR of the same target and the same agentgateway
versions (every component of `run.target.versions` whose name says agentgateway). Other
components (kube-apiserver, the kind node image) may differ; each such change is printed.
Given a BASELINE by name, a report of another target or other agentgateway versions is
refused unless `--allow-mismatch`, which compares anyway with a warning.

With a COMMAND (pytest, or a script that passes its arguments to pytest) the report it
writes is the one judged: the old report in DIR is removed, the command runs with
`--report-dir DIR` appended, its exit code is printed, and its report is compared. A
command that did not end as a finished run (anything but 0 or 1: interrupted, internal
error, usage error, no tests) fails whatever its report says, with its own exit code, and
so does an exit code 1 whose report records no failed scenario (the failure was not a
scenario's, and no baseline holds it).

One line per difference, by scenario ID (outline examples by their full name,
`APIKEY-CORE-003[a bare key]`), then a summary:

- new failure: failed now, and did not fail in the baseline;
- recorded failure now passes: failed in the baseline, passed now (provisional counts as
  passed), so the baseline, or what it records, is out of date;
- not run: not selected, deselected or not reached now;
- not in the report: in the baseline, and absent from the report (another profile
  selection, or a scenario removed or renamed in the suite);
- outcome changed: any other change, between passed, provisional, skipped, exempt and
  not supported;
- new, not in the baseline: a scenario the baseline does not hold (one added to the suite
  since). It is a difference unless it passed or the target does not claim its features
  (passed, provisional, not supported): those a conformant target may show without a
  record, and are listed as notes. A new scenario that failed, was skipped or exempted, or
  did not run needs a baseline that records it.

Exit status: 0 when no scenario differs, 1 when any does, 2 when the files cannot be
compared (missing, not a ConformanceReport, another target or version, no baseline).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from .report_dir import YAML, schema

API_VERSION = "conformance.agentgateway.dev/v1alpha1"
EQUAL, DIFFERENT, UNUSABLE = 0, 1, 2

FAILED = "failed"
PASSING = frozenset({"passed", "provisional"})  # provisional: it passed, against a stand-in or with a step unchecked
NOT_RUN = frozenset({"not selected", "deselected", "not reached"})
# What a scenario the baseline has never seen may do without a record: pass, or need a
# feature the target does not claim.
NEW_WITHOUT_RECORD = PASSING | {"not supported"}

NEW_FAILURE = "new failure"
NOW_PASSES = "recorded failure now passes"
NOT_RUN_NOW = "not run"
MISSING = "not in the report"
CHANGED = "outcome changed"
NEW = "new, not in the baseline"
KINDS = (NEW_FAILURE, NOW_PASSES, NOT_RUN_NOW, MISSING, CHANGED, NEW)


class Unusable(Exception):
    """A file that cannot be compared, or a pair that must not be: says which file and why."""


def outcomes() -> list[str]:
    """Every outcome a report may give a scenario, as the shipped schema lists them."""
    return schema()["properties"]["scenarios"]["items"]["properties"]["outcome"]["enum"]


@dataclass(frozen=True)
class Run:
    """One ConformanceReport, as far as the comparison reads it."""

    path: Path
    document: dict
    outcomes: dict[str, str]  # scenario name -> outcome

    @property
    def target(self) -> str:
        return self.document["target"]

    @property
    def versions(self) -> dict[str, str]:
        return (self.document["run"].get("target") or {}).get("versions") or {}

    @property
    def upstream(self) -> dict[str, str]:
        """The versions of what is under test: the components named agentgateway."""
        return {k: v for k, v in self.versions.items() if "agentgateway" in k}

    def describe(self) -> str:
        versions = ", ".join(f"{k} {v}" for k, v in self.versions.items()) or "no versions recorded"
        return (f"{self.path}: suite {self.document.get('suiteVersion', '?')} at commit {self.document.get('suiteCommit', '?')}, "
                f"target {self.target} ({versions}), {self.document.get('date', 'no date')}")

    def failed(self) -> list[str]:
        return sorted(name for name, outcome in self.outcomes.items() if outcome == FAILED)


def load(path: str | Path) -> Run:
    """Read a ConformanceReport; raise Unusable naming the file and the field that is wrong."""
    path = Path(path)
    if not path.is_file():
        raise Unusable(f"{path}: no such file")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise Unusable(f"{path}: not readable as YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(document, dict) or document.get("kind") != "ConformanceReport":
        found = document.get("kind") if isinstance(document, dict) else type(document).__name__
        raise Unusable(f"{path}: not a ConformanceReport (kind: {found!r})")
    if document.get("apiVersion") != API_VERSION:
        raise Unusable(f"{path}: apiVersion {document.get('apiVersion')!r}, expected {API_VERSION}")
    if not isinstance(document.get("target"), str) or not document["target"]:
        raise Unusable(f"{path}: field target: missing or not a string")
    if not isinstance(document.get("run"), dict):
        raise Unusable(f"{path}: field run: missing or not a mapping")
    run_target = document["run"].get("target")
    if run_target is not None and not isinstance(run_target, dict):
        raise Unusable(f"{path}: field run.target: not a mapping")
    if not isinstance((run_target or {}).get("versions") or {}, dict):
        raise Unusable(f"{path}: field run.target.versions: not a mapping")
    scenarios = document.get("scenarios")
    if not isinstance(scenarios, list):
        raise Unusable(f"{path}: field scenarios: missing or not a list (a report written before the suite listed every scenario?)")
    allowed = outcomes()
    found: dict[str, str] = {}
    for i, scenario in enumerate(scenarios):
        where = f"{path}: scenarios[{i}]"
        if not isinstance(scenario, dict) or not isinstance(scenario.get("name"), str):
            raise Unusable(f"{where}: not a scenario with a name")
        name, outcome = scenario["name"], scenario.get("outcome")
        if outcome not in allowed:
            raise Unusable(f"{where} ({name}): outcome {outcome!r} is none of {', '.join(allowed)}")
        if name in found:
            raise Unusable(f"{where}: {name} is listed twice")
        found[name] = outcome
    return Run(path, document, found)


# --- which baseline, and whether the pair may be compared ----------------------------------


def mismatches(baseline: Run, report: Run) -> list[str]:
    """Why the two are not runs of the same thing: another target, or other agentgateway versions."""
    why = []
    if baseline.target != report.target:
        why.append(f"target: baseline {baseline.target!r}, report {report.target!r}")
    for component in sorted(baseline.upstream.keys() | report.upstream.keys()):
        before, now = baseline.upstream.get(component, "not recorded"), report.upstream.get(component, "not recorded")
        if before != now:
            why.append(f"{component}: baseline {before}, report {now}")
    return why


def other_changes(baseline: Run, report: Run) -> list[str]:
    """What differs between the runs besides the target and agentgateway: said, not judged."""
    notes = []
    for component in sorted(baseline.versions.keys() | report.versions.keys()):
        if component in baseline.upstream or component in report.upstream:
            continue
        before, now = baseline.versions.get(component, "not recorded"), report.versions.get(component, "not recorded")
        if before != now:
            notes.append(f"{component}: baseline {before}, report {now}")
    if baseline.document.get("mode") != report.document.get("mode"):
        notes.append(f"mode: baseline {baseline.document.get('mode')!r}, report {report.document.get('mode')!r}")
    return notes


def select(directory: str | Path, report: Run) -> Run:
    """The one baseline in `directory` of the report's target and agentgateway versions."""
    directory = Path(directory)
    if not directory.is_dir():
        raise Unusable(f"--baselines {directory}: no such directory")
    candidates = [load(path) for path in sorted(directory.glob("*.yaml"))]
    if not candidates:
        raise Unusable(f"--baselines {directory}: no report (*.yaml) there")
    matching = [c for c in candidates if not mismatches(c, report)]
    if len(matching) == 1:
        return matching[0]
    wanted = f"target {report.target!r} with {_upstream_words(report)}"
    if not matching:
        there = "; ".join(f"{c.path.name} (target {c.target!r}, {_upstream_words(c)})" for c in candidates)
        raise Unusable(f"no baseline in {directory} for {wanted}; the baselines there: {there}")
    raise Unusable(f"{len(matching)} baselines in {directory} for {wanted}: {', '.join(c.path.name for c in matching)}; "
                   "keep one per target and version")


def _upstream_words(run: Run) -> str:
    return ", ".join(f"{k} {v}" for k, v in run.upstream.items()) or "no agentgateway version recorded"


# --- the comparison --------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    scenario: str
    kind: str
    baseline: str | None  # None: not in the baseline
    report: str | None  # None: not in the report

    def line(self) -> str:
        if self.baseline is None:
            return f"{self.scenario}: {self.kind} (report: {self.report})"
        if self.report is None:
            return f"{self.scenario}: {self.kind} (baseline: {self.baseline})"
        return f"{self.scenario}: {self.kind} (baseline: {self.baseline}, report: {self.report})"


def classify(scenario: str, before: str | None, now: str | None) -> Difference | None:
    """What became of one scenario; None when its outcome is the baseline's."""
    if before == now:
        return None
    if now is None:
        kind = MISSING
    elif before is None:
        kind = NEW
    elif now == FAILED:
        kind = NEW_FAILURE
    elif now in NOT_RUN:
        kind = NOT_RUN_NOW
    elif before == FAILED and now in PASSING:
        kind = NOW_PASSES
    else:
        kind = CHANGED
    return Difference(scenario, kind, before, now)


@dataclass(frozen=True)
class Comparison:
    differences: list[Difference]  # each one makes the run differ from its baseline
    new_without_record: list[Difference]  # new scenarios that passed or are not supported: notes only
    recorded_failures: list[str]  # failed in both

    @property
    def equal(self) -> bool:
        return not self.differences


def compare(baseline: Run, report: Run) -> Comparison:
    differences, notes = [], []
    for scenario in sorted(baseline.outcomes.keys() | report.outcomes.keys()):
        found = classify(scenario, baseline.outcomes.get(scenario), report.outcomes.get(scenario))
        if found is None:
            continue
        if found.kind == NEW and found.report in NEW_WITHOUT_RECORD:
            notes.append(found)
        else:
            differences.append(found)
    recorded = sorted(set(baseline.failed()) & set(report.failed()))
    return Comparison(differences, notes, recorded)


def summary(comparison: Comparison, baseline: Run) -> str:
    if comparison.equal:
        line = f"as recorded: every scenario has the outcome it has in {baseline.path} ({len(baseline.outcomes)} scenarios)"
    else:
        counts = [f"{sum(d.kind == kind for d in comparison.differences)} {kind}" for kind in KINDS
                  if any(d.kind == kind for d in comparison.differences)]
        n = len(comparison.differences)
        line = f"{n} difference{'s' if n != 1 else ''} from {baseline.path}: {', '.join(counts)}"
    if comparison.recorded_failures:
        line += f"; failing as recorded: {', '.join(comparison.recorded_failures)}"
    if comparison.new_without_record:
        line += f"; {len(comparison.new_without_record)} new scenario(s) not in the baseline, passed or not supported"
    return line


def report_on(baseline: Run, report: Run, allow_mismatch: bool, out=None) -> int:
    """Print the comparison of `report` with `baseline`; its exit status."""
    out = out or sys.stdout
    why = mismatches(baseline, report)
    if why and not allow_mismatch:
        raise Unusable(f"{report.path} is not a run of what {baseline.path} records ({'; '.join(why)}); "
                       "pass --allow-mismatch to compare them anyway")
    print(f"baseline: {baseline.describe()}", file=out)
    print(f"report:   {report.describe()}", file=out)
    for reason in why:
        print(f"warning: compared although they differ in {reason}", file=out)
    for note in other_changes(baseline, report):
        print(f"note: {note}", file=out)
    comparison = compare(baseline, report)
    for difference in comparison.differences:
        print(difference.line(), file=out)
    for new in comparison.new_without_record:
        print(f"note: {new.line()}", file=out)
    print(summary(comparison, baseline), file=out)
    return EQUAL if comparison.equal else DIFFERENT


# --- a run, then its comparison --------------------------------------------------------------


def run_then_compare(command: list[str], report_dir: Path, baseline_of, allow_mismatch: bool) -> int:
    """Run `command` with `--report-dir report_dir`, then judge the report it wrote against its baseline.

    `baseline_of(report)` gives the baseline for the report the command wrote.
    """
    report_path = report_dir / YAML
    # A report left by an earlier run must never be judged as this one's.
    report_path.unlink(missing_ok=True)
    argv = [*command, "--report-dir", str(report_dir)]
    print(f"compare: running {shlex.join(argv)}", flush=True)
    process = subprocess.Popen(argv)
    while True:
        try:
            code = process.wait()
            break
        except KeyboardInterrupt:
            continue  # the command had the interrupt too: let it write what it can
    finished = code in (0, 1)
    print(f"compare: {command[0]} exited {code}"
          + ("" if code == 0 else " (failures: the report is judged against its baseline below)" if code == 1
             else " (the run did not finish: this fails whatever the report says)"), flush=True)
    if not report_path.is_file():
        print(f"compare: the command wrote no report at {report_path}", flush=True)
        return code if not finished else UNUSABLE
    try:
        report = load(report_path)
        status = report_on(baseline_of(report), report, allow_mismatch)
    except Unusable as exc:
        print(f"compare: {exc}", flush=True)
        return code if not finished else UNUSABLE
    if not finished:
        return code
    if code == 1 and not report.failed():
        print(f"compare: {command[0]} exited 1, but its report records no failed scenario: the failure was not a scenario's, "
              "and no baseline excuses it", flush=True)
        return DIFFERENT
    return status


# --- command line ---------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.compare",
        usage="%(prog)s [--allow-mismatch] (BASELINE | --baselines DIR) (REPORT | --report-dir DIR) [-- COMMAND [ARG ...]]",
        description="Compare a ConformanceReport with a baseline, scenario by scenario: exit 0 when every outcome is the "
                    "baseline's, 1 when any differs, 2 when they cannot be compared.",
    )
    parser.add_argument("files", nargs="*", metavar="FILE", help="BASELINE and REPORT; or only one of them, with "
                        "--baselines (the report) or --report-dir (the baseline)")
    parser.add_argument("--baselines", metavar="DIR", help="take the baseline of the report's target and agentgateway "
                        "versions from the reports in DIR (docs/results)")
    parser.add_argument("--report-dir", metavar="DIR", type=Path, help=f"the report is DIR/{YAML}; with a COMMAND after --, "
                        "the command is run with --report-dir DIR appended, and its report is the one compared")
    parser.add_argument("--allow-mismatch", action="store_true", help="compare a report of another target or other "
                        "agentgateway versions than the baseline's, with a warning, instead of refusing")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command: list[str] = []
    parser = _parser()
    if "--" in argv:
        at = argv.index("--")
        argv, command = argv[:at], argv[at + 1:]
        if not command:
            parser.error("-- must be followed by a command")
    args = parser.parse_args(argv)
    wanted = (0 if args.baselines else 1) + (0 if args.report_dir else 1)
    if len(args.files) != wanted:
        parser.error(f"expected {wanted} file(s) besides the options, got {len(args.files)}: name the baseline "
                     "(a file, or --baselines DIR) and the report (a file, or --report-dir DIR) once each")
    if command and not args.report_dir:
        parser.error("a COMMAND after -- needs --report-dir DIR, where it writes the report compared")
    files = list(args.files)

    def baseline_of(report: Run) -> Run:
        return select(args.baselines, report) if args.baselines else load(files[0])

    try:
        if command:
            return run_then_compare(command, args.report_dir, baseline_of, args.allow_mismatch)
        report = load(args.report_dir / YAML if args.report_dir else files[-1])
        return report_on(baseline_of(report), report, args.allow_mismatch)
    except Unusable as exc:
        print(f"compare: {exc}", file=sys.stderr)
        return UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
