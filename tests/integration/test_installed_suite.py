"""The suite as a vendor gets it, outside this repository (.ci/installed-suite): the sdist and
the wheel built from this checkout, the wheel installed into a fresh virtual environment,
`agw-conformance run` from an empty directory elsewhere, against the reference.

Slow (a build, an install from the package index or pip's cache, a short run): about a
minute. The wheel is built from the sdist, outside any git checkout, so the commit the
report names is the one the sdist carried.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from importlib import metadata

import iniconfig
import yaml
from helpers import FEATURES, ROOT

from conformance import inventory
from conformance.profiles import PROFILES

SCRIPT = ROOT / ".ci" / "installed-suite"


def checkout_commit() -> str:
    """This checkout's HEAD, with -dirty when tracked files differ from it (docs/running.md)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True).stdout
    return head + ("-dirty" if dirty.strip() else "")


def tracked(directory: str) -> dict[str, bytes]:
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--", directory], capture_output=True, text=True, check=True)
    return {name: (ROOT / name).read_bytes() for name in listed.stdout.split("\0") if name}


def test_the_built_wheel_runs_the_suite_from_anywhere_and_names_its_version_and_commit(tmp_path):
    reports, dist = tmp_path / "reports", tmp_path / "dist"
    # Every profile is judged, so that the report lists every scenario; two of them run.
    options = ["--profiles", ",".join(PROFILES), "-k", "APIKEY-CORE-001 or APIKEY-DOC-001"]
    done = subprocess.run(["bash", str(SCRIPT), "--report-dir", str(reports), *options],
                          env={**os.environ, "PYTHON": sys.executable, "DIST_DIR": str(dist)},
                          cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    report = yaml.safe_load((reports / "conformance-report.yaml").read_text())
    assert report["suiteVersion"] == metadata.version("agw-apikey-conformance")
    assert report["suiteCommit"] == checkout_commit()
    # The installed run names its tests as the checkout's does, and judges every scenario of
    # the checkout's feature files: none was left out of the wheel.
    assert report["run"]["selection"]["paths"] == ["features"]
    assert {s["name"] for s in report["scenarios"]} == set(inventory.load(FEATURES))
    ran = {s["name"]: s for s in report["scenarios"] if s.get("outcome") == "passed"}
    assert set(ran) == {"APIKEY-CORE-001", "APIKEY-DOC-001"}, report["scenarios"]

    # Every file git tracks under features/ (the page copies and the binding conftest too)
    # and clusters/, byte for byte, in the wheel and in the sdist.
    expected = tracked("features") | tracked("clusters")
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as zipped:
        assert {name: zipped.read(f"conformance/{name}") for name in expected} == expected
        ini = iniconfig.IniConfig("pytest.ini", zipped.read("conformance/pytest.ini").decode())
    # The installed run's pytest settings are the checkout's (testpaths aside: tests/ is not shipped).
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    settings.pop("testpaths")
    shipped = {key: value.splitlines() if isinstance(settings.get(key), list) else value for key, value in ini["pytest"].items()}
    assert shipped == settings
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as tar:
        top = tar.getnames()[0].split("/")[0]
        assert {name: tar.extractfile(f"{top}/{name}").read() for name in expected} == expected
