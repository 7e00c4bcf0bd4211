"""`--report-dir DIR`: every report of one run, in one directory.

- conformance-report.yaml: the ConformanceReport (conformance/report.py), valid against
  the JSON Schema shipped in conformance/schema/;
- junit.xml and cucumber.json: written by pytest (`--junitxml`) and pytest-bdd
  (`--cucumberjson`) themselves; the suite only points them into DIR. JUnit XML carries
  each scenario's manifests as `manifest` properties (pytest writes user properties);
  cucumber JSON gets them as embeddings of the step that applied them;
- report.html: the same for a person (conformance/report_html.py).

Paths given explicitly with --junitxml, --cucumberjson or --conformance-report win. Every
one of them is tried at configure (`check_outputs`), so that a path the run could not
write stops it before anything runs; one that fails at the end all the same costs only
that report (the plugin prints the verdict, then what could not be written).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from importlib import resources

import pytest

from . import report_html

YAML, JUNIT, CUCUMBER, HTML = "conformance-report.yaml", "junit.xml", "cucumber.json", "report.html"


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_options(group) -> None:
    group.addoption("--report-dir", help=f"write {YAML}, {JUNIT}, {CUCUMBER} and {HTML} into this directory")
    group.addoption("--implementation-organization", help="report: who makes the implementation under test")
    group.addoption("--implementation-project", help="report: the implementation's name")
    group.addoption("--implementation-url", help="report: where the implementation lives")
    group.addoption("--implementation-version", help="report: the implementation's version")
    group.addoption("--implementation-contact", type=_csv, default=[], help="report: contacts, comma separated")
    group.addoption("--conformance-mode", default="default", help="report: the mode the implementation ran in (default: default)")


_DEFAULTED = pytest.StashKey[set[str]]()  # the outputs --report-dir chose the paths of


def point_outputs(config: pytest.Config) -> None:
    """Send pytest's JUnit XML and pytest-bdd's cucumber JSON into --report-dir."""
    directory = config.getoption("report_dir", None)
    defaulted = config.stash[_DEFAULTED] = set()
    if not directory:
        return
    for dest, name in (("xmlpath", JUNIT), ("cucumber_json_path", CUCUMBER), ("conformance_report", YAML)):
        if not getattr(config.option, dest, None):
            setattr(config.option, dest, os.path.join(directory, name))
            defaulted.add(dest)


def check_outputs(config: pytest.Config) -> None:
    """Refuse, before anything runs, every output path the run could not write at its end.

    Each path is tried as the run will write it: its directory made, the file opened for
    writing (and removed again when the check made it). A report that cannot be written
    would otherwise cost the whole run, and its verdict with it.
    """
    directory = config.getoption("report_dir")
    if directory:
        if os.path.exists(directory) and not os.path.isdir(directory):
            raise pytest.UsageError(f"--report-dir {directory}: not a directory (a file of that name exists)")
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise pytest.UsageError(f"--report-dir {directory}: cannot be created: {exc.strerror or exc}") from None
    for path, option in output_paths(config).items():
        problem = unwritable(path)
        if problem is not None:
            raise pytest.UsageError(f"{option} {path}: {problem}" if not option.startswith("--report-dir")
                                    else f"{option}: {path}: {problem}")


def unwritable(path: str) -> str | None:
    """Why a report could not be written to `path`, or None when it can."""
    path = os.path.expanduser(os.path.expandvars(path))
    if os.path.isdir(path):
        return "is a directory"
    parent = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        return f"cannot create its directory {parent}: {exc.strerror or exc}"
    existed = os.path.exists(path)
    try:
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        return f"cannot be written: {exc.strerror or exc}"
    if not existed:
        os.remove(path)
    return None


def describe(config: pytest.Config, report) -> None:
    """What the report says about the implementation, from the --implementation-* flags."""
    report.implementation = {
        "organization": config.getoption("implementation_organization"),
        "project": config.getoption("implementation_project"),
        "url": config.getoption("implementation_url"),
        "version": config.getoption("implementation_version"),
        "contact": config.getoption("implementation_contact"),
    }
    report.mode = config.getoption("conformance_mode")


def schema() -> dict:
    return json.loads(resources.files("conformance").joinpath("schema/conformance-report.schema.json").read_text())


def write(config: pytest.Config, report) -> tuple[list[str], list[str]]:
    """Write the YAML, and with --report-dir the HTML.

    Returns the paths written, and a line for each report that could not be written: the
    paths were checked at configure, but a disk can fill or a directory go during a run,
    and the run's verdict must not be lost to it (the plugin prints both).
    """
    written: list[str] = []
    problems: list[str] = []
    if not report.is_ours():
        return written, problems  # no scenario of the suite was collected: no verdict to write
    directory = config.getoption("report_dir")
    path = config.getoption("conformance_report")
    outputs = []
    if path:
        outputs.append((path, lambda: report.write(path)))
    if directory:
        html_path = os.path.join(directory, HTML)
        outputs.append((html_path, lambda: report_html.write(html_path, report.document(), report.scenarios()) or True))
    for where, do in outputs:
        try:
            if do():
                written.append(os.path.abspath(where))
        except OSError as exc:
            problems.append(not_written(config, where, exc))
    return written, problems


def attach(config: pytest.Config, report) -> list[str]:
    """Embed the manifests in the cucumber JSON pytest-bdd wrote; a line per problem."""
    cucumber = getattr(config.option, "cucumber_json_path", None)
    if not (report.is_ours() and config.getoption("report_dir") and cucumber and os.path.exists(cucumber)):
        return []
    try:
        attach_to_cucumber(cucumber, report.traces)
    except (OSError, ValueError) as exc:  # ValueError: not the JSON pytest-bdd writes
        return [not_written(config, cucumber, exc)]
    return []


def output_paths(config: pytest.Config) -> dict[str, str]:
    """Every report file of the run (normalized as pytest and pytest-bdd normalize them) and the option that chose it."""
    directory = config.getoption("report_dir")
    defaulted = config.stash.get(_DEFAULTED, set())
    paths = {}
    for flag, dest in (("--conformance-report", "conformance_report"), ("--junitxml", "xmlpath"), ("--cucumberjson", "cucumber_json_path")):
        path = getattr(config.option, dest, None)
        if path:
            paths[_normal(path)] = f"--report-dir {directory}" if dest in defaulted else flag
    if directory:
        paths[_normal(os.path.join(directory, HTML))] = f"--report-dir {directory}"
    return paths


def _normal(path: str) -> str:
    return os.path.normpath(os.path.abspath(os.path.expanduser(os.path.expandvars(path))))


def is_output(config: pytest.Config, path: str) -> bool:
    return _normal(path) in output_paths(config)


def not_written_after(config: pytest.Config, failed: str, exc: OSError, since: float) -> list[str]:
    """The lines for pytest's or pytest-bdd's report that failed, and for each of the two
    that was then never written (not modified since `since`)."""
    lines = [not_written(config, failed, exc)]
    for path in (config.option.xmlpath, getattr(config.option, "cucumber_json_path", None)):
        if path and _normal(path) != _normal(failed):
            fresh = os.path.isfile(path) and os.path.getmtime(path) >= since
            if not fresh:
                lines.append(f"could not write {_normal(path)}: not written once {_normal(failed)} had failed")
    return lines


def not_written(config: pytest.Config, path: str, exc: OSError | ValueError) -> str:
    """The end-of-run line for a report that could not be written."""
    option = output_paths(config).get(_normal(path), "")
    return f"could not write {_normal(path)}{f' ({option})' if option else ''}: {type(exc).__name__}: {exc}"


def attach_to_cucumber(path: str, traces: dict[str, dict]) -> None:
    """Embed each scenario's (masked) manifests in the cucumber JSON pytest-bdd wrote.

    Cucumber JSON has no place for a scenario's attachments, only a step's `embeddings`;
    the manifests go to the first step of the scenario that carries a docstring, or the
    first step when none does.
    """
    with open(path, encoding="utf-8") as fh:
        features = json.load(fh)
    by_place = {(t.get("feature"), t.get("nameDigest")): t for t in traces.values()}
    for feature in features:
        for element in feature.get("elements", []):
            digest = hashlib.sha256(str(element.get("id")).encode()).hexdigest()
            trace = by_place.get((feature.get("uri"), digest))
            steps = element.get("steps") or []
            if not trace or not steps:
                continue
            lines = {s["line"] for s in trace.get("steps", []) if s.get("docstring")}
            if not trace.get("manifests"):
                continue
            step = next((s for s in steps if s.get("line") in lines), steps[0])
            step.setdefault("embeddings", []).extend(
                {"mime_type": "application/yaml", "data": base64.b64encode(m.encode()).decode(), "name": f"manifest {i}"}
                for i, m in enumerate(trace["manifests"], 1)
            )
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(features, fh)


def where_lines(config: pytest.Config, written: list[str], unwritten: list[str] = ()) -> list[str]:
    """The end-of-run lines saying where every report went (and which could not be written)."""
    paths = list(written)
    junit, cucumber = config.option.xmlpath, getattr(config.option, "cucumber_json_path", None)
    failed = {line.removeprefix("could not write ").partition(" (")[0].partition(": ")[0] for line in unwritten}
    paths += [_normal(p) for p in (junit, cucumber) if p and _normal(p) not in failed]
    return [f"reports: {p}" for p in sorted(dict.fromkeys(paths))] + list(unwritten)
