"""`agw-conformance` (conformance/cli.py): the suite run from any directory, as `pytest
features/` runs it in the checkout. The installed wheel is run the same way by
tests/integration/test_installed_suite.py; here the command runs this checkout's features."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from conformance import provenance

COMMAND = str(Path(sys.executable).parent / "agw-conformance")


def test_it_runs_the_features_from_another_directory_with_the_suites_settings(tmp_path):
    # A package of the same name where the command is run must not stand in for the suite's.
    (tmp_path / "conformance").mkdir()
    (tmp_path / "conformance" / "__init__.py").write_text("raise SystemExit('the wrong conformance package was imported')\n")
    done = subprocess.run([COMMAND, "run", "-v", "-k", "APIKEY-CORE-001", "--report-dir", "reports"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # Named as in the checkout, with relative paths taken from where it ran.
    assert "features/credentials.feature::APIKEY-CORE-001 " in done.stdout
    report = yaml.safe_load((tmp_path / "reports" / "conformance-report.yaml").read_text())
    assert report["run"]["selection"]["paths"] == ["features"]
    assert report["suiteCommit"] == provenance.suite_commit()
    assert (tmp_path / ".pytest_cache").is_dir()


def test_the_suites_settings_hold(tmp_path):
    # --strict-config, from the suite's pytest settings: an unknown ini key is an error.
    done = subprocess.run([COMMAND, "run", "-o", "no_such_setting=1", "--collect-only", "-q"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0 and "no_such_setting" in done.stdout + done.stderr


def test_it_says_which_suite_it_is():
    done = subprocess.run([COMMAND, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"agw-apikey-conformance {provenance.suite_version()} (commit {provenance.suite_commit()})"


def test_without_a_command_it_says_what_to_say():
    done = subprocess.run([COMMAND], capture_output=True, text=True)
    assert done.returncode == 2 and "say `run`" in done.stderr
