"""The kubernetes target on a kind cluster with the real agentgateway, installed the way its
docs install it (`clusters/kind/up.sh`): Gateway API CRDs, the agentgateway CRD and
control-plane Helm charts, and the docs page's "Before you begin".

The cluster is made (or reused, by name) when the run starts and deleted when it ends,
unless `--kind-keep`. kind needs a container engine: without one answering, the run stops
before anything starts, with one line saying what is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ..locations import CLUSTERS
from ..waiting import TIMEOUTS
from .agentgateway.envtest import AGENTGATEWAY_FEATURES
from .kubernetes import KubernetesTarget

KIND_DIR = CLUSTERS / "kind"
GATEWAY_ADDRESS = "http://127.0.0.1:30080"  # kind-config.yaml's port mapping to base.yaml's NodePort
TOOLS = ("kubectl", "helm", "curl")
_ENGINE_WAIT = 10.0


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

    def __init__(self, cluster: str, version: str, keep: bool, supported: frozenset[str], timeout: float = TIMEOUTS.change):
        super().__init__("", GATEWAY_ADDRESS, supported, install=False, timeout=timeout)
        self.cluster, self.version, self.keep = cluster, version, keep
        self._tmp: tempfile.TemporaryDirectory | None = None
        self._made = False

    @classmethod
    def from_options(cls, config: pytest.Config) -> KindTarget:
        if not (KIND_DIR / "up.sh").exists():
            raise pytest.UsageError(f"--target=kind needs the suite's cluster scripts, and {KIND_DIR / 'up.sh'} does not exist: "
                                   "reinstall the suite from a wheel built by `python -m build`, or run it from a checkout")
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
                   AGENTGATEWAY_FEATURES, config.getoption("convergence_timeout"))

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
        self._tmp = tempfile.TemporaryDirectory(prefix="agw-kind-")
        self.kubeconfig = str(Path(self._tmp.name) / "kubeconfig")
        self._made = True
        self._script("up.sh", self.kubeconfig)
        super().start()

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
