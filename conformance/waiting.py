"""One way to wait for something outside the suite: poll until it holds, it dies, or time is up.

Every wait of the harness for a program, a control plane or a gateway's configuration goes
through `wait_until`, so each has the same three ways out: the value it waited for; the
error of a thing that stopped existing while it was awaited (`alive` raises it), at once
rather than at the deadline; or, at the deadline, an error saying what never happened and
what was last seen. How often each kind of thing is asked is named in `POLL`, and how long
it is waited for, or one request to it may take, in `TIMEOUTS`.

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


class Timeouts:
    """Seconds the harness gives each kind of wait or request, named in one place (as the
    Gateway API suite's `TimeoutConfig` does), so that none is a number in a module.

    A wait is for a state (a change in force, a program ready) and is polled through
    `wait_until`; a request bound is for one exchange, so that a peer that accepts a
    connection and never answers costs one failed attempt, not a hung run. The waits a user
    may lengthen (`--convergence-timeout`, a target's `timeout`) start from `change`; the
    others are what the awaited program is known to take on a slow machine.
    """

    # Waits.
    change = 30.0  # a change to take effect, a program of ours to get ready
    controller_ready = 120.0  # the agentgateway controller to answer /readyz (it fills its caches first)
    cluster_object = 60.0  # an object a controller writes (a status, a Deployment), a proxy's first xDS
    control_plane_start = 120.0  # etcd healthy, then kube-apiserver ready
    crds_established = 60.0  # every CRD of a directory Established
    bench_start = 60.0  # bench: a gateway to serve the benchmark's keys, a process to get ready
    bench_load = 120.0  # bench: a gateway to load the largest key set
    stop_grace = 5.0  # a program to exit after SIGTERM, before it gets SIGKILL
    # Request bounds.
    readiness_probe = 1.0  # one readiness GET, or one TCP connect to a port
    request = 10.0  # one request of the data plane; one GET to the reference's admin endpoint
    admin_poll = 5.0  # one look at the real proxy's config_dump while a change loads
    api_request = 5.0  # one request to an API server, a probe of a cluster's or a bench gateway's address
    api_write = 30.0  # one CRD written to a fresh API server
    etcd_health = 2.0  # one health check of etcd
    command = 60.0  # a program's `--version`
    page_command = 30.0  # one shell command of the docs page


TIMEOUTS = Timeouts()


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
