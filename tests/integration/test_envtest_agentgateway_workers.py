"""`--envtest --envtest-gateway=agentgateway -n 2`: the workers share one API server and one
real controller, started before them; each worker's Gateway gets a proxy of its own, on a
listener port of its own, and the run passes as a serial one does.

Needs an agentgateway source tree (AGW_AGENTGATEWAY_SRC) whose controller and proxy are
built, or can be (`tox -e agentgateway-envtest` builds them); skipped without one. The
controller binds fixed ports, so these tests run one at a time and nothing else may run a
controller on this machine meanwhile.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml
from helpers import ROOT

from conformance.targets.agentgateway.envtest import CONTROLLER_FIXED_PORTS

pytestmark = [pytest.mark.needs_envtest, pytest.mark.needs_proxy,
              pytest.mark.skipif(not os.environ.get("AGW_AGENTGATEWAY_SRC"), reason="needs AGW_AGENTGATEWAY_SRC, an agentgateway source tree")]

# The docs page's policy and Secret, a key rotated, a policy on the Gateway, policy status.
SCENARIOS = "APIKEY-DOC-001 or APIKEY-CORE-003 or APIKEY-CORE-033 or APIKEY-EXT-041"
_TARGET = ["--target=kubernetes", "--envtest", "--envtest-gateway=agentgateway"]


def run(directory, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pytest", "features/", "-p", "no:cacheprovider", *_TARGET,
                           "--report-dir", str(directory), *args], cwd=ROOT, capture_output=True, text=True, timeout=1200)


def test_workers_share_one_controller_and_each_has_a_proxy_of_its_own(tmp_path):
    done = run(tmp_path, "-m", SCENARIOS, "-n", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    gateways: dict[str, set[tuple[str, str]]] = {}
    for case in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase"):
        for prop in case.iter("property"):
            if prop.get("name") != "manifest":
                continue
            text = prop.get("value", "")
            # A worker's Gateway and its listener port, where a scenario's manifest names them.
            for worker in re.findall(r"namespace: agentgateway-system-(gw\d+)", text):
                ports = re.findall(r"(?m)^\s*port: (\d+)$", text)
                gateways.setdefault(worker, set()).update((case.get("name"), p) for p in ports if p != "8000")
    assert set(gateways) == {"gw0", "gw1"}, gateways
    ports = {worker: {port for _, port in seen} for worker, seen in gateways.items()}
    # Each worker's listeners are on one port of its own, never the page's 80, which a second
    # proxy on this machine could not also bind.
    assert all(len(p) <= 1 for p in ports.values()), ports
    assert not (ports["gw0"] & ports["gw1"]) and "80" not in ports["gw0"] | ports["gw1"], ports
    # The report says so: each worker's port, in place of the page's.
    report = yaml.safe_load((tmp_path / "conformance-report.yaml").read_text())
    given = report["run"]["target"]["deployment"]["workerListenerPorts"]
    assert set(given) == {"gw0", "gw1"}, given
    assert all(seen <= {str(given[worker])} for worker, seen in ports.items()), (given, ports)


def test_shared_parts_that_cannot_start_are_reported_once(tmp_path):
    # A controller port already taken: the shared start fails before any worker starts.
    port = CONTROLLER_FIXED_PORTS["health"]
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        sock.listen()
        done = run(tmp_path, "-m", SCENARIOS, "-n", "2")
    out = done.stdout + done.stderr
    assert done.returncode == pytest.ExitCode.INTERNAL_ERROR, out[-3000:]
    assert "target that every worker shares could not be set up, so no scenario can run" in out
    assert f"health {port}" in out and "created: 2/2 workers" not in out, out[-3000:]
