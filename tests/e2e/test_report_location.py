"""Where conformance reports go: every run that writes one says where, and the tox
environments keep theirs where the next tox run does not remove them."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_that_writes_a_report_says_where(pytester):
    result = pytester.runpytest_subprocess(str(ROOT / "features"), "-p", "no:cacheprovider", "-k", "APIKEY-DOC-002",
                                           "--conformance-report", "out/report.yaml")
    assert result.ret == 0, result.stdout.str()[-2000:]
    written = pytester.path / "out" / "report.yaml"
    assert written.is_file()
    result.stdout.fnmatch_lines([f"reports: {written}"])


def test_tox_keeps_every_report_outside_its_environments():
    # tox empties an environment's directories (env_tmp_dir, env_dir) when it recreates or
    # reruns it; reports/ beside tox.ini stays until the next run of the same environment.
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    paths = {}
    for section in tox.sections():
        for line in tox[section].get("commands", "").splitlines():
            found = re.search(r"--(?:conformance-report|report-dir) (\S+)", line)
            if found:
                paths[section] = found.group(1)
    assert len(paths) >= 4, paths
    for env, path in paths.items():
        assert path.startswith("{toxinidir}/reports/"), f"{env} writes its report to {path}"
    assert len(set(paths.values())) == len(paths), "two environments share a report file"
