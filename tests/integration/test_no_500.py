"""No Authorization header value, however odd, may make the reference gateway answer 5xx.

Requests are written byte for byte on a raw socket, so values that HTTP clients refuse to
send (control bytes, non-UTF-8, huge values) reach the server as a hostile client sends them.
"""

import socket

import pytest

from conformance import Request
from conformance.processes import free_port
from conformance.targets.reference import ReferenceTarget
from helpers import secret, strict_policy

@pytest.fixture(scope="module")
def gateway():
    with ReferenceTarget(frozenset()).running() as target:
        target.apply(secret({"api-key": "the-key"}) + "---" + strict_policy())
        yield target


def raw_status(url: str, header_lines: list[bytes]) -> int:
    host, port = url.removeprefix("http://").split(":")
    request = b"GET /headers HTTP/1.1\r\nHost: www.example.com\r\n" + b"".join(h + b"\r\n" for h in header_lines) + b"Connection: close\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 "), f"no HTTP status line: {data[:80]!r}"
    return int(data.split(b" ", 2)[1])


ODD = {
    "non-UTF-8 bytes": [b"Authorization: Bearer \xff\xfe\xfd"],
    "UTF-8 non-ASCII": [b"Authorization: Bearer cl\xc3\xa9"],
    "NUL byte": [b"Authorization: Bearer a\x00b"],
    "DEL byte": [b"Authorization: Bearer a\x7fb"],
    "tab inside": [b"Authorization: Bearer a\tb"],
    "empty value": [b"Authorization:"],
    "prefix only": [b"Authorization: Bearer"],
    "prefix and space": [b"Authorization: Bearer "],
    "many spaces": [b"Authorization: Bearer " + b" " * 200],
    "two headers, good first": [b"Authorization: Bearer the-key", b"Authorization: Bearer wrong"],
    "two headers, bad first": [b"Authorization: Bearer wrong", b"Authorization: Bearer the-key"],
    "8 KiB value": [b"Authorization: Bearer " + b"k" * 8192],
    "64 KiB value": [b"Authorization: Bearer " + b"k" * 65536],
    "obsolete line folding": [b"Authorization: Bearer", b" the-key"],
    "no colon": [b"Authorization Bearer the-key"],
    "percent escapes": [b"Authorization: Bearer %00%ff"],
}


@pytest.mark.parametrize("case", ODD)
def test_odd_authorization_values_never_get_a_5xx(gateway, case):
    status = raw_status(gateway.gateway_url, ODD[case])
    assert status < 500, f"{case}: status {status}"


def test_the_first_of_two_headers_decides(gateway):
    assert raw_status(gateway.gateway_url, ODD["two headers, good first"]) == 200
    assert raw_status(gateway.gateway_url, ODD["two headers, bad first"]) == 401


def test_an_unreachable_backend_is_a_503_not_a_hang(gateway):
    closed = free_port()  # nothing listens there
    gateway.apply(f"""
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: dead, namespace: httpbin}}
spec:
  parentRefs: [{{name: agentgateway-proxy, namespace: agentgateway-system}}]
  hostnames: [dead.example.com]
  rules: [{{backendRefs: [{{name: dead, port: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: dead, namespace: httpbin}}
spec: {{ports: [{{name: http, port: 80}}]}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: dead-1, namespace: httpbin, labels: {{kubernetes.io/service-name: dead}}}}
addressType: IPv4
ports: [{{name: http, port: {closed}}}]
endpoints: [{{addresses: [127.0.0.1]}}]
""")
    response = gateway.send(Request(host="dead.example.com").with_header("Authorization", "Bearer the-key"))
    assert response.status == 503, response.describe()
