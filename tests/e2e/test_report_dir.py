"""`--report-dir`: the suite run as a vendor runs it, against the reference gateway, and
every file it writes read back: the ConformanceReport against the JSON Schema shipped in
the package, JUnit XML and cucumber JSON with the manifests attached, and no key in clear.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from helpers import ROOT

from conformance.profiles import CORE, FEATURES, PROFILES, RELIABILITY
from conformance.report_dir import schema

DOC_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"  # the docs page's example key
# Scenarios that apply, revoke (update and delete a Secret) and delete, one outline with
# keys in its examples, and one the reference gateway does not support.
SCENARIOS = "APIKEY-DOC-001 or APIKEY-CORE-003 or APIKEY-CORE-033 or APIKEY-CORE-034 or APIKEY-EXT-100 or APIKEY-EXT-012"
IMPLEMENTATION = ["--implementation-organization", "Example Org", "--implementation-project", "example-gateway",
                  "--implementation-url", "https://example.com/gw", "--implementation-version", "v9.9.9",
                  "--implementation-contact", "a@example.com,b@example.com", "--conformance-mode", "strict-only"]


def run(report_dir, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-m", SCENARIOS,
                           "--report-dir", str(report_dir), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reports")
    done = run(directory, *IMPLEMENTATION)
    return directory, done.stdout


@pytest.fixture(scope="module")
def xdist_reports(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reports-n2")
    run(directory, "-n", "2")
    return directory


def validate(document: dict) -> None:
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(document)


def test_one_run_writes_every_report_and_says_where(reports):
    directory, stdout = reports
    names = sorted(os.listdir(directory))
    assert names == ["conformance-report.yaml", "cucumber.json", "junit.xml", "report.html"]
    for name in names:
        assert f"reports: {directory / name}" in stdout
    # The summary per profile.
    assert f"{CORE}: partial (passed " in stdout and "not run: " in stdout
    assert "not supported, not counted: APIKEY-EXT-012 (needs ExpressionLocation)" in stdout


@pytest.fixture(scope="module")
def opt_in_reports(tmp_path_factory):
    """A vendor's run of the opt-in profile alone: its report has a profile of its own."""
    directory = tmp_path_factory.mktemp("reports-reliability")
    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-m", "APIKEY-REL-001",
                           "--profiles", RELIABILITY, "--report-dir", str(directory)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return directory


def test_every_report_the_suite_writes_is_valid(reports, xdist_reports, opt_in_reports):
    names = [p["name"] for p in yaml.safe_load((opt_in_reports / "conformance-report.yaml").read_text())["profiles"]]
    assert RELIABILITY in names
    for directory in (reports[0], xdist_reports, opt_in_reports):
        validate(yaml.safe_load((directory / "conformance-report.yaml").read_text()))


def test_the_schema_knows_exactly_the_suites_features():
    assert set(schema()["$defs"]["feature"]["enum"]) == set(FEATURES)


def test_the_schema_knows_exactly_the_suites_profiles():
    assert set(schema()["$defs"]["profile"]["properties"]["name"]["enum"]) == set(PROFILES)


@pytest.mark.parametrize("breakage", ["no convergence", "a result of 'ok'", "a core part on the extended profile", "a negative median"])
def test_the_schema_refuses_a_broken_report(reports, breakage):
    doc = yaml.safe_load((reports[0] / "conformance-report.yaml").read_text())
    if breakage == "no convergence":
        del doc["convergence"]
    elif breakage == "a result of 'ok'":
        doc["profiles"][0]["result"] = "ok"
    elif breakage == "a core part on the extended profile":
        doc["profiles"][1]["core"] = doc["profiles"][0]["core"]
    else:
        doc["convergence"]["APIKeyCore"]["apply"]["medianSeconds"] = -1
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_the_report_names_the_implementation_and_the_run(reports):
    doc = yaml.safe_load((reports[0] / "conformance-report.yaml").read_text())
    assert doc["implementation"] == {"organization": "Example Org", "project": "example-gateway", "url": "https://example.com/gw",
                                     "version": "v9.9.9", "contact": ["a@example.com", "b@example.com"]}
    assert doc["target"] == "reference" and doc["mode"] == "strict-only" and doc["suiteVersion"]
    core, extended, *pages = doc["profiles"]
    assert [p["name"] for p in pages] == ["APIKEY-DOCS-2026-02-19", "APIKEY-DOCS-1.4", "APIKEY-DOCS-1.0-1.3"]
    # -m leaves most scenarios out: partial, with nothing failed.
    assert core["core"]["result"] == "partial" and core["core"]["statistics"]["Failed"] == 0
    assert core["core"]["statistics"]["Passed"] > 0 and core["core"]["statistics"]["NotRun"] > 0
    assert "ExpressionLocation" in extended["extended"]["unsupportedFeatures"]


