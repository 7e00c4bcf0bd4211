"""The ConformanceReport: what counts as success, and what a partial run says."""

from types import SimpleNamespace

import yaml

from conformance import features as ft
from conformance.report import DESELECTED, NOT_REACHED, Report


def outcome(nodeid: str, what: str, when: str = "call") -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, when=when, failed=what == "failed", skipped=what == "skipped", passed=what == "passed")


def report_with(*scenarios: tuple[str, str, str]) -> Report:
    """A report that expected each (nodeid, id, profile)."""
    report = Report(SimpleNamespace(name="test"))
    for nodeid, scenario_id, profile in scenarios:
        report.expect(nodeid, scenario_id, profile, {"APIKeyCore"})
    return report


def results(report: Report, tmp_path) -> dict:
    path = tmp_path / "report.yaml"
    report.write(str(path))
    return {p["name"]: p for p in yaml.safe_load(path.read_text())["profiles"]}


def test_all_passed_is_success(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE), ("b", "APIKEY-CORE-002", ft.CORE))
    report.record(outcome("a", "passed"))
    report.record(outcome("b", "passed"))
    core = results(report, tmp_path)[ft.CORE]
    assert core["result"] == "success"
    assert core["statistics"] == {"Passed": 2, "Skipped": 0, "Failed": 0, "NotRun": 0}


def test_a_scenario_that_never_ran_makes_the_profile_partial(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE), ("b", "APIKEY-CORE-002", ft.CORE))
    report.record(outcome("a", "passed"))
    core = results(report, tmp_path)[ft.CORE]
    assert core["result"] == "partial"
    assert core["notRunTests"] == [f"APIKEY-CORE-002: {NOT_REACHED}"]


def test_deselected_scenarios_are_listed_with_the_reason(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE), ("b", "APIKEY-CORE-002", ft.CORE))
    report.deselected(["b"])
    report.record(outcome("a", "passed"))
    assert results(report, tmp_path)[ft.CORE]["notRunTests"] == [f"APIKEY-CORE-002: {DESELECTED}"]


def test_a_skip_is_not_a_pass(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE))
    report.record(outcome("a", "skipped", when="setup"))
    core = results(report, tmp_path)[ft.CORE]
    assert core["result"] == "partial" and core["statistics"]["Passed"] == 0 and core["skippedTests"] == ["APIKEY-CORE-001"]


def test_a_failure_in_teardown_is_a_failure(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE))
    report.record(outcome("a", "passed"))
    report.record(outcome("a", "failed", when="teardown"))
    assert results(report, tmp_path)[ft.CORE]["result"] == "failure"


def test_unsupported_core_scenario_is_a_gap_but_extended_is_not_counted(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE), ("b", "APIKEY-EXT-001", ft.EXTENDED))
    report.record(outcome("a", "passed"))
    report.record(outcome("b", "passed"))
    report.unsupported("APIKEY-CORE-009", ft.CORE, ["APIKeyCore"])
    report.unsupported("APIKEY-EXT-012", ft.EXTENDED, ["ExpressionLocation"])
    profiles = results(report, tmp_path)
    assert profiles[ft.CORE]["result"] == "partial"
    assert profiles[ft.EXTENDED]["result"] == "success"


def test_outline_examples_are_listed_one_by_one(tmp_path):
    report = report_with(("t[Strict-no]", "APIKEY-CORE-003", ft.CORE), ("t[Optional-no]", "APIKEY-CORE-003", ft.CORE))
    report.record(outcome("t[Strict-no]", "failed"))
    report.record(outcome("t[Optional-no]", "passed"))
    failed = results(report, tmp_path)[ft.CORE]["failedTests"]
    # Without a trace to mask them, an example's values (keys among them) are shown as a digest.
    assert len(failed) == 1 and failed[0].startswith("APIKEY-CORE-003[example ") and "Strict" not in failed[0]


def test_an_example_that_ran_is_named_as_its_trace_masked_it(tmp_path):
    report = report_with(("t[Strict-sekret-key-1]", "APIKEY-CORE-003", ft.CORE), ("t[Optional-no]", "APIKEY-CORE-003", ft.CORE))
    failed = SimpleNamespace(**vars(outcome("t[Strict-sekret-key-1]", "failed")),
                             user_properties=[("agw-trace", '{"title": "test_case[Strict-<redacted>]"}')])
    report.record(failed)
    report.record(outcome("t[Optional-no]", "passed"))
    assert results(report, tmp_path)[ft.CORE]["failedTests"] == ["APIKEY-CORE-003[Strict-<redacted>]"]


def test_workers_states_merge_into_one_complete_report(tmp_path):
    scenarios = [("a", "APIKEY-CORE-001", ft.CORE), ("b", "APIKEY-CORE-002", ft.CORE), ("c", "APIKEY-CORE-003", ft.CORE)]
    one, two = report_with(*scenarios), report_with(*scenarios)
    one.record(outcome("a", "passed"))
    two.record(outcome("b", "passed"))
    two.record(outcome("c", "failed"))
    controller = Report(SimpleNamespace(name="test"))
    controller.merge(one.state())
    controller.merge(two.state())
    core = results(controller, tmp_path)[ft.CORE]
    assert core["statistics"] == {"Passed": 2, "Skipped": 0, "Failed": 1, "NotRun": 0}


def test_features_checked_against_a_stand_in_are_not_reported_as_conformant(tmp_path):
    report = Report(SimpleNamespace(name="test", provisional_features={"ManifestValidation": "stand-in CRD"},
                                    crd_sources={"agentgateway": "STAND-IN"}))
    report.supported = {"APIKeyCore", "ManifestValidation"}
    report.expect("v", "APIKEY-EXT-030", ft.EXTENDED, {"ManifestValidation"})
    report.note_target()
    report.record(outcome("v", "passed"))
    path = tmp_path / "r.yaml"
    report.write(str(path))
    written = yaml.safe_load(path.read_text())
    ext = {p["name"]: p for p in written["profiles"]}[ft.EXTENDED]
    assert ext["result"] == "partial" and ext["statistics"]["Passed"] == 0
    assert "ManifestValidation" not in ext["supportedFeatures"]
    assert ext["provisionalFeatures"] == {"ManifestValidation": "stand-in CRD"}
    assert written["crds"] == {"agentgateway": "STAND-IN"}


def test_the_report_directory_is_created(tmp_path):
    report = report_with(("a", "APIKEY-CORE-001", ft.CORE))
    report.record(outcome("a", "passed"))
    path = tmp_path / "new" / "dir" / "report.yaml"
    report.write(str(path))
    assert yaml.safe_load(path.read_text())["kind"] == "ConformanceReport"
