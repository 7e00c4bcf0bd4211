"""Programs from outside Python (tests/system_tools.py): every tox environment that runs some
checks for them before anything else and says how to install the missing ones, `.ci/run`
installs the same ones, and the README names them all."""

from __future__ import annotations

import configparser
import re
import shlex
import subprocess
import sys

import pytest
import system_tools
from helpers import ROOT, system_tool

SCRIPT = ROOT / "tests" / "system_tools.py"


def checked_by_tox() -> dict[str, list[str]]:
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(ROOT / "tox.ini")
    checked = {}
    for section in tox.sections():
        for line in tox[section].get("commands_pre", "").splitlines():
            words = shlex.split(line)
            if words[:2] == ["python", "tests/system_tools.py"]:
                checked[section.removeprefix("testenv:")] = words[2:]
    return checked


def used_by_tests() -> set[str]:
    """The tools the tests ask for by name: `system_tool("...")`, and Go through `helpers.go()`."""
    names = set()
    for path in (ROOT / "tests").rglob("*.py"):
        names |= set(re.findall(r'system_tool\("([a-z]+)"\)', path.read_text()))
    return names


def test_the_tests_environment_checks_every_tool_a_test_asks_for():
    assert {"shellcheck", "jq", "chromium", "go"} <= used_by_tests()
    assert used_by_tests() <= set(checked_by_tox()["tests"])


def test_the_bench_environment_checks_wrk_and_nginx():
    # The smoke run loads with wrk and runs nginx as the static backend and as a variant.
    assert {"wrk", "nginx"} <= set(checked_by_tox()["bench"])


def test_ci_installs_every_debian_package_an_environment_checks():
    wanted = {tool for tools in checked_by_tox().values() for tool in tools if system_tools.TOOLS[tool].package}
    found = re.search(r"python3 tests/system_tools\.py --packages ([a-z ]+)\)", (ROOT / ".ci" / "run").read_text())
    assert found and set(found.group(1).split()) == wanted


def test_the_readme_names_every_program_an_environment_checks():
    readme = (ROOT / "README.md").read_text()
    for tool in {tool for tools in checked_by_tox().values() for tool in tools}:
        package = system_tools.TOOLS[tool].package
        assert (f"`{package}`" in readme) if package else ("Go 1.26" in readme), f"README.md does not name {package or tool}"


def test_a_missing_program_stops_the_check_with_the_command_that_installs_it(tmp_path):
    # Two tools found only on PATH: nginx and go also look in fixed places, which a machine may have.
    env = {"PATH": str(tmp_path)}  # nothing on it
    done = subprocess.run([sys.executable, str(SCRIPT), "jq", "shellcheck"], env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert "jq is not installed" in done.stderr and "apt-get install jq" in done.stderr
    assert "all at once: apt-get install jq shellcheck" in done.stderr
    listed = subprocess.run([sys.executable, str(SCRIPT), "--packages", "jq", "shellcheck"], env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout.split() == ["jq", "shellcheck"]


def test_a_program_on_path_passes_the_check(tmp_path):
    program = tmp_path / "jq"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    done = subprocess.run([sys.executable, str(SCRIPT), "jq"], env={"PATH": str(tmp_path)}, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")


def test_an_unknown_name_is_refused():
    done = subprocess.run([sys.executable, str(SCRIPT), "jqq"], capture_output=True, text=True)
    assert done.returncode == 1 and "unknown tool jqq" in done.stderr


def test_a_variable_naming_the_program_wins_over_path(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("AGW_CHROMIUM", "/opt/chrome/chrome")
    assert system_tools.TOOLS["chromium"].find() == "/opt/chrome/chrome"


def test_a_test_needing_a_missing_program_fails_saying_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=re.escape("shellcheck is not installed: apt-get install shellcheck")):
        system_tool("shellcheck")

