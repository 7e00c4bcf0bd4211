"""The ConformanceReport: what counts as success, judged against the whole inventory."""

from types import SimpleNamespace

import yaml

from conformance.inventory import Entry
from conformance.profiles import CORE, EXTENDED
from conformance.report import DESELECTED, NOT_REACHED, NOT_SELECTED, Report

CORE_NEEDS = frozenset({"APIKeyCore"})


def entry(name: str, needs=CORE_NEEDS, file: str = "a.feature") -> Entry:
    return Entry(name, name.partition("[")[0], frozenset(needs), file, 1)


def node(name: str, file: str = "a.feature") -> str:
    """The node id the suite gives a scenario's test (features/conftest.py)."""
    scenario_id, bracket, example = name.partition("[")
    return f"features/{file}::{scenario_id} Some title{bracket}{example}"


def outcome(name: str, what: str, when: str = "call", **more) -> SimpleNamespace:
    return SimpleNamespace(nodeid=node(name), when=when, failed=what == "failed", skipped=what == "skipped", passed=what == "passed",
                           **more)


def report_of(*entries: Entry, supported=("APIKeyCore",), collected=None) -> Report:
    """A report over an inventory of `entries`, all collected unless told otherwise."""
    report = Report(SimpleNamespace(name="test"), {e.name: e for e in entries})
    report.supported = set(supported)
    report.collect(e.name for e in entries if collected is None or e.name in collected)
    return report


def results(report: Report, tmp_path) -> dict:
    path = tmp_path / "report.yaml"
    assert report.write(str(path))
    return {p["name"]: p for p in yaml.safe_load(path.read_text())["profiles"]}


