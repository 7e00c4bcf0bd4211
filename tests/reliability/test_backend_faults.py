"""Backend faults behind a valid key: a backend that is down (503), one that is too slow
(504 after `--upstream-timeout`), one that resets the connection in the middle of its
answer. The gateway answers for itself, stays healthy, and serves the next request."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from helpers import RULE, secret, status, strict_policy

from conformance import Request, converge
from conformance.processes import free_port

from .parts import HOST, Backend, leaks, log_texts, route_to, verbose_gateway

KEY = "backend-faults-key-4b8e21"
UPSTREAM_TIMEOUT = 1.0
HEADER_TIMEOUT = 0.4  # shorter than the slow answers below: it is for request heads only
WITH_KEY = Request(host=HOST, path="/anything").with_header("Authorization", f"Bearer {KEY}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = Backend()
    workdir = tmp_path_factory.mktemp("backend-faults")
    try:
        with verbose_gateway(workdir, "--upstream-timeout", str(UPSTREAM_TIMEOUT), "--header-timeout", str(HEADER_TIMEOUT)) as gateway:
            gateway.apply(route_to(backend.port))
            gateway.apply(route_to(free_port(), host="down.example.com", name="down"))  # nothing listens there
            gateway.apply(secret({"api-key": KEY}))
            gateway.apply(strict_policy())
            converge(gateway.send, WITH_KEY, status(200), RULE, "200 with the key")
            yield gateway, backend, workdir
    finally:
        backend.close()


def healthy(gateway) -> None:
    assert gateway.programs[-1].running, gateway.programs[-1].tail()
    assert httpx.get(gateway._admin + "/healthz/ready", timeout=10).status_code == 200
    response = gateway.send(WITH_KEY)
    assert response.status == 200, response.describe()


def test_a_backend_that_is_down_is_a_503(setup):
    gateway, _, _ = setup
    response = gateway.send(Request(host="down.example.com", path="/x").with_header("Authorization", f"Bearer {KEY}"))
    assert response.status in (502, 503), response.describe()
    healthy(gateway)


def test_a_backend_that_is_down_still_needs_a_key(setup):
    gateway, _, _ = setup
    assert gateway.send(Request(host="down.example.com", path="/x")).status == 401


def test_a_slow_backend_is_a_504_after_the_upstream_timeout(setup):
    gateway, backend, _ = setup
    start = time.monotonic()
    response = gateway.send(Request(host=HOST, path="/slow/5").with_header("Authorization", f"Bearer {KEY}"))
    took = time.monotonic() - start
    assert response.status == 504, response.describe()
    assert UPSTREAM_TIMEOUT * 0.8 <= took < 4.5, took  # the gateway's timeout, not the backend's 5 s
    healthy(gateway)


def test_an_answer_slower_than_the_header_timeout_is_still_delivered(setup):
    # The head deadline ends with the request's headers: a request whose answer takes longer
    # (here 0.7 s, within the upstream timeout) is not cut off by it.
    gateway, _, _ = setup
    response = gateway.send(Request(host=HOST, path="/slow/0.7").with_header("Authorization", f"Bearer {KEY}"))
    assert response.status == 200, response.describe()


def test_a_backend_reset_mid_response_ends_that_response_only(setup):
    gateway, _, _ = setup
    host, port = gateway.gateway_url.removeprefix("http://").split(":")
    request = (b"GET /reset HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n\r\n" % (HOST.encode(), KEY.encode()))
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass
    # The headers had gone out already: the client gets a response that ends early (it
    # can tell, by its Content-Length), never a 5xx after the fact, and never a hang.
    assert data.startswith(b"HTTP/1.1 200"), data[:100]
    assert len(data.partition(b"\r\n\r\n")[2]) < 100000
    healthy(gateway)


def test_many_faults_at_once_leave_the_gateway_serving(setup):
    gateway, _, workdir = setup
    import concurrent.futures

    paths = ["/reset", "/slow/3", "/anything"] * 10
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda p: gateway.send(Request(host=HOST, path=p).with_header("Authorization", f"Bearer {KEY}")).status, paths))
    assert all(s != 500 for s in statuses), statuses
    assert statuses.count(504) == 10, statuses
    healthy(gateway)
    assert leaks(log_texts(workdir), {KEY}) == []
