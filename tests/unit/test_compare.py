"""A report against its baseline (conformance/compare.py): every kind of difference, and what is refused.

The reports here are written from the schema (tests/synthetic_reports.py), not copied from a run.
"""

from __future__ import annotations

import shutil

import pytest
import yaml
from synthetic_reports import V1, V2, conformance_report, write

from conformance import compare
from conformance.tables import RESULTS

COMMITTED = sorted(RESULTS.glob("*.yaml"))
def run(capsys, *argv) -> tuple[int, list[str], str]:
    code = compare.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def pair(tmp_path, before: dict[str, str], now: dict[str, str], **kw):
    return write(tmp_path / "baseline.yaml", before, **kw), write(tmp_path / "report.yaml", now, **kw)


# --- outcomes as recorded --------------------------------------------------------------


def test_a_run_with_the_recorded_failures_is_as_expected(tmp_path, capsys):
    outcomes = {"APIKEY-CORE-001": "passed", "APIKEY-EXT-102": "failed", "APIKEY-EXT-040": "not supported"}
    baseline, report = pair(tmp_path, outcomes, dict(outcomes))
    code, out, _ = run(capsys, baseline, report)
    assert code == 0
    # The report stays honest: the summary says what still fails.
    assert out[-1].startswith("as recorded: every scenario has the outcome it has in") and "failing as recorded: APIKEY-EXT-102" in out[-1]


