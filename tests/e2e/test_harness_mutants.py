"""The harness's own tests must catch a harness that got more lenient (mutation/harness_mutants.py).

A kill is attributed: only the tests a mutant names are run against it, and they must
fail; the same tests must pass without it (the control run), so a broken launcher never
counts as a kill. The mutant is written into a copy of the package it edits (`conformance`,
or `agwmodel` for the key locations the harness uses) that comes first on PYTHONPATH, so
it is in force in every Python process of the run, pytest runs started by pytester included.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mutation"))
import harness_mutants  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ALL_KILLERS = sorted({k for m in harness_mutants.MUTANTS for k in m.killers})


def mutated_copy(mutant: harness_mutants.HarnessMutant, into: Path) -> Path:
    package = mutant.module.partition(".")[0]  # the harness, or the key location model it uses (agwmodel)
    shutil.copytree(ROOT / package, into / package, ignore=shutil.ignore_patterns("__pycache__"))
    path = into / (mutant.module.replace(".", "/") + ".py")
    source = path.read_text()
    assert source.count(mutant.old) == 1, f"mutant {mutant.name}: its text occurs {source.count(mutant.old)} times in {mutant.module}"
    path.write_text(source.replace(mutant.old, mutant.new))
    return into


def run(mutant: str | None, tests: list[str], workdir: Path | None = None) -> subprocess.CompletedProcess:
    # `python -m pytest` puts its working directory first on sys.path: run from the
    # directory that holds the copy, with the tests named by absolute path.
    env, cwd = dict(os.environ), ROOT
    if mutant:
        cwd = mutated_copy(harness_mutants.BY_NAME[mutant], workdir)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(cwd), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
                           *(str(ROOT / t) for t in tests)],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def control():
    result = run(None, ALL_KILLERS)
    assert result.returncode == 0, "the killers fail without any mutant:\n" + result.stdout[-3000:]


@pytest.mark.parametrize("name", [m.name for m in harness_mutants.MUTANTS])
def test_harness_mutant_is_killed_by_its_own_tests(control, name, tmp_path):
    mutant = harness_mutants.BY_NAME[name]
    result = run(name, list(mutant.killers), tmp_path)
    assert result.returncode == 1, f"harness mutant {name} ({mutant.rule}) survived or broke the run:\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
    assert "failed" in result.stdout
    package = mutant.module.partition(".")[0]
    imported = subprocess.run([sys.executable, "-c", f"import {package}; print({package}.__file__)"], cwd=tmp_path,
                              env={**os.environ, "PYTHONPATH": str(tmp_path)}, capture_output=True, text=True).stdout
    assert imported.startswith(str(tmp_path)), f"the mutated copy was not the one imported: {imported}"
