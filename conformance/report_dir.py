"""`--report-dir DIR`: every report of one run, in one directory.

- conformance-report.yaml: the ConformanceReport (conformance/report.py), valid against
  the JSON Schema shipped in conformance/schema/;
- junit.xml and cucumber.json: written by pytest (`--junitxml`) and pytest-bdd
  (`--cucumberjson`) themselves; the suite only points them into DIR. JUnit XML carries
  each scenario's manifests as `manifest` properties (pytest writes user properties);
  cucumber JSON gets them as embeddings of the step that applied them;
- report.html: the same for a person (conformance/report_html.py).

Paths given explicitly with --junitxml, --cucumberjson or --conformance-report win.
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


def point_outputs(config: pytest.Config) -> None:
    """Send pytest's JUnit XML and pytest-bdd's cucumber JSON into --report-dir."""
    directory = config.getoption("report_dir", None)
    if not directory:
        return
    os.makedirs(directory, exist_ok=True)
    if not config.option.xmlpath:
        config.option.xmlpath = os.path.join(directory, JUNIT)
    if not getattr(config.option, "cucumber_json_path", None):
        config.option.cucumber_json_path = os.path.join(directory, CUCUMBER)
    if not config.option.conformance_report:
        config.option.conformance_report = os.path.join(directory, YAML)


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


def write(config: pytest.Config, report) -> list[str]:
    """Write the YAML (and with --report-dir the HTML, and the cucumber attachments); return the paths."""
    written = []
    if not report.is_ours():
        return written  # no scenario of the suite was collected: no verdict to write
    path = config.getoption("conformance_report")
    if path and report.write(path):
        written.append(os.path.abspath(path))
    directory = config.getoption("report_dir")
    if directory:
        html_path = os.path.join(directory, HTML)
        report_html.write(html_path, report.document(), report.scenarios())
        written.append(os.path.abspath(html_path))
        cucumber = config.option.cucumber_json_path
        if cucumber and os.path.exists(cucumber):
            attach_to_cucumber(cucumber, report.traces)
    return written


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


def where_lines(config: pytest.Config, written: list[str]) -> list[str]:
    """The end-of-run lines saying where every report went."""
    paths = list(written)
    junit, cucumber = config.option.xmlpath, getattr(config.option, "cucumber_json_path", None)
    paths += [os.path.abspath(p) for p in (junit, cucumber) if p]
    return [f"reports: {p}" for p in sorted(dict.fromkeys(paths))]
