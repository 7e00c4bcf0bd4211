"""What a vendor meets first: a run that cannot start stops with one message saying what to
fix and pytest's usage-error exit code (4: the run never started), not a failure per
scenario. Each case runs the suite as a vendor would, in a fresh process.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading

import pytest
from helpers import ROOT

from conformance.controlplane import ControlPlane

NEVER_STARTED = 4  # pytest.ExitCode.USAGE_ERROR


def run_suite(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=300)


def assert_never_started(done: subprocess.CompletedProcess, *phrases: str) -> str:
    assert done.returncode == NEVER_STARTED, done.stdout[-2000:] + done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR")]
    assert len(errors) == 1, done.stderr
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    assert "passed" not in done.stdout and "failed" not in done.stdout and "Traceback" not in done.stderr
    return errors[0]


def test_kind_without_any_container_engine(tmp_path):
    # A PATH with no engine on it: what a machine without Docker or Podman looks like.
    done = run_suite("--target=kind", env={"PATH": str(tmp_path), "KIND_EXPERIMENTAL_PROVIDER": ""})
    assert_never_started(done, "--target=kind needs a running container engine", "docker is not installed",
                         "podman is not installed", "Start Docker or Podman")


def test_kind_with_more_workers_than_mapped_node_ports():
    # Each worker's Gateway is reached through a node port of its own that kind-config.yaml maps.
    done = run_suite("--target=kind", "-n", "9")
    assert_never_started(done, "-n 9 asks for more workers than --target=kind can reach", "maps 8 (30081-30088)")


def test_kind_with_a_docker_whose_daemon_does_not_answer(tmp_path):
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine: the case without any engine covers it")
    (tmp_path / "docker").symlink_to(docker)
    done = run_suite("--target=kind", env={"PATH": str(tmp_path), "DOCKER_HOST": f"unix://{tmp_path}/no-such.sock",
                                           "KIND_EXPERIMENTAL_PROVIDER": ""})
    assert_never_started(done, "docker is installed but its engine does not answer")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cluster_without_the_crds(tmp_path):
    empty = tmp_path / "no-crds"
    empty.mkdir()
    with ControlPlane(crds=empty) as cp:
        done = run_suite("--target=kubernetes", "--kubeconfig", str(cp.kubeconfig), "--gateway-address", f"http://127.0.0.1:{free_port()}")
    assert_never_started(done, "does not serve Gateway (gateway.networking.k8s.io/v1), HTTPRoute",
                         "AgentgatewayPolicy (agentgateway.dev/v1alpha1)", "install the Gateway API standard CRDs and the agentgateway CRDs")


def test_cluster_with_crds_but_no_gateway_listening():
    with ControlPlane() as cp:
        port = free_port()
        done = run_suite("--target=kubernetes", "--kubeconfig", str(cp.kubeconfig), "--gateway-address", f"http://127.0.0.1:{port}")
    assert_never_started(done, f"nothing accepts connections at --gateway-address http://127.0.0.1:{port}")


def test_cluster_whose_gateway_address_is_another_server():
    # Something answers HTTP there, but not the docs page's base route: each scenario would
    # wait out its convergence timeout in its Background (about 50 minutes for the suite).
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with ControlPlane() as cp:
            done = run_suite("--target=kubernetes", "--kubeconfig", str(cp.kubeconfig), "--gateway-address", address,
                             "-k", "APIKEY-DOC-001", "--convergence-timeout", "2")
    finally:
        server.shutdown()
        server.server_close()
    assert_never_started(done, f"--gateway-address {address} does not serve the docs page's base route",
                         "status 404", "'not found'")


def test_kubeconfig_that_does_not_exist(tmp_path):
    done = run_suite("--target=kubernetes", "--kubeconfig", str(tmp_path / "missing"), "--gateway-address", "http://127.0.0.1:1")
    assert_never_started(done, f"--kubeconfig {tmp_path / 'missing'}: cannot be used")


@pytest.mark.parametrize(("content", "said"), [
    ("hello, I am not a kubeconfig\n", "not a kubeconfig: the file is plain text"),
    ("- a\n- list\n", "not a kubeconfig: the file is a YAML list"),
    ("apiVersion: v1\nkind: Config\n", "not a kubeconfig: it has no clusters, no contexts, no users"),
    ("a: [unclosed\n", "not YAML ("),
])
def test_kubeconfig_that_is_not_one(tmp_path, content, said):
    path = tmp_path / "kubeconfig"
    path.write_text(content)
    line = assert_never_started(run_suite("--target=kubernetes", "--kubeconfig", str(path), "--gateway-address", "http://127.0.0.1:1"),
                                f"--kubeconfig {path}: cannot be used: {said}")
    assert "object has no attribute" not in line and "KeyError" not in line
