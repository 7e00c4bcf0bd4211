"""The one wait of the harness: the value awaited, an early stop, or a timeout that says what never happened."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from conformance.waiting import wait_until


def test_it_returns_the_first_value_that_holds():
    answers = iter([None, {}, {"found": 1}, {"found": 2}])
    assert wait_until(lambda: next(answers), 5, "never", interval=0.001) == {"found": 1}


def test_a_thing_that_died_stops_the_wait_at_once_with_its_own_error():
    started = time.monotonic()

    def dead() -> None:
        raise RuntimeError("the program exited with 3")

    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_until(lambda: False, 30, "never", alive=dead)
    assert time.monotonic() - started < 5


def test_at_the_deadline_it_says_what_never_happened_and_the_last_thing_seen():
    seen = []

    def probe() -> bool:
        seen.append(len(seen))
        return False

    with pytest.raises(ValueError) as raised:
        wait_until(probe, 0.2, lambda: f"not ready; last look {seen[-1]}", interval=0.01, error=ValueError)
    assert str(raised.value) == f"not ready; last look {len(seen) - 1}"  # described after the last look
    assert len(seen) >= 2  # it kept looking until the deadline


def test_it_looks_once_more_at_the_deadline():
    # A timeout of zero still asks once: a thing already there is not reported missing.
    assert wait_until(lambda: "here", 0, "never") == "here"


ROOT = Path(__file__).resolve().parents[2]
# Numbers that stay where they are, and why: provenance.py is loaded by setup.py without
# the package, so it cannot import the record; the naive proxy is a stand-alone program
# measured as it is; bench's measurements pause to let a server settle before sampling.
LITERALS_KEPT = {"conformance/provenance.py", "bench/naive_proxy.py", "bench/measure.py"}


def literal_timeouts(path: Path) -> list[str]:
    """Where a module gives a timeout, a grace period or a sleep as a number of its own."""
    tree = ast.parse(path.read_text(), str(path))
    found = []

    def number(node: ast.AST | None) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found += [f"line {node.lineno}: {k.arg}=" for k in node.keywords if k.arg in ("timeout", "grace") and number(k.value)]
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name == "sleep" and node.args and number(node.args[0]):
                found.append(f"line {node.lineno}: sleep")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args.args[len(node.args.args) - len(node.args.defaults):] + node.args.kwonlyargs
            defaults = list(node.args.defaults) + list(node.args.kw_defaults)
            found += [f"line {node.lineno}: {a.arg}=" for a, d in zip(args, defaults)
                      if ("timeout" in a.arg or a.arg == "grace") and number(d)]
    return found


def test_timeouts_are_named_in_the_record_not_written_as_numbers():
    offenders = {}
    for package in ("conformance", "bench"):
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            if where not in LITERALS_KEPT and where != "conformance/waiting.py" and literal_timeouts(path):
                offenders[where] = literal_timeouts(path)
    assert offenders == {}


def test_a_literal_timeout_is_found(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("import time\n\ndef start(timeout: float = 30.0, *, grace=5):\n    time.sleep(0.2)\n    run(timeout=10)\n")
    assert sorted(literal_timeouts(module)) == ["line 3: grace=", "line 3: timeout=", "line 4: sleep", "line 5: timeout="]
