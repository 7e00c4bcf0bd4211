"""SIGTERM: the gateway stops taking connections at once, lets the requests it is already
serving finish (the backend answers them after the signal), then exits cleanly."""

from __future__ import annotations

import concurrent.futures
import signal
import socket
import time

import httpx
import pytest
from helpers import RULE, secret, status, strict_policy

from conformance import Request, converge

from .parts import HOST, Backend, route_to, verbose_gateway

KEY = "shutdown-key-9d2f55"
SLOW = 3.0


@pytest.fixture
def setup(tmp_path):
    backend = Backend()
    try:
        with verbose_gateway(tmp_path) as gateway:
            gateway.apply(route_to(backend.port))
            gateway.apply(secret({"api-key": KEY}))
            gateway.apply(strict_policy())
            converge(gateway.send, Request(host=HOST).with_header("Authorization", f"Bearer {KEY}"), status(200), RULE, "200 with the key")
            yield gateway, backend
    finally:
        backend.close()


def test_sigterm_finishes_requests_in_flight_and_refuses_new_connections(setup):
    gateway, backend = setup
    def slow() -> int:  # a connection of its own for each request
        headers = {"host": HOST, "authorization": f"Bearer {KEY}"}
        return httpx.get(f"{gateway.gateway_url}/slow/{SLOW}", headers=headers, timeout=30).status_code

    host, port = gateway.gateway_url.removeprefix("http://").split(":")
    program = gateway.programs[-1]
    backend.clear()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        in_flight = [pool.submit(slow) for _ in range(4)]
        deadline = time.monotonic() + 10
        while len(backend.seen) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(backend.seen) == 4, "the slow requests did not all reach the backend"
        signalled = time.monotonic()
        program.signal(signal.SIGTERM)
        time.sleep(0.5)
        # New connections are refused while the old requests are still being served.
        assert program.running, "the gateway exited before its requests in flight were done"
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()
        statuses = [f.result(timeout=30) for f in in_flight]
    assert statuses == [200] * 4, statuses
    assert time.monotonic() - signalled >= SLOW - 0.6  # they really were finished after the signal
    assert program.proc.wait(15) == 0, program.tail()

