"""A small part of the suite on the lowest and the highest pytest-bdd that pyproject.toml allows.

The suite reaches pytest-bdd through its public API, save two workarounds that touch its
internals (conformance/pytest_bdd_gaps.py): the outline examples' names and the scenario
record a report carries. Both ends of the pin are checked here, each in a virtual
environment of its own made from the package index (cached outside the repository, keyed
by the version and the dependencies, so it is made once), running this checkout's code:
the tests' names, a skip's location, the masking of the record, and the cucumber JSON
under pytest-xdist, where the record has to travel from the workers.

Slow the first time (two environments from the index or pip's cache), then about 30 s.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from helpers import ROOT, cache_dir
from packaging.requirements import Requirement

KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"  # in the scenarios' text: masked in every output
# A plain scenario, an outline (its examples named by the title's values) and one the
# reference skips (it points at its line in the feature file).
PATHS = ["features/credentials.feature", "features/decision_table.feature"]
SELECTION = ["-k", "APIKEY-CORE-001 or APIKEY-CORE-003 or APIKEY-EXT-012"]
OUTLINE_TEST = ("features/credentials.feature::APIKEY-CORE-003 In Strict mode, a header without the Bearer prefix counts as no key: "
                "<case>[a bare key]")


def dependencies() -> list[Requirement]:
    return [Requirement(r) for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]]


def pin() -> Requirement:
    [bdd] = [r for r in dependencies() if r.name == "pytest-bdd"]
    return bdd


def newest_allowed(requirement: Requirement) -> str:
    """The version pip installs for the pin: the highest it allows."""
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed", "--no-deps",
                           "--report", "-", str(requirement)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    [item] = json.loads(done.stdout)["install"]
    return item["metadata"]["version"]


def lowest_allowed(requirement: Requirement) -> str:
    [floor] = [s.version for s in requirement.specifier if s.operator == ">="]
    assert requirement.specifier.contains(floor), requirement
    return floor


def environment(version: str) -> Path:
    """A virtual environment with the suite's dependencies, pytest-bdd at `version`, and pytest-xdist."""
    wanted = [str(r) for r in dependencies() if r.name != "pytest-bdd"] + [f"pytest-bdd=={version}", "pytest-xdist>=3.5"]
    digest = hashlib.sha256("\n".join(wanted + [sys.version]).encode()).hexdigest()[:12]
    venv = cache_dir() / "pytest-bdd-range" / f"pytest-bdd-{version}-{digest}"
    if not (venv / "ready").exists():
        # Made where it stays (a virtual environment's scripts name its directory); "ready"
        # is written last, so an environment left half made is made again.
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
        done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *wanted],
                              capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        (venv / "ready").write_text("\n".join(wanted) + "\n")
    return venv / "bin" / "python"


# This checkout's code, not an installed copy.
CHECKOUT = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}


def run_suite(python: Path, *args: str) -> subprocess.CompletedProcess:
    # The plugin is found by its entry point where the checkout was installed in place
    # (its metadata is then on the path too), else it is named.
    found = subprocess.run([str(python), "-c", "from importlib.metadata import entry_points; "
                            "print(any(e.value == 'conformance.plugin' for e in entry_points(group='pytest11')))"],
                           env=CHECKOUT, capture_output=True, text=True, check=True).stdout.strip() == "True"
    plugin = [] if found else ["-p", "conformance.plugin"]
    return subprocess.run([str(python), "-m", "pytest", *PATHS, *SELECTION, *plugin, "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=CHECKOUT, capture_output=True, text=True, timeout=600)


def test_both_ends_of_the_pytest_bdd_pin_run_the_suite_alike(tmp_path):
    versions = sorted({lowest_allowed(pin()), newest_allowed(pin())})
    for version in versions:
        python = environment(version)
        shown = subprocess.run([str(python), "-c", "from importlib.metadata import version; print(version('pytest-bdd'))"],
                               env=CHECKOUT, capture_output=True, text=True, check=True).stdout.strip()
        assert shown == version

        collected = run_suite(python, "--collect-only", "-q")
        assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
        assert OUTLINE_TEST in collected.stdout.splitlines(), (version, collected.stdout[-3000:])
        assert KEY not in collected.stdout

        reports = tmp_path / version
        done = run_suite(python, "-n", "2", "-rs", "--report-dir", str(reports))
        out = done.stdout + done.stderr
        assert done.returncode == 0, (version, out[-3000:])
        assert "SKIPPED [1] features/decision_table.feature:186: APIKEY-EXT-012 needs ExpressionLocation" in out, (version, out[-3000:])
        assert "pytest_bdd" not in out and KEY not in out, version

        report = yaml.safe_load((reports / "conformance-report.yaml").read_text())
        passed = {s["name"] for s in report["scenarios"] if s.get("outcome") == "passed"}
        assert {"APIKEY-CORE-001", "APIKEY-CORE-003[a bare key]"} <= passed, (version, passed)
        cucumber = (reports / "cucumber.json").read_text()
        # The workers' scenario records reached the controller, masked.
        scenarios = [e["name"] for f in json.loads(cucumber) for e in f["elements"]]
        assert len(scenarios) == len(passed), (version, scenarios)
        assert "<redacted>" in cucumber and KEY not in cucumber, version
