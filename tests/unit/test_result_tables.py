"""Result tables in docs/ are made from the committed reports of real runs, never by hand."""

import base64
import re

import jsonschema
import pytest
import yaml

from conformance import tables
from conformance.report_dir import schema

REPORTS = sorted(tables.RESULTS.glob("*.yaml"))
DOC_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"


def test_there_are_reports_of_real_runs():
    assert REPORTS, f"no report under {tables.RESULTS}"


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_a_committed_report_is_valid_and_says_what_it_ran(path):
    report = yaml.safe_load(path.read_text())
    jsonschema.Draft202012Validator(schema(), format_checker=jsonschema.FormatChecker()).validate(report)
    # A clean commit of the suite, and the upstream version it ran against.
    assert re.fullmatch(r"[0-9a-f]{40}", report["suiteCommit"]), report["suiteCommit"]
    versions = report["run"]["target"]["versions"]
    assert any("agentgateway" in k and v and "unknown" not in v for k, v in versions.items()), versions


@pytest.mark.parametrize("path", REPORTS, ids=lambda p: p.stem)
def test_a_committed_report_holds_no_key(path):
    text = path.read_text()
    for key in (DOC_KEY, base64.b64encode(DOC_KEY.encode()).decode(), "identity-key-6c8d", "new-key-2222"):
        assert key not in text


def test_every_generated_table_matches_its_reports():
    pages = tables.pages()
    assert pages, "no page in docs/ has a generated table"
    for page in pages:
        text = page.read_text()
        assert tables.render(text) == text, f"{page.name}: a generated table differs from its report; run python -m conformance.tables"


def test_a_table_is_made_from_the_report_alone(tmp_path):
    report = {
        "suiteCommit": "a" * 40, "target": "agentgateway-local", "date": "2026-12-03T00:00:00+00:00",
        "run": {"target": {"name": "agentgateway-local", "versions": {"agentgateway": "v9.9.9"}}},
        "profiles": [{"name": "APIKEY-CORE", "result": "success", "unsupportedFeatures": [],
                      "statistics": {"Passed": 1, "Failed": 0, "Skipped": 0, "NotRun": 0, "Provisional": 0, "Exempt": 0}}],
        "scenarios": [{"name": "APIKEY-CORE-003[a bare key]", "title": "No prefix: <case>", "file": "c.feature",
                       "features": ["APIKeyCore"], "outcome": "passed"}],
    }
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(report))
    page = "intro\n<!-- generated: summary x -->\nstale\n<!-- end generated -->\n<!-- generated: scenarios x -->\n<!-- end generated -->\n"
    out = tables.render(page, tmp_path)
    assert "stale" not in out and f"commit `{'a' * 40}`" in out and "agentgateway v9.9.9" in out
    assert "| APIKEY-CORE | success | 1 | 0 |" in out
    assert "| APIKEY-CORE-003 | a bare key | No prefix: &lt;case&gt; | APIKeyCore | passed |" in out
    assert tables.render(out, tmp_path) == out
