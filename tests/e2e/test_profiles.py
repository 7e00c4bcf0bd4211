"""Feature gating and the conformance report, checked on real runs of the suite."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path, *args):
    report = tmp_path / "report.yaml"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-q", "-rs", "-p", "no:cacheprovider", "--convergence-interval", "0.02",
         "--conformance-report", str(report), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    profiles = {p["name"]: p for p in yaml.safe_load(report.read_text())["profiles"]} if report.exists() else {}
    return result, profiles


@pytest.fixture(scope="module")
def core_only(tmp_path_factory):
    return run(tmp_path_factory.mktemp("core"), "--supported-features", "APIKeyCore")


def test_core_only_runs_only_core_scenarios(core_only):
    result, profiles = core_only
    assert result.returncode == 0, result.stdout[-2000:]
    core, extended = profiles["APIKEY-CORE"], profiles["APIKEY-EXTENDED"]
    assert core["result"] == "success" and core["statistics"]["Failed"] == 0
    assert core["statistics"]["Passed"] >= 20
    assert core["unsupportedFeatures"] == []
    # Extended scenarios are not run and not counted, only listed as unsupported; with
    # nothing run, the profile is not a success.
    assert extended["statistics"] == {"Passed": 0, "Skipped": 0, "Failed": 0, "NotRun": 0, "Exempt": 0, "Provisional": 0}
    assert extended["result"] == "partial"
    assert "KeyLocation" in extended["unsupportedFeatures"]
    assert "KeyLocation, which the target does not support" in result.stdout


def test_a_skipped_core_scenario_makes_core_partial(tmp_path):
    result, profiles = run(tmp_path, "--profiles", "APIKEY-CORE", "--skip-tests", "APIKEY-CORE-002,APIKEY-CORE-070", "-k", "APIKEY-CORE-002 or APIKEY-CORE-070")
    assert result.returncode == 0, result.stdout[-2000:]
    core = profiles["APIKEY-CORE"]
    assert core["result"] == "partial"
    assert "APIKEY-CORE-002" in core["skippedTests"]
    assert sum(name.startswith("APIKEY-CORE-070[") for name in core["skippedTests"]) == 5  # one per example
    assert core["statistics"]["Passed"] == 0


def test_unknown_feature_is_a_usage_error(tmp_path):
    result, _ = run(tmp_path, "--supported-features", "APIKeyCore,Telepathy")
    assert result.returncode == 4
    assert "Telepathy" in result.stderr + result.stdout


def test_the_reference_is_checked_against_every_version_of_the_docs_page(tmp_path):
    result, profiles = run(tmp_path, "-k", "APIKEY-DOC-101 or APIKEY-DOC-201 or APIKEY-DOC-001")
    assert result.returncode == 0, result.stdout[-2000:]
    for name, version, commit in (("APIKEY-DOCS-1.4", "1.4.x", "f14302b2e63307d4c3fe77a9d00a65c034975c4e"),
                                  ("APIKEY-DOCS-1.0-1.3", "1.0.x-1.3.x", "f14302b2e63307d4c3fe77a9d00a65c034975c4e"),
                                  ("APIKEY-DOCS-2026-02-19", "2026-02-19", "f9d73ee6e90ba268df9a55092fe9e540eb4d2392")):
        page = profiles[name]["page"]
        assert (page["version"], page["websiteCommit"]) == (version, commit)
        assert page["chosenBy"].startswith("every version"), page
        assert profiles[name]["statistics"]["Passed"] == 1


def test_docs_pages_chooses_the_pages_a_run_checks(tmp_path):
    result, profiles = run(tmp_path, "--docs-pages", "1.0.x-1.3.x", "-k", "APIKEY-DOC-2")
    assert result.returncode == 0, result.stdout[-2000:]
    assert set(profiles) == {"APIKEY-CORE", "APIKEY-EXTENDED", "APIKEY-DOCS-1.0-1.3"}
    assert profiles["APIKEY-DOCS-1.0-1.3"]["result"] == "success"
    assert profiles["APIKEY-DOCS-1.0-1.3"]["page"]["chosenBy"] == "--docs-pages 1.0.x-1.3.x"
    assert "docs_page_1_4_x.feature" not in result.stdout  # the other pages' scenarios do not run


@pytest.mark.parametrize("args", [("--docs-pages", "1.9.x"), ("--docs-pages", "all", "--profiles", "APIKEY-DOCS-1.4")])
def test_a_wrong_page_choice_is_a_usage_error(tmp_path, args):
    result, _ = run(tmp_path, *args)
    assert result.returncode == 4, result.stdout[-2000:]
    assert "--docs-pages" in result.stderr + result.stdout