def test_convergence_is_measured_per_feature_and_change(reports):
    conv = yaml.safe_load((reports[0] / "conformance-report.yaml").read_text())["convergence"]
    # DOC-001 and CORE-033/034 apply, revoke and delete; EXT-100 deletes a ReferenceGrant.
    assert {"apply", "revoke"} <= set(conv["APIKeyCore"])
    assert "delete" in conv["CrossNamespaceBackends"]
    for kinds in conv.values():
        for entry in kinds.values():
            assert 0 <= entry["medianSeconds"] <= entry["worstSeconds"] < 30 and entry["samples"] >= 1


def test_junit_carries_each_scenarios_manifests(reports):
    tree = ET.parse(reports[0] / "junit.xml")
    cases = list(tree.iter("testcase"))
    assert cases
    manifests = [p.get("value") for c in cases for p in c.iter("property") if p.get("name") == "manifest"]
    assert any("kind: AgentgatewayPolicy" in m for m in manifests)
    secrets = [m for m in manifests if "kind: Secret" in m]
    assert secrets and all("<redacted>" in m for m in secrets)


def test_cucumber_json_embeds_the_manifests_in_steps(reports):
    features = json.loads((reports[0] / "cucumber.json").read_text())
    embedded = [base64.b64decode(e["data"]).decode()
                for f in features for el in f["elements"] for s in el["steps"] for e in s.get("embeddings", [])]
    assert any("kind: AgentgatewayPolicy" in m for m in embedded)
    assert all(e["mime_type"] == "application/yaml"
               for f in features for el in f["elements"] for s in el["steps"] for e in s.get("embeddings", []))


def test_no_report_holds_a_key(reports, xdist_reports):
    # The page's key, in clear and as the base64 of its Secret, and the keys scenario 033 rotates.
    forbidden = [DOC_KEY, base64.b64encode(DOC_KEY.encode()).decode(), "old-key-1111", "new-key-2222",
                 base64.b64encode(b"new-key-2222").decode()]
    for directory in (reports[0], xdist_reports):
        for name in os.listdir(directory):
            text = (directory / name).read_text()
            found = [k for k in forbidden if k in text]
            assert not found, f"{name} holds {found}"


def cucumber_scenarios(directory) -> list[tuple[str, int]]:
    features = json.loads((directory / "cucumber.json").read_text())
    return sorted((el["id"], len(el["steps"])) for f in features for el in f["elements"])


def test_cucumber_json_under_workers_holds_every_scenario_with_its_manifests(reports, xdist_reports):
    # pytest-bdd writes cucumber JSON on the controller from what it saw run there: under
    # `-n` that was nothing, and the file was `[]`.
    assert cucumber_scenarios(xdist_reports) == cucumber_scenarios(reports[0]) != []
    features = json.loads((xdist_reports / "cucumber.json").read_text())
    embedded = [e for f in features for el in f["elements"] for s in el["steps"] for e in s.get("embeddings", [])]
    assert any("kind: AgentgatewayPolicy" in base64.b64decode(e["data"]).decode() for e in embedded)


def test_the_html_report_says_how_the_run_was_judged_as_the_yaml_does(reports):
    # What a reader needs to trust a page on its own: the suite's commit, the target and its
    # versions, what was selected, and the convergence rule, all as the YAML has them.
    import html

    doc = yaml.safe_load((reports[0] / "conformance-report.yaml").read_text())
    page = html.unescape((reports[0] / "report.html").read_text())
    run = doc["run"]
    assert doc["suiteCommit"] in page
    for component, version in run["target"]["versions"].items():
        assert f"{component} {version}" in page
    assert f"-m {run['selection']['markers']}" in page
    for path in run["selection"]["paths"]:
        assert path in page
    conv = run["convergence"]
    assert (f"{conv['threshold']} matches in a row within {conv['timeoutSeconds']:g} s, "
            f"{conv['intervalSeconds']:g} s after a miss") in page
    assert "claimed: " + ", ".join(run["supportedFeatures"]) in page
