"""One way to wait for something outside the suite: poll until it holds, it dies, or time is up.

Every wait of the harness for a program, a control plane or a gateway's configuration goes
through `wait_until`, so each has the same three ways out: the value it waited for; the
error of a thing that stopped existing while it was awaited (`alive` raises it), at once
rather than at the deadline; or, at the deadline, an error saying what never happened and
what was last seen. How often each kind of thing is asked is named in `POLL`.

Expectations about HTTP answers do not wait here: they follow the convergence rule
(`conformance/convergence.py`), which counts matches as well as waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Poll:
    """Seconds between two looks, by what is looked at (cheap and local, or an API server's work)."""

    gateway_admin = 0.02  # a local gateway's admin endpoint: every apply waits on it, so ask often
    api_object = 0.05  # an object in an API server, or a process's own health endpoint
    control_plane = 0.2  # what a controller or an API server does in its own time (CRDs, Deployments)


POLL = Poll()


def wait_until(probe: Callable[[], T], timeout: float, never: str | Callable[[], str], *, interval: float = POLL.api_object,
               alive: Callable[[], None] | None = None, error: type[Exception] = TimeoutError) -> T:
    """The first truthy value `probe` returns, polled every `interval` seconds for `timeout` seconds.

    `alive`, called before each look, raises when what is awaited can no longer come (a
    process that exited). At the deadline, `error` is raised with `never` (or what it
    returns, so it can describe the last thing seen), which says what did not happen.
    """
    deadline = time.monotonic() + timeout
    while True:
        if alive is not None:
            alive()
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise error(never() if callable(never) else never)
        time.sleep(interval)
