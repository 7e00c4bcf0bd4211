"""The suite must fail against a gateway that breaks any one rule of the spec.

Each case runs `pytest features/` as a user would, against the reference gateway with one
hand-written mutant applied (see `mutation/mutants.py`). The unmutated control run must
pass, so a mutant is never "killed" by a broken launcher.
"""

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "mutation"))
import mutants  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = Path(__file__).parent / "mutation" / "launch.py"


def run_suite(mutant: str, *extra: str) -> subprocess.CompletedProcess:
    command = f"{sys.executable} {LAUNCH} {mutant}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-q", "-x", "-p", "no:cacheprovider",
         "--reference-command", command, "--convergence-timeout", "5", "--convergence-interval", "0.02", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )


def test_control_run_passes():
    result = run_suite("none")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


@pytest.mark.parametrize("mutant", [m.name for m in mutants.MUTANTS])
def test_mutant_is_killed(mutant):
    result = run_suite(mutant)
    # Exit code 1 means scenarios failed; anything else (usage error, crash) proves nothing.
    assert result.returncode == 1, f"mutant {mutant} ({mutants.BY_NAME[mutant].rule}) survived or broke the run:\n{result.stdout[-3000:]}"
    assert "failed" in result.stdout
