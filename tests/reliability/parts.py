"""What the reliability tests share: a backend that records what reaches it (and can
misbehave on demand), the reference gateway started at its most verbose log level, and
the manifests that put a Strict policy in front of both.

The backend runs in the test process, on loopback, so a test can ask it afterwards exactly
which requests got through the gateway, something an echo backend's answers cannot tell
about a request whose answer was lost.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from conformance.targets.reference import ReferenceTarget

HOST = "recorded.example.com"
VERBOSE = f"{sys.executable} -m reference --log-level debug"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args) -> None:  # noqa: A002 -- the base class's name
        pass  # quiet: the test reads what it needs from `seen`

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        self.server.record({"method": self.command, "path": path, "query": query, "headers": list(self.headers.items()), "body": body})
        if path.startswith("/slow/"):
            time.sleep(float(path.rsplit("/", 1)[1]))
        if path == "/reset":
            # Headers and part of a long body, then a TCP reset: the connection breaks mid-response.
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100000\r\n\r\n" + b"partial " * 64)
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
            return
        payload = json.dumps({"path": path, "query": query, "headers": self.server.last_headers()}).encode()
        try:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the gateway gave up waiting (a slow answer): expected

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _any


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address):
        super().__init__(address, _Handler)
        self.seen: list[dict] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def record(self, request: dict) -> None:
        self._local.headers = request["headers"]
        with self._lock:
            self.seen.append(request)

    def last_headers(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, value in self._local.headers:
            out.setdefault(name.lower(), []).append(value)
        return out


class Backend:
    """A recording HTTP/1.1 backend on a free loopback port.

    Any path answers 200 with JSON of the headers and query it received; `/slow/<seconds>`
    answers after that long; `/reset` breaks the connection in the middle of its body.
    """

    def __init__(self):
        self._server = _Server(("127.0.0.1", 0))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="recording-backend", daemon=True)
        self._thread.start()

    @property
    def seen(self) -> list[dict]:
        return list(self._server.seen)

    def clear(self) -> None:
        self._server.seen.clear()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def route_to(backend_port: int, host: str = HOST, name: str = "recorded") -> str:
    """An HTTPRoute for `host` to a Service whose one endpoint is the backend's port."""
    return f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}, namespace: httpbin}}
spec:
  parentRefs: [{{name: agentgateway-proxy, namespace: agentgateway-system}}]
  hostnames: [{host}]
  rules: [{{backendRefs: [{{name: {name}, port: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: httpbin}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: {name}-1, namespace: httpbin, labels: {{kubernetes.io/service-name: {name}}}}}
addressType: IPv4
ports: [{{name: http, port: {backend_port}}}]
endpoints: [{{addresses: [127.0.0.1]}}]
"""


@contextlib.contextmanager
def verbose_gateway(workdir: Path, *serve_flags: str) -> Iterator[ReferenceTarget]:
    """The reference gateway at debug level, its logs kept in `workdir` for the secret scan."""
    target = ReferenceTarget(frozenset(), command=VERBOSE, workdir=workdir, serve_flags=serve_flags)
    with target.running():
        yield target


def admin_texts(target: ReferenceTarget) -> dict[str, str]:
    """Everything the admin address shows: the config dump, policy status, key digests, readiness."""
    paths = ("/config_dump", "/status/policies", "/status/keys", "/healthz/ready")
    return {path: httpx.get(target._admin + path, timeout=10).text for path in paths}


def leaks(texts: dict[str, str | bytes], keys: set[str]) -> list[str]:
    """Which keys appear in which text (by name of the text; never the key itself, only its length)."""
    found = []
    for where, text in texts.items():
        data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
        for key in keys:
            if key.encode() in data:
                found.append(f"a configured key ({len(key)} characters) appears in {where}")
    return found


def log_texts(workdir: Path) -> dict[str, bytes]:
    return {str(p.name): p.read_bytes() for p in sorted(workdir.glob("*.log"))}
