"""The suite must fail against a gateway that breaks any one rule of the spec, and the right
scenarios must be the ones that fail.

Each mutant (`mutation/mutants.py`) names the rule it breaks and the scenarios tagged for
that rule. Its case runs `pytest features/` as a user would, against the reference gateway
with the mutant applied, selecting only those scenarios by their ID markers; a scenario must
fail there (exit code 1 with a failed scenario). The control run, every scenario without any
mutant, must pass first, so a mutant is never "killed" by a broken launcher or a scenario
that fails anyway.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mutation"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mutants  # noqa: E402
import spec_coverage  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LAUNCH = Path(__file__).resolve().parents[1] / "mutation" / "launch.py"
FAILED = re.compile(r"^FAILED features/\S+", re.MULTILINE)


def run_suite(mutant: str, *extra: str) -> subprocess.CompletedProcess:
    command = f"{sys.executable} {LAUNCH} {mutant}"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "features/", "-q", "-x", "-p", "no:cacheprovider",
         "--reference-command", command, "--convergence-timeout", "5", "--convergence-interval", "0.02", *extra],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )


def selection(scenario_ids: tuple[str, ...]) -> list[str]:
    """The marker expression that runs exactly these scenarios (every ID is a marker)."""
    return ["-m", " or ".join(scenario_ids)]


@pytest.fixture(scope="session")
def control_run_passes():
    result = run_suite("none")
    assert result.returncode == 0, "the suite fails without any mutant:\n" + result.stdout[-3000:] + result.stderr[-2000:]


def test_control_run_passes(control_run_passes):
    pass


@pytest.mark.parametrize("mutant", [m.name for m in mutants.MUTANTS])
def test_mutant_is_killed_by_its_scenarios(control_run_passes, mutant):
    m = mutants.BY_NAME[mutant]
    result = run_suite(mutant, *selection(m.scenarios))
    # Exit code 1 means scenarios failed; anything else (usage error, crash, nothing selected) proves nothing.
    assert result.returncode == 1, (
        f"mutant {mutant} ({spec_coverage.rule_text(m.rule)}) survived {', '.join(m.scenarios)}, or broke the run "
        f"(exit code {result.returncode}):\n{result.stdout[-3000:]}{result.stderr[-2000:]}"
    )
    assert FAILED.search(result.stdout), f"mutant {mutant}: exit code 1 without a failed scenario:\n{result.stdout[-3000:]}"


# --- the mutants and the rules, without running anything -------------------------------------

def test_every_mutant_edits_text_that_occurs_once():
    for m in mutants.MUTANTS:
        source = Path(importlib.import_module(m.module).__file__).read_text()
        assert source.count(m.old) == 1, f"mutant {m.name}: its text occurs {source.count(m.old)} times in {m.module}; update it"
        compile(source.replace(m.old, m.new), m.module, "exec")


def test_every_mutant_breaks_a_known_rule_and_names_existing_scenarios():
    known = spec_coverage.scenarios()
    assert len(mutants.BY_NAME) == len(mutants.MUTANTS), "two mutants share a name"
    for m in mutants.MUTANTS:
        assert m.rule in mutants.RULES, f"mutant {m.name}: unknown rule {m.rule!r}"
        assert m.scenarios, f"mutant {m.name} names no scenario"
        missing = [i for i in m.scenarios if i not in known]
        assert not missing, f"mutant {m.name} names scenarios that do not exist: {missing}"


def test_every_rule_has_a_mutant_or_says_why_not():
    broken = {m.rule for m in mutants.MUTANTS}
    for key, rule in mutants.RULES.items():
        assert (key in broken) != (rule.unchecked is not None), (
            f"rule {key!r} must have a mutant or a reason why not, not both and not neither")
        assert rule.section in spec_coverage.sections(), f"rule {key!r}: unknown spec section {rule.section}"


def test_the_marker_selection_is_one_valid_expression():
    from _pytest.mark.expression import Expression

    for m in mutants.MUTANTS:
        expression = Expression.compile(selection(m.scenarios)[1])
        assert all(expression.evaluate(lambda name, i=i, **_: name == i) for i in m.scenarios)
        assert not expression.evaluate(lambda name, **_: name == "APIKEY-CORE-999")


def test_the_coverage_page_is_up_to_date():
    assert spec_coverage.main(["--check"]) == 0, (
        "docs/spec-coverage.md is out of date (run python tests/spec_coverage.py), "
        "or sentences of docs/spec.md sections 2 and 3 and the rules of RULES are not one to one (see stderr)")
