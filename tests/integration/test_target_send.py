"""How the harness sends requests: bounded in time, over pooled connections."""

import socket
import threading
import time

import pytest

from conformance.convergence import NotConverged, Rule, converge
from conformance.http import Request
from conformance.targets.base import AddressTarget as Address


class Server:
    """A loopback TCP server that counts connections; it answers 200, or never answers."""

    def __init__(self, answer: bool):
        self.answer, self.connections = answer, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.held.append(conn)
            if self.answer:
                threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        buffer = b""
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            buffer += data
            while b"\r\n\r\n" in buffer:
                _, buffer = buffer.split(b"\r\n\r\n", 1)
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

    def close(self):
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def silent():
    server = Server(answer=False)
    yield server
    server.close()


@pytest.fixture
def answering():
    server = Server(answer=True)
    yield server
    server.close()


def test_a_gateway_that_never_answers_costs_one_timeout(silent):
    target = Address(silent.url, request_timeout=0.5)
    start = time.monotonic()
    response = target.send(Request())
    assert response.status == 0 and "Timeout" in (response.error or "")
    assert time.monotonic() - start < 5
    target.close_transport()


def test_an_expectation_against_a_silent_gateway_fails_instead_of_hanging(silent):
    target = Address(silent.url, request_timeout=0.3)
    start = time.monotonic()
    with pytest.raises(NotConverged, match="no response"):
        converge(target.send, Request(), lambda r: None if r.status == 200 else "not 200", Rule(3, timeout=1.0, interval=0.05), "200")
    assert time.monotonic() - start < 10
    target.close_transport()


def test_requests_reuse_one_connection(answering):
    target = Address(answering.url, request_timeout=5)
    for _ in range(5):
        assert target.send(Request()).status == 200
    assert answering.connections == 1
    target.close_transport()
