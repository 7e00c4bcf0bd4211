"""A verdict says no more than the run showed, whatever a user selects.

Each run here is made as a user makes it (pytester, in a subprocess, against the reference
gateway), and its ConformanceReport is read back.
"""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conformance.inventory import load
from conformance.profiles import CORE, EXTENDED, PROFILES, RELIABILITY
from conformance.report import DESELECTED, NOT_SELECTED

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    path = pytester.path / "report.yaml"
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", "--conformance-report", str(path))
    return result, yaml.safe_load(path.read_text()) if path.exists() else {}


def profiles(document: dict) -> dict:
    return {p["name"]: p for p in document["profiles"]}


def test_one_feature_file_is_not_a_whole_profile(pytester):
    result, document = run(pytester, str(FEATURES / "credential_removal.feature"))
    assert result.ret == 0, result.stdout.str()[-2000:]
    core, ext = profiles(document)[CORE], profiles(document)[EXTENDED]
    assert core["result"] == "partial" and ext["result"] == "partial"
    assert core["statistics"]["Passed"] == 2 and ext["statistics"]["Passed"] == 2
    # Every scenario of the other files is listed as not run.
    assert f"APIKEY-CORE-001: {NOT_SELECTED}" in core["notRunTests"]
    every = [e for e in load(FEATURES).values() if e.profile in (CORE, EXTENDED)]
    listed = sum(core["statistics"][k] + ext["statistics"][k] for k in ("Passed", "Failed", "Skipped", "NotRun"))
    unsupported = {e.name for e in every if e.needs & {"ExpressionLocation", "CORS"}}
    assert listed == len(every) - len(unsupported)


def test_a_file_left_out_by_ignore_keeps_core_from_success(pytester):
    result, document = run(pytester, str(FEATURES), "--ignore", str(FEATURES / "credentials.feature"), "-k", "APIKEY-CORE-062")
    assert result.ret == 0, result.stdout.str()[-2000:]
    core = profiles(document)[CORE]
    assert core["result"] == "partial"
    assert f"APIKEY-CORE-001: {NOT_SELECTED}" in core["notRunTests"]
    assert f"APIKEY-CORE-063: {DESELECTED}" in core["notRunTests"]
    assert "not selected" in result.stdout.str()


def test_a_profile_with_nothing_run_is_never_success(pytester):
    result, document = run(pytester, str(FEATURES / "credential_removal.feature"), "-k", "APIKEY-CORE-062")
    ext = profiles(document)[EXTENDED]
    assert result.ret == 0 and ext["statistics"]["Passed"] == 0 and ext["result"] == "partial"
    assert "APIKEY-EXTENDED: partial" in result.stdout.str() and "no scenario of this profile ran" in result.stdout.str()


def test_a_foreign_project_gets_no_verdict(pytester):
    (pytester.path / "widgets.feature").write_text("Feature: Widgets\n  Scenario: Making one\n    Given a widget\n")
    pytester.makepyfile(test_widgets=textwrap.dedent("""\
        from pytest_bdd import given, scenarios

        scenarios("widgets.feature")

        @given("a widget")
        def widget():
            pass
        """))
    result, document = run(pytester)
    result.assert_outcomes(passed=1)
    assert document == {} and not (pytester.path / "report.yaml").exists()
    assert "APIKEY-CORE" not in result.stdout.str()
    assert "no ConformanceReport written: this run collected no scenario of the suite" in result.stdout.str()


def test_a_crashed_workers_scenario_is_a_failure(pytester):
    # A worker that dies in the middle of a scenario (a segfault, an OOM kill) never hands
    # over its state; the scenario it was running is a failure, not "not reached".
    (pytester.path / "crash.py").write_text(textwrap.dedent("""\
        import os

        def pytest_runtest_call(item):
            if "APIKEY-CORE-062" in item.nodeid:
                os._exit(3)
        """))
    result, document = run(pytester, str(FEATURES / "credential_removal.feature"), "-n", "2", "-p", "crash")
    core = profiles(document)[CORE]
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()[-2000:]
    assert "crashed" in result.stdout.str()
    assert core["result"] == "failure" and core["failedTests"] == ["APIKEY-CORE-062"]


