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
    result, profiles = run(tmp_path, "--profiles", "APIKEY-CORE", "--skip-tests", "APIKEY-DOC-002,APIKEY-CORE-070", "-k", "APIKEY-DOC-002 or APIKEY-CORE-070")
    assert result.returncode == 0, result.stdout[-2000:]
    core = profiles["APIKEY-CORE"]
    assert core["result"] == "partial"
    assert "APIKEY-DOC-002" in core["skippedTests"]
    assert sum(name.startswith("APIKEY-CORE-070[") for name in core["skippedTests"]) == 5  # one per example
    assert core["statistics"]["Passed"] == 0


def test_unknown_feature_is_a_usage_error(tmp_path):
    result, _ = run(tmp_path, "--supported-features", "APIKeyCore,Telepathy")
    assert result.returncode == 4
    assert "Telepathy" in result.stderr + result.stdout
