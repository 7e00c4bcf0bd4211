"""`--target=kubernetes --envtest -n 2`: each pytest-xdist worker applies the scenarios with
names of its own (its own Gateway and namespaces), the run passes, and the reports the
controller writes hold every scenario.

A worker whose scenario left an object in one of the page's namespaces would have it
refused, that namespace not existing on the worker's cluster; the manifests in the JUnit
record show each scenario's objects in its worker's namespaces and in no other worker's.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from helpers import ROOT

from conformance.deployment import DOCS

pytestmark = pytest.mark.needs_envtest

# A policy and its Secret from the docs page, a key rotated and revoked, a policy on the
# Gateway, and the status the gateway writes on policies.
SCENARIOS = "APIKEY-DOC-001 or APIKEY-CORE-003 or APIKEY-CORE-033 or APIKEY-CORE-034 or APIKEY-EXT-041 or APIKEY-EXT-045"
# A namespace a manifest puts an object in or refers to.
_NAMESPACES = re.compile(r"(?m)^\s*namespace: *((?:agentgateway-system|httpbin)[\w-]*)\s*$")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    directory = tmp_path_factory.mktemp("envtest-n2")
    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-m", SCENARIOS, "-n", "2",
                           "--target=kubernetes", "--envtest", "--report-dir", str(directory)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return directory


def test_each_worker_applies_its_scenarios_in_namespaces_of_its_own(reports):
    used: dict[str, set[str]] = {}
    for case in ET.parse(reports / "junit.xml").getroot().iter("testcase"):
        manifests = [p.get("value", "") for p in case.iter("property") if p.get("name") == "manifest"]
        used[case.get("name")] = {ns for m in manifests for ns in _NAMESPACES.findall(m)}
    workers = {frozenset(re.sub(r"^(agentgateway-system|httpbin)-", "", ns) for ns in spaces) for spaces in used.values() if spaces}
    # Every scenario that applied something did it in one worker's namespaces, none in the page's.
    assert all(len(w) == 1 for w in workers), used
    assert not any(ns in (DOCS.gateway_namespace, DOCS.backend_namespace) for spaces in used.values() for ns in spaces), used
    assert {next(iter(w)) for w in workers} == {"gw0", "gw1"}, used


def test_the_merged_reports_hold_every_scenario(reports):
    cases = [case.get("name") for case in ET.parse(reports / "junit.xml").getroot().iter("testcase")]
    cucumber = [el["name"] for f in json.loads((reports / "cucumber.json").read_text()) for el in f["elements"]]
    report = yaml.safe_load((reports / "conformance-report.yaml").read_text())
    outcomes = {s["name"]: s["outcome"] for s in report["scenarios"]}
    # The run's names, as the report gives them: each worker's, with its number for N.
    assert "gateway namespace agentgateway-system -> agentgateway-system-gwN" in report["run"]["target"]["deployment"]["note"]
    assert len(cases) >= 6 and len(cucumber) == len(cases)
    # The report lists every scenario of the suite; those selected ran, and passed.
    ran = {name: outcome for name, outcome in outcomes.items() if name.split("[")[0] in SCENARIOS.split(" or ")}
    assert len(ran) == len(cases) and set(ran.values()) == {"passed"}, ran