def test_the_report_says_how_it_was_judged(pytester):
    args = (str(FEATURES / "credential_removal.feature"), "-k", "APIKEY-EXT-060 or APIKEY-CORE-062", "--exempt-features", "KeyLocation",
            "--convergence-threshold", "2")
    result, document = run(pytester, *args)
    assert result.ret == 0, result.stdout.str()[-2000:]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    assert document["suiteCommit"].removesuffix("-dirty") == head
    run_ = document["run"]
    assert run_["selection"]["paths"] == ["features/credential_removal.feature"]
    assert run_["selection"]["keyword"] == "APIKEY-EXT-060 or APIKEY-CORE-062"
    # The reference target confirms each change in force, so the matches are not spaced.
    assert run_["convergence"] == {"threshold": 2, "intervalSeconds": 0.1, "timeoutSeconds": 30.0, "matchesSpaced": False}
    deployment = run_["target"].pop("deployment")
    assert run_["target"] == {"name": "reference", "versions": {"reference gateway": document["suiteVersion"]}}
    assert deployment["gatewayName"] == "agentgateway-proxy" and deployment["differsFromDocs"] == []  # the page's names
    assert run_["exemptFeatures"] == ["KeyLocation"] and "KeyLocation" in run_["supportedFeatures"]
    ext = profiles(document)[EXTENDED]
    # Exempt is its own list: not unsupported, not skipped, and never success.
    assert ext["exemptFeatures"] == ["KeyLocation"] and "KeyLocation" not in ext["unsupportedFeatures"]
    assert "APIKEY-EXT-060 (exempt: KeyLocation)" in ext["exemptTests"] and ext["result"] == "partial"
    assert "exempted from this run by --exempt-features" in result.stdout.str() + str(result.outlines)
    assert "which the target does not support" not in "\n".join(line for line in result.outlines if "EXT-060" in line)


@pytest.mark.parametrize("selection", [
    ["credential_removal.feature"],
    ["", "-k", "APIKEY-EXT-093 or APIKEY-EXT-094"],  # scenarios about manifests alone
    ["", "-m", "doc-page"],
])
def test_a_gateway_that_authenticates_nothing_never_gets_success(pytester, selection):
    launch = ROOT / "tests" / "mutation" / "launch.py"
    path, *more = selection
    # A short timeout: every expectation of a refusal fails, and need not wait 30 s to.
    result, document = run(pytester, str(FEATURES / path), *more, "--convergence-timeout", "2",
                           "--reference-command", f"{sys.executable} {launch} auth-disabled")
    results = {p["name"]: p["result"] for p in document["profiles"]}
    assert "success" not in results.values(), (results, result.stdout.str()[-2000:])


def test_collect_only_gives_no_verdict(pytester):
    # Nothing runs: a `partial` per profile would read as a judgement of the gateway.
    result, document = run(pytester, str(FEATURES), "--collect-only", "-q")
    out = result.stdout.str()
    assert result.ret == 0, out[-2000:]
    assert document == {}, "a ConformanceReport was written"
    assert not [line for line in out.splitlines() if line.startswith(("APIKEY-", "  not run"))], out[-2000:]
    assert "no verdict: --collect-only runs no scenario" in out


def test_the_scenarios_the_suite_deselects_are_named_with_why(pytester):
    # By default the opt-in profile's scenarios are deselected; pytest's "2 deselected" alone
    # does not say by whom or why.
    result = pytester.runpytest_subprocess(str(FEATURES), "--collect-only", "-q", "-p", "no:cacheprovider")
    out = result.stdout.str()
    opt_in = sorted(e.name for e in load(FEATURES).values() if e.profile == RELIABILITY)
    assert f"{len(opt_in)} deselected" in out
    line = f"{len(opt_in)} deselected by the suite: {', '.join(opt_in)}, of the profile {RELIABILITY}, not among --profiles"
    assert line in out, out[-2000:]
    # Chosen, they are not deselected, and nothing is said.
    result = pytester.runpytest_subprocess(str(FEATURES), "--collect-only", "-q", "-p", "no:cacheprovider", "--profiles", ",".join(PROFILES))
    assert "deselected" not in result.stdout.str()
