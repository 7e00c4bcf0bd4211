"""The preflight of a run against a cluster: does `--gateway-address` serve the docs page's
base route (httpbin behind the Gateway)? Each case is a real HTTP server on loopback,
reached by the suite's own client, and the check must decide within seconds, saying what
it saw.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import secret, strict_policy

from conformance.targets import base_route
from conformance.targets.base_route import NotTheBaseRoute
from conformance.targets.reference import ReferenceTarget

TIMEOUT = 2.0


def serving(answer):
    """A server on loopback whose every GET is answered by `answer(handler) -> (status, content type, body)`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, kind, body = answer(self)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server(request):
    started = serving(request.param)
    yield f"http://127.0.0.1:{started.server_address[1]}"
    started.shutdown()
    started.server_close()


def not_found(handler):
    return 404, "text/html", b"<html><body><h1>404 Not Found</h1>nginx</body></html>"


def a_home_page(handler):
    return 200, "text/html", b"<!DOCTYPE html><title>Welcome</title>" + b"x" * 500


def an_echo_of_something_else(handler):
    # The shape of httpbin's answer, but not an echo of this request.
    return 200, "application/json", json.dumps({"headers": {"Host": ["www.example.com"]}}).encode()


def another_401(handler):
    return 401, "text/plain", b"Unauthorized"


def an_echo(handler):
    # What httpbin answers (go-httpbin: each header's values as a list).
    return 200, "application/json", json.dumps({"headers": {k: [v] for k, v in handler.headers.items()}}).encode()


def check_in_seconds(address: str) -> str:
    started = time.monotonic()
    with pytest.raises(NotTheBaseRoute) as caught:
        base_route.check(address, timeout=TIMEOUT)
    assert time.monotonic() - started < TIMEOUT + 1
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"--gateway-address {address} ")
    return message


@pytest.mark.parametrize("server", [not_found], indirect=True)
def test_a_server_that_answers_404(server):
    message = check_in_seconds(server)
    assert "does not serve the docs page's base route" in message
    assert "GET /headers with Host www.example.com answered not httpbin's echo" in message
    assert "status 404, content-type text/html" in message and "404 Not Found" in message


@pytest.mark.parametrize("server", [a_home_page], indirect=True)
def test_a_server_that_answers_200_with_a_page(server):
    message = check_in_seconds(server)
    assert "status 200, content-type text/html" in message and "Welcome" in message
    assert len(message) < 800  # the body is cut short


@pytest.mark.parametrize("server", [an_echo_of_something_else], indirect=True)
def test_an_answer_shaped_like_the_echo_that_did_not_see_the_request(server):
    assert "an echo that did not see the X-Agw-Conformance-Probe header" in check_in_seconds(server)


@pytest.mark.parametrize("server", [another_401], indirect=True)
def test_a_401_that_is_not_agentgateways(server):
    assert "status 401, content-type text/plain; body 'Unauthorized'" in check_in_seconds(server).replace(", body", "; body")


@pytest.mark.parametrize("server", [an_echo], indirect=True)
def test_an_echo_of_the_request_is_the_base_route(server):
    base_route.check(server, timeout=TIMEOUT)


def test_a_server_that_never_answers():
    listener = socket.create_server(("127.0.0.1", 0))  # accepts connections (the kernel does), never answers
    try:
        message = check_in_seconds(f"http://127.0.0.1:{listener.getsockname()[1]}")
        assert "gave no HTTP answer to GET /headers with Host www.example.com: ReadTimeout" in message
    finally:
        listener.close()


@pytest.fixture(scope="module")
def gateway():
    """The reference gateway with the page's base objects: the Gateway, the route, httpbin."""
    with ReferenceTarget(frozenset()).running() as target:
        yield target


def test_the_reference_gateway_serves_the_base_route(gateway):
    base_route.check(gateway.gateway_url, timeout=TIMEOUT)


def test_a_gateway_with_a_policy_in_force_serves_the_route_guarded(gateway):
    refs = gateway.apply(secret({"api-key": "guard-key-0f0f"}) + "---\n" + strict_policy())
    try:
        message = check_in_seconds(gateway.gateway_url)
    finally:
        gateway.delete_all(list(reversed(refs)))
    assert "serves the base route, but guarded" in message
    assert "refused with 401 'api key authentication failure: no API Key found'" in message
    assert "guard-key-0f0f" not in message