def test_both_suite_commits_are_printed(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"}, commit="1" * 40)
    report = write(tmp_path / "report.yaml", {"APIKEY-CORE-001": "passed"}, commit="2" * 40)
    code, out, _ = run(capsys, baseline, report)
    assert code == 0
    assert out[0].startswith(f"baseline: {baseline}") and "1" * 40 in out[0]
    assert out[1].startswith(f"report:   {report}") and "2" * 40 in out[1]


# --- each kind of difference ---------------------------------------------------------------


@pytest.mark.parametrize("before", ["passed", "provisional", "skipped", "not supported", "exempt", "not reached"])
def test_a_new_failure_differs(tmp_path, capsys, before):
    baseline, report = pair(tmp_path, {"APIKEY-CORE-001": before, "APIKEY-CORE-002": "passed"},
                            {"APIKEY-CORE-001": "failed", "APIKEY-CORE-002": "passed"})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert f"APIKEY-CORE-001: new failure (baseline: {before}, report: failed)" in out
    assert not any(line.startswith("APIKEY-CORE-002") for line in out)


@pytest.mark.parametrize("now", ["passed", "provisional"])
def test_a_recorded_failure_that_now_passes_differs(tmp_path, capsys, now):
    baseline, report = pair(tmp_path, {"APIKEY-EXT-102": "failed"}, {"APIKEY-EXT-102": now})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert f"APIKEY-EXT-102: recorded failure now passes (baseline: failed, report: {now})" in out


@pytest.mark.parametrize("now", ["not selected", "deselected", "not reached"])
@pytest.mark.parametrize("before", ["passed", "failed"])
def test_a_scenario_that_did_not_run_differs(tmp_path, capsys, before, now):
    baseline, report = pair(tmp_path, {"APIKEY-CORE-001": before}, {"APIKEY-CORE-001": now})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert f"APIKEY-CORE-001: not run (baseline: {before}, report: {now})" in out


def test_a_scenario_missing_from_the_report_differs(tmp_path, capsys):
    baseline, report = pair(tmp_path, {"APIKEY-CORE-001": "passed", "APIKEY-EXT-050": "passed"}, {"APIKEY-CORE-001": "passed"})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert "APIKEY-EXT-050: not in the report (baseline: passed)" in out


@pytest.mark.parametrize(("before", "now"), [
    ("not supported", "passed"), ("passed", "not supported"), ("skipped", "passed"), ("passed", "skipped"),
    ("provisional", "passed"), ("passed", "provisional"), ("exempt", "passed"), ("failed", "skipped"),
    ("failed", "not supported"),
])
def test_any_other_change_of_outcome_differs(tmp_path, capsys, before, now):
    baseline, report = pair(tmp_path, {"APIKEY-EXT-040": before}, {"APIKEY-EXT-040": now})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert f"APIKEY-EXT-040: outcome changed (baseline: {before}, report: {now})" in out


@pytest.mark.parametrize("now", ["failed", "skipped", "exempt", "not selected", "deselected", "not reached"])
def test_a_new_scenario_that_did_not_pass_differs(tmp_path, capsys, now):
    baseline, report = pair(tmp_path, {"APIKEY-DOC-001": "passed"}, {"APIKEY-DOC-001": "passed", "APIKEY-DOC-020": now})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert f"APIKEY-DOC-020: new, not in the baseline (report: {now})" in out


@pytest.mark.parametrize("now", ["passed", "provisional", "not supported"])
def test_a_new_scenario_that_passed_or_is_not_claimed_is_a_note(tmp_path, capsys, now):
    baseline, report = pair(tmp_path, {"APIKEY-DOC-001": "passed"}, {"APIKEY-DOC-001": "passed", "APIKEY-DOC-020": now})
    code, out, _ = run(capsys, baseline, report)
    assert code == 0
    assert f"note: APIKEY-DOC-020: new, not in the baseline (report: {now})" in out
    assert "1 new scenario(s) not in the baseline" in out[-1]


def test_outline_examples_are_compared_one_by_one(tmp_path, capsys):
    before = {"APIKEY-CORE-003[Strict, no]": "passed", "APIKEY-CORE-003[Strict, a valid]": "passed"}
    baseline, report = pair(tmp_path, before, {**before, "APIKEY-CORE-003[Strict, no]": "failed"})
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    assert "APIKEY-CORE-003[Strict, no]: new failure (baseline: passed, report: failed)" in out
    assert not any(line.startswith("APIKEY-CORE-003[Strict, a valid]") for line in out)


def test_every_kind_of_difference_at_once_one_line_each_and_counted(tmp_path, capsys):
    before = {"APIKEY-CORE-001": "passed", "APIKEY-EXT-102": "failed", "APIKEY-CORE-002": "passed", "APIKEY-CORE-004": "passed",
              "APIKEY-EXT-040": "not supported", "APIKEY-CORE-005": "passed"}
    now = {"APIKEY-CORE-001": "failed", "APIKEY-EXT-102": "passed", "APIKEY-CORE-002": "deselected",
           "APIKEY-EXT-040": "passed", "APIKEY-DOC-020": "failed", "APIKEY-CORE-005": "passed"}
    baseline, report = pair(tmp_path, before, now)
    code, out, _ = run(capsys, baseline, report)
    assert code == 1
    differences = [line for line in out if line.startswith("APIKEY-")]
    assert differences == [
        "APIKEY-CORE-001: new failure (baseline: passed, report: failed)",
        "APIKEY-CORE-002: not run (baseline: passed, report: deselected)",
        "APIKEY-CORE-004: not in the report (baseline: passed)",
        "APIKEY-DOC-020: new, not in the baseline (report: failed)",
        "APIKEY-EXT-040: outcome changed (baseline: not supported, report: passed)",
        "APIKEY-EXT-102: recorded failure now passes (baseline: failed, report: passed)",
    ]
    assert {compare.classify("x", *pair_).kind for pair_ in
            [("passed", "failed"), ("failed", "passed"), ("passed", "deselected"), ("passed", None), ("skipped", "passed"),
             (None, "failed")]} == set(compare.KINDS)
    assert out[-1] == (f"6 differences from {baseline}: 1 new failure, 1 recorded failure now passes, 1 not run, "
                       "1 not in the report, 1 outcome changed, 1 new, not in the baseline")


# --- what cannot be compared -----------------------------------------------------------------


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"})
    code, out, err = run(capsys, baseline, tmp_path / "nowhere.yaml")
    assert code == 2 and out == []
    assert f"{tmp_path / 'nowhere.yaml'}: no such file" in err


@pytest.mark.parametrize(("text", "says"), [
    ("a: [unclosed", "not readable as YAML"),
    ("- just\n- a list\n", "not a ConformanceReport (kind: 'list')"),
    ("kind: Secret\napiVersion: v1\n", "not a ConformanceReport (kind: 'Secret')"),
])
def test_a_file_that_is_not_a_report_is_a_usage_error(tmp_path, capsys, text, says):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"})
    (tmp_path / "other.yaml").write_text(text)
    code, _, err = run(capsys, baseline, tmp_path / "other.yaml")
    assert code == 2
    assert f"{tmp_path / 'other.yaml'}: {says}" in err


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: d.update(apiVersion="v0"), "apiVersion 'v0'"),
    (lambda d: d.pop("scenarios"), "field scenarios: missing"),
    (lambda d: d.pop("target"), "field target: missing"),
    (lambda d: d["scenarios"][1].update(outcome="pased"), "scenarios[1] (APIKEY-CORE-002): outcome 'pased' is none of passed, failed"),
    (lambda d: d["scenarios"].append(dict(d["scenarios"][0])), "scenarios[2]: APIKEY-CORE-001 is listed twice"),
    (lambda d: d["scenarios"][0].pop("name"), "scenarios[0]: not a scenario with a name"),
    (lambda d: d["run"]["target"].update(versions=["v1"]), "field run.target.versions: not a mapping"),
    (lambda d: d["run"].update(target="agentgateway-local"), "field run.target: not a mapping"),
])
def test_a_malformed_report_is_refused_naming_the_field(tmp_path, capsys, change, says):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed", "APIKEY-CORE-002": "passed"})
    document = conformance_report({"APIKEY-CORE-001": "passed", "APIKEY-CORE-002": "passed"})
    change(document)
    (tmp_path / "report.yaml").write_text(yaml.safe_dump(document))
    code, _, err = run(capsys, baseline, tmp_path / "report.yaml")
    assert code == 2
    assert f"{tmp_path / 'report.yaml'}: {says}" in err


