"""The kubernetes target on a kind cluster with the real agentgateway, installed the way its
docs install it (`clusters/kind/up.sh`): Gateway API CRDs, the agentgateway CRD and
control-plane Helm charts, and the docs page's "Before you begin".

The cluster is made (or reused, by name) when the run starts and deleted when it ends,
unless `--kind-keep`. kind needs a container engine: without one answering, the run stops
before anything starts, with one line saying what is missing.

Under pytest-xdist (`-n`) the process that runs the workers makes the cluster, once, and
deletes it after the last worker; each worker installs the page's base under names of its
own and reaches its own Gateway through a node port of its own (kind_workers.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from ..controlplane import condition_true
from ..waiting import POLL, TIMEOUTS, wait_until
from . import base_route
from .agentgateway.envtest import AGENTGATEWAY_FEATURES
from .base import ObjectRef, Refused, documents
from .kind_workers import (KIND_DIR, PortMapping, made_before_mapping, missing_mappings, node_port_taken, parse_engine_ports,
                           port_for, too_many_workers, worker_base, worker_ports)
from .kubernetes import KubernetesTarget

GATEWAY_ADDRESS = "http://127.0.0.1:30080"  # kind-config.yaml's port mapping to base.yaml's NodePort
TOOLS = ("kubectl", "helm", "curl")
_ENGINE_WAIT = 10.0
# How long a worker's base may take to serve: a Gateway's first proxy pod and an httpbin pod
# to start, as long as up.sh gives the page's (kubectl wait --timeout=180s).
_BASE_READY = 180.0


def read_env(path: Path) -> dict[str, str]:
    """KEY=value lines of a versions.env file (quotes stripped, comments skipped)."""
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and not key.startswith("#"):
            out[key] = value.strip('"')
    return out


def container_engine() -> tuple[str | None, list[str]]:
    """The engine kind would use, if one answers; else None and why each candidate failed."""
    wanted = os.environ.get("KIND_EXPERIMENTAL_PROVIDER")
    problems = []
    for engine in (wanted,) if wanted else ("docker", "podman", "nerdctl"):
        path = shutil.which(engine)
        if path is None:
            problems.append(f"{engine} is not installed")
            continue
        try:
            done = subprocess.run([path, "info"], capture_output=True, text=True, timeout=_ENGINE_WAIT)
        except subprocess.TimeoutExpired:
            problems.append(f"{engine} is installed but did not answer within {_ENGINE_WAIT:g} s")
            continue
        if done.returncode == 0:
            return engine, []
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        problems.append(f"{engine} is installed but its engine does not answer ({lines[-1] if lines else f'exit {done.returncode}'})")
    return None, problems


class KindTarget(KubernetesTarget):
    name = "kind"
    # Under pytest-xdist the workers share the cluster (its control plane and controller),
    # made once by the process that runs them. Each applies the page's base under names of
    # its own, so the controller gives each worker's Gateway proxy pods of its own, reached
    # through a node port of the worker's own (kind_workers.py).
    not_parallel = ""
    worker_names = True
    shares = True

    def __init__(self, cluster: str, version: str, keep: bool, supported: frozenset[str], timeout: float = TIMEOUTS.change,
                 engine: str = "docker", workers: int = 0):
        super().__init__("", GATEWAY_ADDRESS, supported, install=False, timeout=timeout)
        self.cluster, self.version, self.keep = cluster, version, keep
        self.engine, self.workers = engine, workers
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._made = False
        self.shared: dict | None = None  # on a worker: the cluster the process running the workers made
        self.port: PortMapping | None = None  # on a worker: its Gateway's node port and address

    @classmethod
    def from_options(cls, config: pytest.Config) -> KindTarget:
        if not (KIND_DIR / "up.sh").exists():
            raise pytest.UsageError(f"--target=kind needs the suite's cluster scripts, and {KIND_DIR / 'up.sh'} does not exist: "
                                   "reinstall the suite from a wheel built by `python -m build`, or run it from a checkout")
        workers = 0 if hasattr(config, "workerinput") else config.getoption("numprocesses", None) or 0
        refusal = too_many_workers(workers, worker_ports())
        if refusal is not None:
            raise pytest.UsageError(refusal)
        engine, problems = container_engine()
        if engine is None:
            raise pytest.UsageError(
                f"--target=kind needs a running container engine for kind, and none answers: {'; '.join(problems)}. "
                "Start Docker or Podman, or run against a cluster you already have with --target=kubernetes"
            )
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            raise pytest.UsageError(f"--target=kind needs {', '.join(missing)} on PATH to install agentgateway (clusters/kind/up.sh)")
        pins = read_env(KIND_DIR.parent / "agentgateway" / "versions.env")
        version = config.getoption("agentgateway_version") or pins["AGW_UPSTREAM_TAG"]
        return cls(config.getoption("kind_cluster"), version, config.getoption("kind_keep"),
                   AGENTGATEWAY_FEATURES, config.getoption("convergence_timeout"), engine, workers)

    def preflight(self) -> None:
        """Nothing to reach yet: this target makes its own cluster."""

    def _script(self, name: str, *args: str) -> None:
        env = {**os.environ, "KIND_CLUSTER_NAME": self.cluster, "AGW_CHART_VERSION": self.version}
        done = subprocess.run([str(KIND_DIR / name), *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"clusters/kind/{name} failed (exit {done.returncode}):\n{tail}")

    def product_version(self) -> str | None:
        return self.version  # the agentgateway chart version up.sh installs

    def versions(self) -> dict[str, str]:
        """What up.sh installs: a released chart, or (run-local.sh) a source tree's charts and images built here."""
        env = os.environ
        found = {"kind node image": env.get("KIND_NODE_IMAGE") or read_env(KIND_DIR / "versions.env")["KIND_NODE_IMAGE"]}
        if env.get("AGW_CHART_DIR"):
            found["agentgateway charts"] = f"the source tree's, {self.version} tree (AGW_CHART_DIR)"
        else:
            found["agentgateway charts"] = f"{self.version} (oci://cr.agentgateway.dev/charts)"
        if env.get("AGW_IMAGE_TAG"):
            registry, tag = env.get("AGW_IMAGE_REGISTRY", ""), env["AGW_IMAGE_TAG"]
            found["agentgateway images"] = f"{registry}/controller and {registry}/agentgateway:{tag}, built here"
        return found

    def start(self) -> None:
        """The cluster and its page's base (up.sh), or on a pytest-xdist worker only the API
        client of the cluster the process running the workers made."""
        if self.shared is None:
            self._bring_up()
        super().start()

    def _bring_up(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="agw-kind-")
        self.kubeconfig = str(Path(self._tmp.name) / "kubeconfig")
        self._made = True
        self._script("up.sh", self.kubeconfig)

    # --- pytest-xdist workers: one cluster, a Gateway and a node port each ----------------

    def share(self) -> dict:
        wanted = worker_ports()[:self.workers]
        # A kept cluster made before kind-config.yaml mapped the workers' ports is found
        # here, in seconds, not after up.sh and a base that never answers.
        self._check_mappings(wanted, made=False)
        self._bring_up()
        self._check_mappings(wanted, made=True)
        return {"kubeconfig": self.kubeconfig}

    def share_with(self, worker: str) -> dict:
        port = port_for(worker, worker_ports())
        return {"nodePort": port.node_port, "host": port.host, "hostPort": port.host_port}

    def attach(self, shared: dict) -> None:
        self.shared = shared
        self.kubeconfig = shared["kubeconfig"]
        self.port = PortMapping(shared["nodePort"], shared["host"], shared["hostPort"])
        self.address = self.port.address

    def unshare(self) -> None:
        self.stop()

    def _check_mappings(self, wanted: list[PortMapping], *, made: bool) -> None:
        """Raise if the cluster's node does not publish the workers' ports; a cluster not made
        yet (`made` False) passes, as up.sh will make it with them."""
        node = f"{self.cluster}-control-plane"  # kind's name for the node of a one-node cluster
        done = subprocess.run([self.engine, "port", node], capture_output=True, text=True, timeout=_ENGINE_WAIT)
        if done.returncode != 0:
            if not made:
                return
            raise RuntimeError(f"`{self.engine} port {node}` failed: {done.stderr.strip() or done.returncode}")
        missing = missing_mappings(parse_engine_ports(done.stdout), wanted)
        if missing:
            raise RuntimeError(made_before_mapping(self.cluster, missing))

    def install_base(self) -> None:
        """On a worker, the page's base under its names (up.sh installed the page's own for a
        serial run), and a wait until its own Gateway serves it at its own address."""
        if self.shared is None or self.port is None:
            return
        pins = read_env(KIND_DIR.parent / "envtest" / "versions.env")
        for doc in documents(worker_base(self.deployment, self.port, pins["GO_HTTPBIN_VERSION"])):
            try:
                self._base += self.apply(yaml.safe_dump(doc))  # one by one: what went in is deleted at the end
            except Refused as exc:
                if "already allocated" in exc.message:  # the API server's word for a node port another Service holds
                    raise RuntimeError(node_port_taken(self.port, exc.message)) from None
                raise
        gateway = ObjectRef("Gateway", self.deployment.gateway_namespace, self.deployment.gateway_name)
        wait_until(lambda: condition_true(self.get(gateway), "Programmed"), _BASE_READY,
                   lambda: f"{gateway} was not Programmed within {_BASE_READY:g} s; its status: {(self.get(gateway) or {}).get('status')}",
                   interval=POLL.control_plane, error=RuntimeError)
        last: list[str] = []

        def serves() -> bool:
            try:
                base_route.check(self.address, TIMEOUTS.api_request, self.deployment)
            except base_route.NotTheBaseRoute as exc:
                last[:] = [str(exc)]
                return False
            return True

        wait_until(serves, _BASE_READY, lambda: f"{gateway} did not serve the base route within {_BASE_READY:g} s: {last[-1] if last else ''}",
                   interval=POLL.control_plane, error=RuntimeError)

    def stop(self) -> None:
        try:
            if self.client is not None:
                super().stop()
        finally:
            try:
                if self._made and not self.keep:
                    self._script("down.sh")
            finally:
                if self._tmp is not None:
                    self._tmp.cleanup()
