"""The convergence rule of the Gateway API conformance suite.

An expectation holds once it has matched `threshold` times in a row, polling every
`interval` seconds, within `timeout` seconds; any miss resets the count. Refusals are held
to the same rule, so a check can neither pass on one lucky response nor on a stale config.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .http import Request, Response

# A check returns None when the response matches, else what was wrong with it.
Check = Callable[[Response], str | None]


@dataclass(frozen=True)
class Rule:
    threshold: int = 3
    timeout: float = 30.0
    interval: float = 0.1


class NotConverged(AssertionError):
    pass


def converge(send: Callable[[Request], Response], request: Request, check: Check, rule: Rule, expectation: str) -> list[Response]:
    """Send `request` until `check` passes `rule.threshold` times in a row; return those responses."""
    deadline = time.monotonic() + rule.timeout
    streak: list[Response] = []
    attempts = 0
    seen: dict[str, int] = {}
    last_miss = ""
    while True:
        response = send(request)
        attempts += 1
        problem = check(response)
        if problem is None:
            streak.append(response)
            if len(streak) >= rule.threshold:
                return streak
        else:
            streak = []
            last_miss = f"{problem}\n    last response: {response.describe()}"
            summary = response.error or str(response.status)
            seen[summary] = seen.get(summary, 0) + 1
        if time.monotonic() >= deadline:
            history = ", ".join(f"{k} x{v}" for k, v in seen.items())
            raise NotConverged(
                f"expected {expectation}, {rule.threshold} times in a row, within {rule.timeout:g} s; "
                f"it did not happen in {attempts} attempts (misses: {history or 'none'}).\n"
                f"    request: {request.describe()}\n    {last_miss}"
            )
        time.sleep(rule.interval)
