"""The kubernetes target on a cluster of our own: a real kube-apiserver and etcd (envtest),
go-httpbin as the backend, and a gateway watching the API server.

Nothing here reaches into the gateway: it is started as a program with a kubeconfig, and
the suite then talks to the cluster and the gateway exactly as it would to any other.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ..controlplane import ControlPlane, ControlPlaneError, build_script, find_assets
from ..processes import Program, answers, free_port, host_address, stop_all
from ..profiles import REFERENCE_FEATURES
from ..provenance import suite_version
from ..waiting import TIMEOUTS
from .kubernetes import KubernetesTarget

Progress = Callable[[str], None]


def build_assets(progress: Progress) -> Path:
    """KUBEBUILDER_ASSETS, or the assets `clusters/envtest/build.sh` builds or reuses.

    The build takes minutes on a fresh machine and says what it is doing on stderr; each
    line goes to `progress` as it comes, so a run inside pytest or tox is not silent for
    that long, and a warning about the CRDs (a stand-in) is seen.
    """
    if os.environ.get("KUBEBUILDER_ASSETS"):
        return find_assets()
    script = build_script()
    progress(f"envtest assets: running {script.relative_to(script.parents[2])} (about 4 minutes the first time, seconds after)")
    said = []
    with subprocess.Popen(["bash", str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        for line in proc.stderr:  # stdout holds one line, at the end: no deadlock
            said.append(line.rstrip("\n"))
            progress(said[-1])
        printed = [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]
    if proc.returncode != 0 or not printed:
        raise ControlPlaneError(f"{script} failed with exit code {proc.returncode}:\n" + "\n".join(said[-20:]))
    return Path(printed[-1])


def terminal(config: pytest.Config) -> Progress:
    """Write a line to the terminal at once, even while pytest captures output (a fixture's set-up)."""

    def write(line: str) -> None:
        # Looked up when used: the terminal reporter registers after this plugin configures.
        capture = config.pluginmanager.getplugin("capturemanager")
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if reporter is None:
            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
            reporter.write_line(line)

    return write


def read_crd_sources(crds: Path | None) -> dict[str, str]:
    """`key: text` lines of `<crds>/SOURCES`; CRD files found without one are marked as such."""
    sources: dict[str, str] = {}
    if crds is None:
        return sources
    path = Path(crds) / "SOURCES"
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, text = line.partition(": ")
            if sep:
                sources[key.strip()] = text.strip()
    if "agentgateway" not in sources and any(Path(crds).glob("*agentgateway.dev*.yaml")):
        sources["agentgateway"] = f"unknown origin: {crds} has no SOURCES entry for it"
    return sources


class EnvtestTarget(KubernetesTarget):
    name = "kubernetes (envtest)"
    not_parallel = ""  # every worker starts its own API server, etcd and gateway
    # A worker does not need names of its own on its own API server, but with them it applies
    # what it would apply to a cluster shared with the others: a -n run proves that every
    # scenario's objects follow the worker's names (one left in a page's namespace is
    # refused, that namespace not existing on the worker's cluster). The API server is not
    # shared because the reference gateway cannot share one with another: as the controller
    # of its GatewayClass it writes the status of every AgentgatewayPolicy it sees, and a
    # policy it refuses stops it serving; two would overwrite each other's status and stop
    # each other's traffic. One gateway serving every worker's Gateway would not do either:
    # it routes each request to the first listener whose hostname matches, whichever Gateway's.
    worker_names = True

    def __init__(self, gateway_command: list[str], supported: frozenset[str], timeout: float = TIMEOUTS.change,
                 progress: Progress | None = None):
        super().__init__("", "", supported, install=True, timeout=timeout)
        self.gateway_command = gateway_command
        self.progress: Progress = progress or (lambda line: print(line, file=sys.stderr, flush=True))
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.control_plane = ControlPlane()
        self.programs: list[Program] = []
        self.crd_sources: dict[str, str] = {}
        self.provisional_features: dict[str, str] = {}

    @classmethod
    def from_options(cls, config: pytest.Config) -> EnvtestTarget:
        command = config.getoption("reference_command")
        return cls(shlex.split(command) if command else [sys.executable, "-m", "reference"],
                   frozenset(REFERENCE_FEATURES), config.getoption("convergence_timeout"), terminal(config))

    def start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="agw-envtest-target-")
        self.workdir = Path(self._tmp.name)
        try:
            self.control_plane = ControlPlane(assets=build_assets(self.progress))
            self.control_plane.start()
            self.kubeconfig = str(self.control_plane.kubeconfig)
            self._note_crds(self.control_plane.crds_dir)
            backend_ip = host_address()
            httpbin_port, gw_port, admin_port = free_port(backend_ip), free_port(), free_port()
            httpbin = Program("go-httpbin", [str(self.control_plane.assets / "go-httpbin"), "-host", backend_ip,
                                             "-port", str(httpbin_port), "-log-level", "WARN"], self.workdir)
            self.programs.append(httpbin)
            httpbin.wait_until(lambda: answers(f"http://{backend_ip}:{httpbin_port}/status/200"), self.timeout, "ready")
            self.backend = f"{backend_ip}:{httpbin_port}"
            gateway = Program("gateway", [*self.gateway_command, "serve", "--kubeconfig", self.kubeconfig,
                                          "--listen", f"127.0.0.1:{gw_port}", "--admin", f"127.0.0.1:{admin_port}",
                                          "--gateway-class", self.deployment.gateway_class],
                              self.workdir, {**os.environ, "PYTHONUNBUFFERED": "1"})
            self.programs.append(gateway)
            gateway.wait_until(lambda: answers(f"http://127.0.0.1:{admin_port}/healthz/ready"), self.timeout, "ready")
            self.address = f"http://127.0.0.1:{gw_port}"
            super().start()
        except BaseException:
            self.stop()
            raise

    def preflight(self) -> None:
        """Nothing to reach yet: this target starts its own API server and gateway."""

    def versions(self) -> dict[str, str]:
        return {**self.gateway_versions(), "kube-apiserver": self.apiserver_version()}

    def gateway_versions(self) -> dict[str, str]:
        return {"reference gateway": suite_version()}

    def apiserver_version(self) -> str:
        try:
            with self.control_plane.http_client(timeout=TIMEOUTS.api_request) as client:
                return str(client.get("/version").json().get("gitVersion", "unknown"))
        except Exception as exc:  # noqa: BLE001 -- a report line, never a reason to fail the run
            return f"unknown ({type(exc).__name__})"

    def _note_crds(self, crds: Path | None) -> None:
        """Record where each set of CRDs came from (build.sh writes crds/SOURCES).

        Validation checked against this project's stand-in AgentgatewayPolicy CRD says
        something about the stand-in, not about the real CRD: such a run reports the
        feature as provisional instead of conformant.
        """
        sources = read_crd_sources(crds)
        self.crd_sources = sources
        agw = sources.get("agentgateway", "unknown origin")
        if not agw.startswith("real"):
            self.provisional_features = {"ManifestValidation": f"checked against a CRD that is not the real one ({agw})"}

    def stop(self) -> None:
        try:
            if self.client is not None:
                super().stop()
        finally:
            try:
                stop_all(self.programs)
            finally:
                self.control_plane.stop()
                if self._tmp is not None:
                    self._tmp.cleanup()
