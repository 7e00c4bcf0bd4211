"""Bounded resources on the client side of `agw-reference serve`.

A client that starts a request and never finishes its headers (or never sends anything)
is disconnected after the header timeout; beyond the concurrency limit, requests get a 503;
request heads beyond the size limit are refused; an address already in use is one line on
stderr and its own exit code. Everything here runs the real program and talks to it over
raw sockets, byte by byte, as a slow or hostile client would.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.processes import Program, answers, free_port
from reference import cli

HEADER_TIMEOUT = 1.0
EXIT_CANNOT_LISTEN = 3


class Gateway:
    def __init__(self, workdir: Path, *flags: str):
        self.port, self.admin = free_port(), free_port()
        manifests = workdir / "manifests"
        manifests.mkdir(parents=True, exist_ok=True)
        self.program = Program(
            "gateway",
            [sys.executable, "-m", "reference", "serve", "--manifests", str(manifests), "--listen", f"127.0.0.1:{self.port}",
             "--admin", f"127.0.0.1:{self.admin}", *flags],
            workdir,
        )
        self.program.wait_until(lambda: answers(f"http://127.0.0.1:{self.admin}/healthz/ready"), 30, "ready")

    def connect(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return sock


def started(tmp_path_factory, *flags: str):
    gateway = Gateway(tmp_path_factory.mktemp("gateway"), *flags)
    return gateway


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    g = started(tmp_path_factory, "--header-timeout", str(HEADER_TIMEOUT))
    yield g
    g.program.stop()


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    g = started(tmp_path_factory, "--limit-concurrency", "3", "--header-timeout", "20")
    yield g
    g.program.stop()


def closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reading and dropping whatever it sends)."""
    start = time.monotonic()
    try:
        while sock.recv(65536):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def response(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length; (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a full response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split(b" ", 2)[1]), body


REQUEST = b"GET /get HTTP/1.1\r\nHost: www.example.com\r\n\r\n"


def test_a_partial_request_line_is_closed_within_the_header_timeout(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET / HT")
        waited = closed_after(sock)
    assert HEADER_TIMEOUT * 0.8 <= waited <= HEADER_TIMEOUT + 3, waited


def test_a_connection_that_sends_nothing_is_closed_within_the_header_timeout(gateway):
    with gateway.connect() as sock:
        waited = closed_after(sock)
    assert HEADER_TIMEOUT * 0.8 <= waited <= HEADER_TIMEOUT + 3, waited


def test_headers_that_never_end_are_cut_off_even_if_bytes_keep_coming(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: www.example.com\r\n")
        start = time.monotonic()
        with contextlib.suppress(OSError):
            while time.monotonic() - start < HEADER_TIMEOUT + 5:
                sock.sendall(b"X-Slow: 1\r\n")  # a trickle, never the blank line
                time.sleep(0.1)
        waited = time.monotonic() - start
    assert waited <= HEADER_TIMEOUT + 3, waited


def test_a_partial_second_request_on_a_kept_alive_connection_is_closed(gateway):
    with gateway.connect() as sock:
        sock.sendall(REQUEST)
        assert response(sock)[0] == 404  # no routes configured: the gateway itself answers
        sock.sendall(b"GET / HT")
        waited = closed_after(sock)
    assert waited <= HEADER_TIMEOUT + 3, waited


def test_a_kept_alive_connection_may_idle_longer_than_the_header_timeout(gateway):
    with gateway.connect() as sock:
        sock.sendall(REQUEST)
        assert response(sock)[0] == 404
        time.sleep(HEADER_TIMEOUT * 1.5)  # idle between requests: the keep-alive timeout applies
        sock.sendall(REQUEST)
        assert response(sock)[0] == 404


def test_headers_completed_in_time_are_served_even_when_sent_slowly(gateway):
    with gateway.connect() as sock:
        for piece in (b"GET /get HT", b"TP/1.1\r\nHost: www.exa", b"mple.com\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(HEADER_TIMEOUT / 5)
        assert response(sock)[0] == 404


def test_request_heads_beyond_the_size_limit_are_refused(gateway):
    with gateway.connect() as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Big: " + b"x" * 20_000 + b"\r\n\r\n")
        status, _ = response(sock)
    assert status in (400, 431)


def test_beyond_the_concurrency_limit_requests_get_a_503(limited):
    idle = [limited.connect() for _ in range(2)]
    try:
        time.sleep(0.2)
        with limited.connect() as sock:  # the third of 3: served
            sock.sendall(REQUEST)
            assert response(sock)[0] == 404
            with limited.connect() as beyond:  # a fourth, while three are open: refused
                beyond.sendall(REQUEST)
                assert response(beyond)[0] == 503
    finally:
        for sock in idle:
            sock.close()
    time.sleep(0.2)
    with limited.connect() as sock:
        sock.sendall(REQUEST)
        assert response(sock)[0] == 404


def test_the_limits_have_documented_defaults():
    args = cli.parser().parse_args(["serve", "--manifests", ".", "--listen", "127.0.0.1:1"])
    assert (args.header_timeout, args.keep_alive_timeout, args.limit_concurrency, args.max_header_bytes) == (10.0, 30.0, 1000, 16384)
    text = cli.parser()._subparsers._group_actions[0].choices["serve"].format_help()
    for words in ("--header-timeout", "--keep-alive-timeout", "--limit-concurrency", "--max-header-bytes"):
        assert words in text
    assert text.count("default:") >= 4


@pytest.mark.parametrize("which", ["--listen", "--admin", "echo"])
def test_an_address_in_use_is_one_line_on_stderr_and_its_own_exit_code(tmp_path, which):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = f"127.0.0.1:{taken.getsockname()[1]}"
        if which == "echo":
            argv = ["echo", "--listen", busy]
        else:
            addresses = {"--listen": f"127.0.0.1:{free_port()}", "--admin": f"127.0.0.1:{free_port()}"}
            addresses[which] = busy
            argv = ["serve", "--manifests", str(tmp_path), "--listen", addresses["--listen"], "--admin", addresses["--admin"]]
        done = subprocess.run([sys.executable, "-m", "reference", *argv], capture_output=True, text=True, timeout=30)
    assert done.returncode == EXIT_CANNOT_LISTEN, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("agw-reference: ") and busy in lines[0] and "in use" in lines[0], lines[0]
