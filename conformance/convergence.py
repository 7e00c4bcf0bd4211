"""The convergence rule of the Gateway API conformance suite.

An expectation holds once it has matched `threshold` times in a row within `timeout`
seconds; any miss resets the count, and the next attempt waits `interval` seconds. Refusals
are held to the same rule, so a check can neither pass on one lucky response nor on a stale
configuration.

Matches are `interval` apart too, unless the target confirmed that its last change is in
force (`Rule.spaced` is False then). The pause exists to outlast a change still on its way
to the gateway: an expectation that happens to hold under the old configuration as well
must keep holding while the new one arrives. A target whose apply returns only once its
gateway serves the change leaves nothing on the way, and the Gateway API suite itself
takes its matches back to back (`AwaitConvergence` in its conformance/utils/http: "each
failed attempt has a 1s delay; successful attempts have no delay").
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .http import Request, Response
from .waiting import TIMEOUTS

T = TypeVar("T")
# A check returns None when the response matches, else what was wrong with it.
Check = Callable[[Response], str | None]


@dataclass(frozen=True)
class Rule:
    threshold: int = 3
    timeout: float = TIMEOUTS.change
    interval: float = 0.1
    spaced: bool = True  # matches `interval` apart; False only where the target confirms each change in force


class NotConverged(AssertionError):
    pass


@dataclass
class Unsteady(Generic[T]):
    """How attempts that never made a streak went: their count, each kind of miss, the last one."""

    attempts: int = 0
    misses: dict[str, int] = field(default_factory=dict)
    last: T | None = None
    last_problem: str = ""


def steady(attempt: Callable[[], T], check: Callable[[T], str | None], rule: Rule,
           kind_of_miss: Callable[[T], str] = str) -> list[T] | Unsteady[T]:
    """Call `attempt` until `check` passes `rule.threshold` times in a row: those results;
    or, when the timeout comes first, how the attempts went."""
    deadline = time.monotonic() + rule.timeout
    streak: list[T] = []
    tally: Unsteady[T] = Unsteady()
    while True:
        value = attempt()
        tally.attempts += 1
        problem = check(value)
        if problem is None:
            streak.append(value)
            if len(streak) >= rule.threshold:
                return streak
        else:
            streak = []
            tally.last, tally.last_problem = value, problem
            kind = kind_of_miss(value)
            tally.misses[kind] = tally.misses.get(kind, 0) + 1
        if time.monotonic() >= deadline:
            return tally
        if problem is not None or rule.spaced:
            time.sleep(rule.interval)


def converge(send: Callable[[Request], Response], request: Request, check: Check, rule: Rule, expectation: str) -> list[Response]:
    """Send `request` until `check` passes `rule.threshold` times in a row; return those responses."""
    result = steady(lambda: send(request), check, rule, lambda response: response.error or str(response.status))
    if isinstance(result, list):
        return result
    raise NotConverged(f"{not_converged(expectation, rule, result)}\n    request: {request.describe()}\n    " + (
        f"{result.last_problem}\n    last response: {result.last.describe()}" if result.last is not None else ""))


def not_converged(expectation: str, rule: Rule, result: Unsteady) -> str:
    """What a failed expectation says first: that the gateway never got there within the
    timeout, and whether it never matched (the change it waits for never took effect) or
    matched now and then (it answered both ways)."""
    history = ", ".join(f"{k} x{v}" for k, v in result.misses.items()) or "none"
    matched = result.attempts - sum(result.misses.values())
    head = f"expected {expectation}, {rule.threshold} times in a row, within {rule.timeout:g} s (the convergence timeout)"
    if matched == 0:
        return (f"{head}, and not one of {result.attempts} attempts matched (misses: {history}): the change it waits for never took "
                "effect within the timeout, or the gateway does not behave so")
    return (f"{head}; {matched} of {result.attempts} attempts matched, never {rule.threshold} in a row (misses: {history}): "
            "the gateway answered both ways, so the change never took steady effect within the timeout")
