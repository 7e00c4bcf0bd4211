"""A Gateway that is not where the docs page puts it: the reference serves one of another
name, namespace, class and listener, with httpbin elsewhere under another host, and the
scenarios (docs-page ones included) pass against it; the report names the deployment."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import jsonschema
import pytest
import yaml
from helpers import ROOT

from conformance.report_dir import schema

# A docs-page scenario (the page's Secret, policy, kubectl and curl commands), one reading a
# status message that names the Gateway, a cross-namespace backend, and a Pending target.
SCENARIOS = "APIKEY-DOC-001 or APIKEY-DOC-104 or APIKEY-EXT-100 or APIKEY-EXT-043 or APIKEY-CORE-003"
NAMES = {"--gateway-name": "edge", "--gateway-namespace": "vendor-gw", "--gateway-class": "vendor-class",
         "--listener-name": "web", "--listener-port": "8080", "--backend-namespace": "apps", "--backend-host": "api.vendor.test"}


@pytest.fixture(scope="module")
def vendor_run(tmp_path_factory):
    directory = tmp_path_factory.mktemp("vendor-names")
    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", "-m", SCENARIOS,
                           "--report-dir", str(directory), "-o", "log_cli=true", "--log-cli-level", "INFO",
                           *[word for pair in NAMES.items() for word in pair]],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "7 passed" in done.stdout  # APIKEY-CORE-003 is an outline of three
    return directory, done.stdout


def test_the_report_names_the_deployment_and_says_it_differs_from_the_page(vendor_run):
    vendor_run, _ = vendor_run
    document = yaml.safe_load((vendor_run / "conformance-report.yaml").read_text())
    jsonschema.Draft202012Validator(schema()).validate(document)
    deployment = document["run"]["target"]["deployment"]
    assert {k: deployment[k] for k in ("gatewayName", "gatewayNamespace", "gatewayClass", "listenerName", "listenerPort",
                                       "backendNamespace", "backendHost")} == {
        "gatewayName": "edge", "gatewayNamespace": "vendor-gw", "gatewayClass": "vendor-class", "listenerName": "web",
        "listenerPort": 8080, "backendNamespace": "apps", "backendHost": "api.vendor.test"}
    assert len(deployment["differsFromDocs"]) == 7 and deployment["gatewayCA"] is False
    assert "docs-page scenarios" in deployment["note"] and "agentgateway-system -> vendor-gw" in deployment["note"]
    assert "gateway namespace agentgateway-system -&gt; vendor-gw" in (vendor_run / "report.html").read_text()


def test_the_applied_manifests_carry_the_deployments_names(vendor_run):
    vendor_run, _ = vendor_run
    cases = ET.parse(vendor_run / "junit.xml").getroot().iter("testcase")
    manifests = [p.get("value") for c in cases for p in c.iter("property") if p.get("name") == "manifest"]
    documents = [d for m in manifests for d in yaml.safe_load_all(m) if d]
    policies = [d for d in documents if d["kind"] == "AgentgatewayPolicy"]
    assert policies and all(p["metadata"]["namespace"] == "vendor-gw" for p in policies)
    assert {r["name"] for p in policies for r in p["spec"].get("targetRefs", []) if r.get("kind") == "Gateway"} <= {"edge", "no-such-gateway"}
    assert {d["metadata"].get("namespace") for d in documents} <= {"vendor-gw", "apps"}


def test_a_docs_page_scenario_says_that_it_changed_the_pages_names(vendor_run):
    vendor_run, stdout = vendor_run
    assert "I create a Kubernetes secret to store my API key: the page's manifest is applied with this deployment's names" in stdout
    cases = {c.get("name"): c for c in ET.parse(vendor_run / "junit.xml").getroot().iter("testcase")}
    said = {name for name, case in cases.items() for p in case.iter("property") if p.get("name") == "deployment"}
    assert any("APIKEY-DOC-001" in name for name in said) and any("APIKEY-DOC-104" in name for name in said)
    assert not any("APIKEY-EXT" in name or "APIKEY-CORE" in name for name in said)  # only the page's scenarios


def test_a_default_run_reports_the_pages_names(tmp_path):
    report = tmp_path / "report.yaml"
    done = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "-m", "APIKEY-DOC-001",
                           "--conformance-report", str(report)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    deployment = yaml.safe_load(report.read_text())["run"]["target"]["deployment"]
    assert deployment["differsFromDocs"] == [] and "note" not in deployment
    assert (deployment["gatewayName"], deployment["gatewayNamespace"], deployment["backendHost"]) == (
        "agentgateway-proxy", "agentgateway-system", "www.example.com")