def test_all_passed_is_success(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-CORE-002"))
    report.profiles = {CORE}
    report.record(outcome("APIKEY-CORE-001", "passed"))
    report.record(outcome("APIKEY-CORE-002", "passed"))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "success"
    assert core["statistics"] == {"Passed": 2, "Skipped": 0, "Failed": 0, "NotRun": 0, "Exempt": 0, "Provisional": 0}


def test_a_scenario_that_never_ran_makes_the_profile_partial(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-CORE-002"))
    report.record(outcome("APIKEY-CORE-001", "passed"))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "partial"
    assert core["notRunTests"] == [f"APIKEY-CORE-002: {NOT_REACHED}"]


def test_a_scenario_whose_file_was_not_collected_is_not_run_not_absent(tmp_path):
    # `pytest features/a.feature` collects one file; the other file's scenario still counts.
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-DOC-001", file="b.feature"), collected={"APIKEY-CORE-001"})
    report.profiles = {CORE}
    report.record(outcome("APIKEY-CORE-001", "passed"))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "partial"
    assert core["notRunTests"] == [f"APIKEY-DOC-001: {NOT_SELECTED}"]


def test_a_profile_with_nothing_run_is_never_success(tmp_path):
    # Every extended scenario needs a feature the target does not claim: nothing ran.
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-EXT-001", {"KeyLocation"}))
    report.record(outcome("APIKEY-CORE-001", "passed"))
    profiles = results(report, tmp_path)
    assert profiles[CORE]["result"] == "success"
    assert profiles[EXTENDED]["result"] == "partial"
    assert profiles[EXTENDED]["statistics"]["Passed"] == 0


def test_a_run_that_collected_none_of_the_suite_writes_no_verdict(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), collected=set())
    path = tmp_path / "report.yaml"
    assert not report.write(str(path)) and not path.exists()
    assert report.summary_lines() == []


def test_deselected_scenarios_are_listed_with_the_reason(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-CORE-002"))
    report.deselected(["APIKEY-CORE-002"])
    report.record(outcome("APIKEY-CORE-001", "passed"))
    assert results(report, tmp_path)[CORE]["notRunTests"] == [f"APIKEY-CORE-002: {DESELECTED}"]


def test_a_skip_is_not_a_pass(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"))
    report.record(outcome("APIKEY-CORE-001", "skipped", when="setup"))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "partial" and core["statistics"]["Passed"] == 0 and core["skippedTests"] == ["APIKEY-CORE-001"]


def test_a_failure_in_teardown_is_a_failure(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"))
    report.record(outcome("APIKEY-CORE-001", "passed"))
    report.record(outcome("APIKEY-CORE-001", "failed", when="teardown"))
    assert results(report, tmp_path)[CORE]["result"] == "failure"


def test_a_crashed_workers_scenario_is_a_failure(tmp_path):
    # pytest-xdist reports the scenario a crashed worker was running as failed, in a phase
    # of its own ("???"); the worker's own state never arrives.
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-CORE-002"), collected=set())
    report.record(outcome("APIKEY-CORE-001", "passed"))
    report.record(outcome("APIKEY-CORE-002", "failed", when="???"))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "failure" and core["failedTests"] == ["APIKEY-CORE-002"]


def test_unsupported_core_scenario_is_a_gap_but_extended_is_not_counted(tmp_path):
    report = report_of(entry("APIKEY-CORE-009"), entry("APIKEY-EXT-001", {"KeyLocation"}), entry("APIKEY-EXT-012", {"ExpressionLocation"}),
                       supported=("KeyLocation",))
    report.record(outcome("APIKEY-EXT-001", "passed"))
    profiles = results(report, tmp_path)
    assert profiles[CORE]["result"] == "partial" and profiles[CORE]["skippedTests"] == ["APIKEY-CORE-009 (needs APIKeyCore)"]
    assert profiles[EXTENDED]["result"] == "success"


def test_an_exempted_feature_is_listed_apart_and_never_success(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-EXT-001", {"HashedKeys"}), entry("APIKEY-EXT-002", {"KeyLocation"}),
                       supported=("APIKeyCore", "HashedKeys", "KeyLocation"))
    report.exempt = {"HashedKeys"}
    report.record(outcome("APIKEY-CORE-001", "passed"))
    report.record(outcome("APIKEY-EXT-002", "passed"))
    ext = results(report, tmp_path)[EXTENDED]
    assert ext["result"] == "partial"
    assert ext["exemptFeatures"] == ["HashedKeys"] and ext["exemptTests"] == ["APIKEY-EXT-001 (exempt: HashedKeys)"]
    assert ext["skippedTests"] == [] and "HashedKeys" not in ext["unsupportedFeatures"]
    assert ext["statistics"]["Exempt"] == 1


def test_outline_examples_are_listed_one_by_one(tmp_path):
    report = report_of(entry("APIKEY-CORE-003[Strict, no]"), entry("APIKEY-CORE-003[Optional, no]"))
    report.record(outcome("APIKEY-CORE-003[Strict, no]", "failed"))
    report.record(outcome("APIKEY-CORE-003[Optional, no]", "passed"))
    core = results(report, tmp_path)[CORE]
    assert core["failedTests"] == ["APIKEY-CORE-003[Strict, no]"]


def test_workers_states_merge_into_one_complete_report(tmp_path):
    entries = [entry("APIKEY-CORE-001"), entry("APIKEY-CORE-002"), entry("APIKEY-CORE-003")]
    one, two = report_of(*entries), report_of(*entries)
    one.record(outcome("APIKEY-CORE-001", "passed"))
    two.record(outcome("APIKEY-CORE-002", "passed"))
    two.record(outcome("APIKEY-CORE-003", "failed"))
    controller = Report(SimpleNamespace(name="test"), {e.name: e for e in entries})
    controller.merge(one.state())
    controller.merge(two.state())
    core = results(controller, tmp_path)[CORE]
    assert core["statistics"] == {"Passed": 2, "Skipped": 0, "Failed": 1, "NotRun": 0, "Exempt": 0, "Provisional": 0}


def test_features_checked_against_a_stand_in_are_not_reported_as_conformant(tmp_path):
    report = Report(SimpleNamespace(name="test", provisional_features={"ManifestValidation": "stand-in CRD"},
                                    crd_sources={"agentgateway": "STAND-IN"}),
                    {"APIKEY-EXT-030": entry("APIKEY-EXT-030", {"ManifestValidation"})})
    report.supported = {"APIKeyCore", "ManifestValidation"}
    report.profiles = {EXTENDED}
    report.collect(["APIKEY-EXT-030"])
    report.note_target()
    report.record(outcome("APIKEY-EXT-030", "passed"))
    path = tmp_path / "r.yaml"
    report.write(str(path))
    written = yaml.safe_load(path.read_text())
    ext = {p["name"]: p for p in written["profiles"]}[EXTENDED]
    assert ext["result"] == "partial" and ext["statistics"]["Passed"] == 0
    assert "ManifestValidation" not in ext["supportedFeatures"]
    assert ext["provisionalFeatures"] == {"ManifestValidation": "stand-in CRD"}
    assert written["crds"] == {"agentgateway": "STAND-IN"}


def test_a_step_the_target_could_not_check_keeps_the_scenario_from_counting(tmp_path):
    report = report_of(entry("APIKEY-DOC-001"))
    trace = '{"title": "APIKEY-DOC-001 x", "unchecked": [{"step": "the secret holds the key", "reason": "keys are redacted"}]}'
    report.record(outcome("APIKEY-DOC-001", "passed", user_properties=[("agw-trace", trace)]))
    core = results(report, tmp_path)[CORE]
    assert core["result"] == "partial" and core["statistics"]["Passed"] == 0 and core["statistics"]["Provisional"] == 1
    assert "not checked on this target: the secret holds the key: keys are redacted" in core["provisionalTests"][0]


def test_only_the_profiles_asked_for_are_reported(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"), entry("APIKEY-EXT-001", {"KeyLocation"}), supported=("APIKeyCore", "KeyLocation"))
    report.profiles = {CORE}
    report.record(outcome("APIKEY-CORE-001", "passed"))
    assert list(results(report, tmp_path)) == [CORE]


def test_the_report_directory_is_created(tmp_path):
    report = report_of(entry("APIKEY-CORE-001"))
    report.record(outcome("APIKEY-CORE-001", "passed"))
    path = tmp_path / "new" / "dir" / "report.yaml"
    report.write(str(path))
    assert yaml.safe_load(path.read_text())["kind"] == "ConformanceReport"


def test_the_report_names_the_commit_the_run_started_at(monkeypatch):
    # A long run whose checkout moves on (a commit, a pull) still names the code that ran.
    import conformance.report as report_module

    monkeypatch.setattr(report_module, "suite_commit", lambda: "commit-at-start")
    report = report_of(entry("APIKEY-CORE-001"))
    monkeypatch.setattr(report_module, "suite_commit", lambda: "commit-at-the-end")
    assert report.document()["suiteCommit"] == "commit-at-start"
