"""The installed plugin, run the way users run it (pytester, in a subprocess).

It must leave other pytest-bdd projects alone, refuse bad options before anything
starts, and report a partial run as partial.
"""

import re
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

pytest_plugins = ["pytester"]

FEATURES = Path(__file__).resolve().parents[2] / "features"


@pytest.fixture
def foreign(pytester: pytest.Pytester) -> pytest.Pytester:
    """A small project of someone else's: its own tags and steps that read like ours."""
    pytester.makeini("[pytest]\nmarkers =\n    smoke: quick checks\n")
    (pytester.path / "widgets.feature").write_text(textwrap.dedent("""\
        @smoke
        Feature: Widgets
          @nightly
          Scenario: Creating a widget
            Given I create a widget
            When I update the widget
            Then the widget exists
        """))
    pytester.makepyfile(test_widgets=textwrap.dedent("""\
        from pytest_bdd import given, scenarios, then, when

        scenarios("widgets.feature")

        @given("I create a widget", target_fixture="widget")
        def create():
            return {"made": True}

        @when("I update the widget")
        def update(widget):
            widget["updated"] = True

        @then("the widget exists")
        def exists(widget):
            assert widget == {"made": True, "updated": True}
        """))
    return pytester


def test_other_projects_tags_and_steps_are_untouched(foreign):
    result = foreign.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_other_projects_do_not_see_our_steps(pytester: pytest.Pytester):
    # A step only this suite defines must be unknown in another project.
    (pytester.path / "x.feature").write_text("Feature: X\n  Scenario: Y\n    Given an agentgateway proxy is set up\n")
    pytester.makepyfile(test_x="from pytest_bdd import scenarios\nscenarios('x.feature')\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*StepDefinitionNotFoundError*"])


def ours(pytester: pytest.Pytester, *args: str):
    return pytester.runpytest_subprocess(str(FEATURES), "-p", "no:cacheprovider", *args)


