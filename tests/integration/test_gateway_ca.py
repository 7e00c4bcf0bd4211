"""An https gateway address verified with the CA of --gateway-ca: a real TLS server on
loopback, its certificate signed by a CA made for the test with the openssl CLI."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import OFFLINE_KUBECONFIG, ROOT

from conformance.deployment import Deployment
from conformance.http import Request, Response
from conformance.targets import base_route
from conformance.targets.base import AddressTarget


def _openssl(*args: str, cwd) -> None:
    program = shutil.which("openssl")
    if program is None:
        pytest.fail("openssl is not installed (it makes the test's CA): apt-get install openssl")
    subprocess.run([program, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
             "-subj", f"/CN={name}", cwd=directory)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA, a server certificate for 127.0.0.1 it signed, and another CA that signed nothing."""
    directory = tmp_path_factory.mktemp("pki")
    _ca(directory, "ca")
    _ca(directory, "other-ca")
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=gateway", cwd=directory)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
             "-days", "2", "-extfile", "san.ext", cwd=directory)
    return directory


class _Echo(BaseHTTPRequestHandler):
    """httpbin's /headers: the request's headers back as JSON."""

    def do_GET(self) -> None:  # noqa: N802 -- http.server's name
        body = json.dumps({"headers": {k: v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def https_gateway(pki):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki / "server.pem", pki / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _send(address: str, ca) -> Response:
    target = AddressTarget(address, request_timeout=5, gateway_ca=str(ca) if ca else None)
    try:
        return target.send(Request(method="GET", path="/headers", host="api.vendor.test"))
    finally:
        target.close_transport()


def test_requests_reach_an_https_gateway_verified_by_the_given_ca(https_gateway, pki):
    response = _send(https_gateway, pki / "ca.pem")
    assert response.status == 200, response.error
    assert response.upstream_header("Host") == ["api.vendor.test"]


@pytest.mark.parametrize("ca", [None, "other-ca.pem"])
def test_a_gateway_whose_certificate_the_ca_did_not_sign_gets_no_request(https_gateway, pki, ca):
    response = _send(https_gateway, pki / ca if ca else None)
    assert response.status == 0 and "CERTIFICATE_VERIFY_FAILED" in response.error


def test_the_base_route_check_uses_the_ca_and_the_deployments_host(https_gateway, pki):
    deployment = Deployment(backend_host="api.vendor.test")
    base_route.check(https_gateway, timeout=5, deployment=deployment, gateway_ca=str(pki / "ca.pem"))
    with pytest.raises(base_route.NotTheBaseRoute, match="CERTIFICATE_VERIFY_FAILED"):
        base_route.check(https_gateway, timeout=5, deployment=deployment)


def _usage(tmp_path, *args: str) -> subprocess.CompletedProcess:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(OFFLINE_KUBECONFIG)
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", "--target=kubernetes",
                           "--kubeconfig", str(kubeconfig), *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_the_ca_option_is_refused_for_a_plain_http_address_or_a_file_that_is_no_ca(tmp_path, pki):
    done = _usage(tmp_path, "--gateway-address", "http://127.0.0.1:1", "--gateway-ca", str(pki / "ca.pem"))
    assert done.returncode == 4 and "--gateway-ca verifies an https address" in done.stderr
    (tmp_path / "not-a-ca.pem").write_text("hello\n")
    done = _usage(tmp_path, "--gateway-address", "https://127.0.0.1:1", "--gateway-ca", str(tmp_path / "not-a-ca.pem"))
    assert done.returncode == 4 and "cannot be used: not a PEM file of CA certificates" in done.stderr