def test_a_report_of_another_target_is_refused(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"}, target="agentgateway-local")
    report = write(tmp_path / "report.yaml", {"APIKEY-CORE-001": "passed"}, target="kind")
    code, out, err = run(capsys, baseline, report)
    assert code == 2 and out == []
    assert "target: baseline 'agentgateway-local', report 'kind'" in err and "--allow-mismatch" in err


def test_a_report_of_another_agentgateway_version_is_refused(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"}, versions=V1)
    report = write(tmp_path / "report.yaml", {"APIKEY-CORE-001": "passed"}, versions=V2)
    code, _, err = run(capsys, baseline, report)
    assert code == 2
    assert f"agentgateway: baseline {V1['agentgateway']}, report {V2['agentgateway']}" in err


def test_allow_mismatch_compares_anyway_with_a_warning(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-EXT-102": "failed"}, versions=V1)
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "passed"}, versions=V2)
    code, out, _ = run(capsys, "--allow-mismatch", baseline, report)
    assert code == 1
    assert f"warning: compared although they differ in agentgateway: baseline {V1['agentgateway']}, report {V2['agentgateway']}" in out
    assert "APIKEY-EXT-102: recorded failure now passes (baseline: failed, report: passed)" in out


def test_other_components_may_differ_and_are_noted(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"}, versions={**V1, "kube-apiserver": "v1.37.2"})
    report = write(tmp_path / "report.yaml", {"APIKEY-CORE-001": "passed"}, versions={**V1, "kube-apiserver": "v1.38.0"})
    code, out, _ = run(capsys, baseline, report)
    assert code == 0
    assert "note: kube-apiserver: baseline v1.37.2, report v1.38.0" in out


@pytest.mark.parametrize("argv", [[], ["one.yaml"], ["a.yaml", "b.yaml", "c.yaml"], ["--baselines", "d", "a.yaml", "b.yaml"],
                                  ["a.yaml", "b.yaml", "--"], ["a.yaml", "b.yaml", "--", "true"]])
def test_wrong_arguments_are_a_usage_error(capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        compare.main(argv)
    assert stopped.value.code == 2
    assert "usage: python -m conformance.compare" in capsys.readouterr().err


# --- the baseline chosen from a directory ------------------------------------------------------


def baselines(tmp_path):
    directory = tmp_path / "results"
    write(directory / "local-v1.yaml", {"APIKEY-EXT-102": "failed"}, versions=V1)
    write(directory / "local-v2.yaml", {"APIKEY-EXT-102": "passed"}, versions=V2)
    write(directory / "envtest-v2.yaml", {"APIKEY-EXT-102": "passed"}, target="kubernetes (envtest)",
          versions={"agentgateway proxy": V2["agentgateway"], "kube-apiserver": "v1.37.2"})
    return directory


@pytest.mark.parametrize(("versions", "chosen"), [(V1, "local-v1.yaml"), (V2, "local-v2.yaml")])
def test_the_baseline_of_the_reports_target_and_version_is_chosen(tmp_path, capsys, versions, chosen):
    directory = baselines(tmp_path)
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "failed"}, versions=versions)
    code, out, _ = run(capsys, "--baselines", directory, report)
    assert out[0].startswith(f"baseline: {directory / chosen}:")
    assert code == (0 if chosen == "local-v1.yaml" else 1)


def test_no_baseline_for_the_version_is_a_usage_error_listing_those_there(tmp_path, capsys):
    directory = baselines(tmp_path)
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "failed"}, versions={"agentgateway": "v3.0.0"})
    code, out, err = run(capsys, "--baselines", directory, report)
    assert code == 2 and out == []
    assert "no baseline in" in err and "agentgateway v3.0.0" in err
    assert f"local-v1.yaml (target 'agentgateway-local', agentgateway {V1['agentgateway']})" in err


