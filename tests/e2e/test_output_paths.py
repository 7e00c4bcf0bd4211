"""Where the reports go: a path the run could not write is refused before anything runs,
with one line naming the option, the path and the reason, and exit code 4 (as every other
bad option: docs/running.md); and a finished run whose report cannot be written after all
still prints its verdict, says which report it could not write and why, and does not exit 0.

The machine's user may be root, whom file permissions do not stop, so an unwritable path
here is one under a regular file, or a directory where a file must go.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from helpers import ROOT

NEVER_STARTED = 4  # pytest.ExitCode.USAGE_ERROR
ONE = "APIKEY-CORE-001"


def run_suite(*args: str, cwd=ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", str(ROOT / "features"), "-p", "no:cacheprovider", "-k", ONE, *args],
                          cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


def never_started(done: subprocess.CompletedProcess, *phrases: str) -> str:
    assert done.returncode == NEVER_STARTED, done.stdout[-2000:] + done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("ERROR: "), done.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    assert "passed" not in done.stdout and "Traceback" not in done.stderr + done.stdout
    return errors[0]


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


def test_a_report_dir_that_is_a_file(a_file):
    never_started(run_suite("--report-dir", str(a_file)), f"--report-dir {a_file}: ", "not a directory")


def test_a_report_dir_that_cannot_be_created(a_file):
    where = a_file / "reports"
    never_started(run_suite("--report-dir", str(where)), f"--report-dir {where}: cannot be created")


def test_a_conformance_report_where_no_file_can_be_written(a_file):
    where = a_file / "report.yaml"
    never_started(run_suite("--conformance-report", str(where)), f"--conformance-report {where}: ")


def test_a_conformance_report_path_that_is_a_directory(tmp_path):
    never_started(run_suite("--conformance-report", str(tmp_path)), f"--conformance-report {tmp_path}: ", "is a directory")


@pytest.mark.parametrize("option", ["--junitxml", "--cucumberjson"])
def test_junit_and_cucumber_paths_are_checked_too(a_file, option):
    where = a_file / "out"
    never_started(run_suite(option, str(where)), f"{option} {where}: ")


def test_a_report_dir_whose_report_path_is_taken_by_a_directory(tmp_path):
    (tmp_path / "report.html").mkdir()
    never_started(run_suite("--report-dir", str(tmp_path)), f"--report-dir {tmp_path}: ", "report.html", "is a directory")


def test_a_refused_path_leaves_nothing_behind(tmp_path):
    # The check may create the report directory (the run would), but no empty report files.
    (tmp_path / "reports" / "report.html").mkdir(parents=True)
    run_suite("--report-dir", str(tmp_path / "reports"))
    assert sorted(os.listdir(tmp_path / "reports")) == ["report.html"]


SABOTAGE = textwrap.dedent("""\
    import os, shutil

    def pytest_runtest_teardown(item):
        # The report's directory is replaced by a file while the run goes on.
        where = os.environ["SABOTAGE_DIR"]
        if os.path.isdir(where):
            shutil.rmtree(where)
            open(where, "w").close()
    """)


@pytest.mark.parametrize("option", ["--conformance-report", "--report-dir"])
def test_a_finished_run_keeps_its_verdict_when_its_reports_cannot_be_written(tmp_path, option):
    (tmp_path / "sabotage.py").write_text(SABOTAGE)
    where = tmp_path / "out"
    report = where / "conformance-report.yaml"
    done = run_suite(option, str(report if option == "--conformance-report" else where), "-p", "sabotage",
                     env={"SABOTAGE_DIR": str(where), "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])})
    out = done.stdout
    assert "Traceback" not in out + done.stderr and "INTERNALERROR" not in out + done.stderr, out[-3000:] + done.stderr[-3000:]
    assert "APIKEY-CORE: partial (passed 1, failed 0" in out, out[-3000:]
    lines = [line for line in out.splitlines() if line.startswith("could not write")]
    assert any(line.startswith(f"could not write {report} ({option}") for line in lines), out[-3000:]
    if option == "--report-dir":
        # Every report of the directory is accounted for, and none is listed as written.
        for name in ("report.html", "junit.xml", "cucumber.json"):
            assert any(line.startswith(f"could not write {where / name}") for line in lines), out[-3000:]
        assert not [line for line in out.splitlines() if line.startswith("reports: ")], out[-3000:]
    else:
        assert len(lines) == 1, lines
    assert done.returncode == 3, done.returncode  # pytest's "internal error": the run passed, its report is missing