@pytest.mark.parametrize("args, says", [
    (["--exempt-features", "NoSuchFeature"], "--exempt-features: unknown feature(s) NoSuchFeature"),
    (["--supported-features", "Bogus"], "--supported-features: unknown feature(s) Bogus"),
    (["--profiles", "CORE"], "--profiles: unknown profile(s) CORE"),
    (["--skip-tests", "APIKEY-CORE-999"], "--skip-tests: the suite has no scenario with the ID APIKEY-CORE-999"),
    (["--skip-tests", "core-1"], "--skip-tests: core-1 is not a scenario ID"),
    (["--gateway-address", "http://127.0.0.1:1"], "--gateway-address has no effect with --target=reference"),
    (["--supported-features", "APIKeyCore", "--exempt-features", "APIKeyCore"], "no scenario is left to run"),
    (["--convergence-timeout", "0"], "--convergence-timeout must be greater than 0"),
])
def test_bad_options_are_one_usage_error_before_anything_runs(pytester, args, says):
    result = ours(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    assert says in result.stderr.str()
    assert "passed" not in result.stdout.str() and "Traceback" not in result.stderr.str()


def test_many_unknown_features_are_one_short_line(pytester):
    # Say, the Gateway API's feature names given where the suite's go: the error names a
    # few, says how many, suggests the suite's name for one only miswritten, lists the known.
    names = [f"GatewayApiFeatureNumber{i:02d}" for i in range(60)] + ["apikeycore"]
    result = ours(pytester, "--supported-features", ",".join(names))
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    errors = [line for line in result.stderr.str().splitlines() if line.strip()]
    assert len(errors) == 1 and len(errors[0]) < 700, errors
    assert errors[0].startswith("ERROR: --supported-features: unknown feature(s) apikeycore (did you mean APIKeyCore?), ")
    assert "and 56 more (61 unknown)" in errors[0] and "; known: APIKeyCore, " in errors[0]


def write_kubeconfig(path: Path) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    return path


def test_workers_are_refused_on_one_shared_cluster(pytester):
    kubeconfig = write_kubeconfig(pytester.path / "kubeconfig")
    result = ours(pytester, "--target=kubernetes", "--kubeconfig", str(kubeconfig), "--gateway-address", "http://127.0.0.1:1", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    assert "-n (pytest-xdist) cannot be used with kubernetes: every worker would apply objects of the same names" in result.stderr.str()


def test_a_controller_tree_that_does_not_build_is_a_usage_error(pytester, monkeypatch):
    # The controller is built while pytest configures (its version chooses the docs page):
    # a tree it cannot be built from is named, with the build's own message, not a traceback.
    (pytester.path / "tree").mkdir()
    (pytester.path / "tree" / "go.mod").write_text("module github.com/agentgateway/agentgateway\n")
    monkeypatch.setenv("AGW_AGENTGATEWAY_SRC", str(pytester.path / "tree"))
    result = ours(pytester, "--target=kubernetes", "--envtest", "--envtest-gateway=agentgateway", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    stderr = result.stderr.str()
    assert f"builds the controller from AGW_AGENTGATEWAY_SRC={pytester.path / 'tree'}, and the build failed" in stderr
    assert "missing go.sum" in stderr and "INTERNALERROR" not in stderr + result.stdout.str()


def test_unreadable_kubeconfig_is_a_usage_error(pytester):
    result = ours(pytester, "--target=kubernetes", "--kubeconfig", str(pytester.path / "missing"), "--gateway-address", "http://127.0.0.1:1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--kubeconfig" in result.stderr.str() and "cannot be used" in result.stderr.str()


def test_an_unreachable_cluster_is_reported_before_the_first_scenario(pytester):
    kubeconfig = pytester.path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
    }))
    result = ours(pytester, "--target=kubernetes", "--kubeconfig", str(kubeconfig), "--gateway-address", "http://127.0.0.1:1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str()[-2000:]
    assert "not reachable" in result.stderr.str() and "did not answer" in result.stderr.str()


def test_without_the_cluster_extra_the_kubernetes_target_says_what_to_install(pytester):
    # Hide the Kubernetes client, as in an environment without the extra.
    pytester.makeconftest("")
    (pytester.path / "hide.py").write_text("import sys\nsys.modules['lightkube'] = None\n")
    result = ours(pytester, "-p", "hide", "--target=kubernetes", "--kubeconfig", "k", "--gateway-address", "http://127.0.0.1:1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # The suite is not on the package index: the command installs what its extra requires.
    command = re.search(r"kubernetes extra \(lightkube is not installed\): pip install '([^']+)'$", result.stderr.str(), re.M)
    assert command, result.stderr.str()
    extra = tomllib.loads((FEATURES.parent / "pyproject.toml").read_text())["project"]["optional-dependencies"]["kubernetes"]
    assert [Requirement(command.group(1))] == [Requirement(spec) for spec in extra]


def test_a_deselected_run_is_reported_partial_with_what_did_not_run(pytester):
    path = pytester.path / "report.yaml"
    result = ours(pytester, "-k", "APIKEY-CORE-001", "--conformance-report", str(path), "--profiles", "APIKEY-CORE")
    profiles = {p["name"]: p for p in yaml.safe_load(path.read_text())["profiles"]}
    core = profiles["APIKEY-CORE"]
    assert result.ret == 0, result.stdout.str()[-2000:]
    assert core["result"] == "partial"
    assert core["statistics"]["Failed"] == 0 and core["statistics"]["NotRun"] > 0
    assert all("deselected" in entry for entry in core["notRunTests"])


def test_under_xdist_the_controller_reports_what_every_worker_ran(pytester):
    path = pytester.path / "report.yaml"
    result = ours(pytester, "-n", "2", "-k", "APIKEY-DOC or APIKEY-CORE", "--conformance-report", str(path))
    assert result.ret == 0, result.stdout.str()[-2000:]
    profiles = {p["name"]: p for p in yaml.safe_load(path.read_text())["profiles"]}
    core, ext = profiles["APIKEY-CORE"], profiles["APIKEY-EXTENDED"]
    passed = sum(p["statistics"]["Passed"] for p in profiles.values())  # the docs pages' profiles too
    result.assert_outcomes(passed=passed)  # every scenario the workers ran is in the report
    assert core["result"] == "success" and core["statistics"]["NotRun"] == 0
    assert ext["result"] == "partial" and ext["statistics"]["NotRun"] > 0


def test_a_target_that_cannot_start_is_reported_once_and_stops_the_run(pytester):
    # A reference command that exits at once stands for any set-up failure (a failed
    # envtest build, a gateway that does not start).
    result = ours(pytester, "--reference-command", "false", "-k", "APIKEY-DOC or APIKEY-CORE-001")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR, result.stdout.str()[-2000:]
    out = result.stdout.str() + result.stderr.str()
    assert out.count("could not be set up") == 1, out[-3000:]
    assert "passed" not in result.stdout.str().splitlines()[-1] and "failed" not in result.stdout.str().splitlines()[-1]


def test_under_xdist_a_worker_whose_target_cannot_start_stops_the_run_saying_why(pytester):
    # A worker's own set-up (its gateway, its base objects) failing: the controller stops the
    # run with the worker's reason, not an INTERNALERROR about a scenario the worker left.
    result = ours(pytester, "--reference-command", "false", "-n", "2", "-k", "APIKEY-DOC or APIKEY-CORE-001")
    assert result.ret == pytest.ExitCode.INTERRUPTED, result.stdout.str()[-2000:]
    out = result.stdout.str() + result.stderr.str()
    assert "Interrupted: the reference target could not be set up, so no scenario can run" in out, out[-3000:]
    assert "INTERNALERROR" not in out and "passed" not in result.stdout.str().splitlines()[-1]


def test_a_failed_expectation_reads_as_its_step_without_any_key(pytester):
    # The reference with one rule broken (it forwards the credential) fails the page's
    # scenarios; the failure names the scenario and step, and shows no key.
    launch = Path(__file__).resolve().parents[1] / "mutation" / "launch.py"
    result = ours(pytester, "-k", "APIKEY-DOC-001", "--reference-command", f"{sys.executable} {launch} forward-credential")
    out = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, out[-2000:]
    assert "APIKEY-DOC-001 › docs_page_2026_02_19.feature:" in out or "APIKEY-DOC-001 › features/docs_page_2026_02_19.feature:" in out, out[-3000:]
    assert "httpbin does not see the header" in out
    assert "Traceback" not in out and "pytest_bdd/scenario.py" not in out
    assert "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" not in out