def test_two_baselines_for_one_version_is_a_usage_error(tmp_path, capsys):
    directory = baselines(tmp_path)
    shutil.copy(directory / "local-v1.yaml", directory / "local-v1-again.yaml")
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "failed"}, versions=V1)
    code, _, err = run(capsys, "--baselines", directory, report)
    assert code == 2
    assert "2 baselines in" in err and "local-v1-again.yaml, local-v1.yaml" in err


def test_a_file_in_the_baselines_that_is_no_report_is_a_usage_error(tmp_path, capsys):
    directory = baselines(tmp_path)
    (directory / "notes.yaml").write_text("kind: Notes\n")
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "failed"}, versions=V1)
    code, _, err = run(capsys, "--baselines", directory, report)
    assert code == 2
    assert f"{directory / 'notes.yaml'}: not a ConformanceReport" in err


def test_report_dir_names_the_report_in_it(tmp_path, capsys):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed"})
    write(tmp_path / "out" / "conformance-report.yaml", {"APIKEY-CORE-001": "failed"})
    code, out, _ = run(capsys, baseline, "--report-dir", tmp_path / "out")
    assert code == 1
    assert "APIKEY-CORE-001: new failure (baseline: passed, report: failed)" in out


# --- the committed results ------------------------------------------------------------------


def test_there_are_committed_results_to_compare():
    assert len(COMMITTED) >= 4, COMMITTED


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_a_committed_result_is_its_own_baseline(capsys, path):
    code, out, _ = run(capsys, "--baselines", RESULTS, path)
    # The tox environments choose by target and agentgateway version: each committed report
    # must be the one chosen for a run like it, and agree with itself.
    assert out[0].startswith(f"baseline: {path}:"), out[0]
    assert code == 0, out


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.stem)
def test_a_changed_outcome_in_a_committed_result_is_named(tmp_path, capsys, path):
    document = yaml.safe_load(path.read_text())
    scenario = next(s for s in document["scenarios"] if s["outcome"] == "passed")
    scenario["outcome"] = "failed"
    mutated = tmp_path / path.name
    mutated.write_text(yaml.safe_dump(document, sort_keys=False))
    code, out, _ = run(capsys, path, mutated)
    assert code == 1
    assert f"{scenario['name']}: new failure (baseline: passed, report: failed)" in out
