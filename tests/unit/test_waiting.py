"""The one wait of the harness: the value awaited, an early stop, or a timeout that says what never happened."""

from __future__ import annotations

import time

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
