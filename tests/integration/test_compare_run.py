"""`python -m conformance.compare ... -- COMMAND`: the run the tox environments of the real targets make.

A stand-in for pytest writes a chosen report into the --report-dir it is given and exits
with a chosen code, so that every way a run can end is judged without a real target.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest
from synthetic_reports import write

from conformance.tables import RESULTS

ROOT = Path(__file__).resolve().parents[2]
# Copies REPORT (or nothing, for "-") into the --report-dir it was given, then exits with CODE.
STAND_IN = """
import shutil, sys
args = sys.argv[1:]
report, code = args[0], int(args[1])
directory = args[args.index("--report-dir") + 1]
if report != "-":
    shutil.copy(report, directory + "/conformance-report.yaml")
sys.exit(code)
"""


@pytest.fixture
def stand_in(tmp_path):
    path = tmp_path / "stand_in.py"
    path.write_text(STAND_IN)
    return path


def compare(*argv, cwd=ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance.compare", *map(str, argv)], check=False, capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def run_with(tmp_path, stand_in, report, code: int, baseline) -> subprocess.CompletedProcess:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return compare(baseline, "--report-dir", out, "--", sys.executable, stand_in, report, code)


def test_a_run_that_fails_as_recorded_passes_and_says_pytest_failed(tmp_path, stand_in):
    outcomes = {"APIKEY-CORE-001": "passed", "APIKEY-EXT-102": "failed"}
    baseline, report = write(tmp_path / "baseline.yaml", outcomes), write(tmp_path / "report.yaml", outcomes)
    done = run_with(tmp_path, stand_in, report, 1, baseline)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exited 1 (failures: the report is judged against its baseline below)" in done.stdout
    assert "failing as recorded: APIKEY-EXT-102" in done.stdout.splitlines()[-1]


def test_a_run_that_passes_where_the_baseline_failed_fails(tmp_path, stand_in):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-EXT-102": "failed"})
    report = write(tmp_path / "report.yaml", {"APIKEY-EXT-102": "passed"})
    done = run_with(tmp_path, stand_in, report, 0, baseline)
    assert done.returncode == 1
    assert "APIKEY-EXT-102: recorded failure now passes (baseline: failed, report: passed)" in done.stdout


def test_a_new_failure_fails_the_run(tmp_path, stand_in):
    baseline = write(tmp_path / "baseline.yaml", {"APIKEY-CORE-001": "passed", "APIKEY-EXT-102": "failed"})
    report = write(tmp_path / "report.yaml", {"APIKEY-CORE-001": "failed", "APIKEY-EXT-102": "failed"})
    done = run_with(tmp_path, stand_in, report, 1, baseline)
    assert done.returncode == 1
    assert "APIKEY-CORE-001: new failure (baseline: passed, report: failed)" in done.stdout


def test_an_exit_1_without_a_failed_scenario_is_not_excused(tmp_path, stand_in):
    outcomes = {"APIKEY-CORE-001": "passed"}
    baseline, report = write(tmp_path / "baseline.yaml", outcomes), write(tmp_path / "report.yaml", outcomes)
    done = run_with(tmp_path, stand_in, report, 1, baseline)
    assert done.returncode == 1
    assert "its report records no failed scenario" in done.stdout


@pytest.mark.parametrize("code", [2, 3, 4, 5])
def test_a_run_that_did_not_finish_fails_with_its_own_code(tmp_path, stand_in, code):
    outcomes = {"APIKEY-CORE-001": "passed"}
    baseline, report = write(tmp_path / "baseline.yaml", outcomes), write(tmp_path / "report.yaml", outcomes)
    done = run_with(tmp_path, stand_in, report, code, baseline)
    assert done.returncode == code
    assert f"exited {code} (the run did not finish: this fails whatever the report says)" in done.stdout


def test_an_old_report_is_never_judged_as_this_runs(tmp_path, stand_in):
    outcomes = {"APIKEY-CORE-001": "passed"}
    baseline = write(tmp_path / "baseline.yaml", outcomes)
    stale = write(tmp_path / "out" / "conformance-report.yaml", outcomes)
    done = run_with(tmp_path, stand_in, "-", 0, baseline)
    assert done.returncode == 2
    assert f"the command wrote no report at {stale}" in done.stdout
    assert not stale.exists()


def test_the_baseline_is_chosen_by_the_version_the_run_reports(tmp_path, stand_in):
    # As tox -e agentgateway does: the built version is known only from the report.
    source = RESULTS / "agentgateway-local-v1.4.1.yaml"
    out = tmp_path / "out"
    out.mkdir()
    done = compare("--baselines", RESULTS, "--report-dir", out, "--", sys.executable, stand_in, source, 1)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"baseline: {source}:" in done.stdout
    assert "failing as recorded: APIKEY-EXT-102, APIKEY-EXT-103" in done.stdout


def test_the_cli_names_a_changed_scenario_of_a_committed_result(tmp_path):
    source = RESULTS / "agentgateway-envtest-v1.4.1.yaml"
    text = source.read_text()
    assert text.count("outcome: failed") == 4
    mutated = tmp_path / source.name
    # The first recorded failure (APIKEY-EXT-102, by the order the report lists them) now passes.
    mutated.write_text(text.replace("outcome: failed", "outcome: passed", 1))
    assert compare(source, source).returncode == 0
    done = compare(source, mutated)
    assert done.returncode == 1
    assert "APIKEY-EXT-102: recorded failure now passes (baseline: failed, report: passed)" in done.stdout


# --- the tox environments of the real targets --------------------------------------------------


@pytest.mark.parametrize("env", ["agentgateway", "agentgateway-envtest", "kind"])
def test_a_real_target_env_is_judged_by_its_baseline_and_runs_the_differential_regardless(env):
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    section = tox[f"testenv:{env}"]
    commands = [line.strip() for line in section["commands"].splitlines() if line.strip()]
    suite = commands[-1]
    assert suite.startswith("python -m conformance.compare --baselines {toxinidir}/docs/results "
                            f"--report-dir {{toxinidir}}/reports/{env} -- "), suite
    # tox runs commands_post whatever became of commands, and fails the env when it fails.
    assert section["commands_post"].strip() == "pytest tests/integration/test_differential.py -s"
