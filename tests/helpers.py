"""What the tests share: requests and manifests for started targets, a stand-in upstream,
the tools the kind checks build or find, and where the real proxy binary is.

Nothing here is skipped quietly: a missing tool fails the test with what to install, and a
missing proxy binary skips only the tests marked `needs_proxy`, saying what to set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import system_tools

from conformance import Request, Rule
from conformance.targets.agentgateway.builds import cached_proxy

ROOT = Path(__file__).resolve().parents[1]
FEATURES = ROOT / "features"
MUTATION = ROOT / "tests" / "mutation"


# --- the reference's config sources, without a gateway --------------------------------

# A kubeconfig for a source that is never started: a server nothing listens on.
OFFLINE_KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def write_manifest(directory: Path, name: str, text: str | bytes) -> None:
    """Write a file a manifest directory watches, its mtime moved on so that a coarse clock still shows the change."""
    path = directory / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))


# --- traffic through a started target -----------------------------------------------

RULE = Rule(threshold=3, timeout=30, interval=0.1)
NO_KEY = Request(path="/headers")


def with_key(key: str, request: Request = NO_KEY) -> Request:
    return request.with_header("Authorization", f"Bearer {key}")


def status(code: int):
    """A convergence check: the response has this status."""
    return lambda r: None if r.status == code else f"status {code}, got {r.error or r.status}"


def secret(keys: dict[str, str], name: str = "apikey") -> str:
    data = "\n".join(f"  {entry}: {json.dumps(value)}" for entry, value in keys.items())
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: agentgateway-system}}
stringData:{" {}" if not keys else ""}
{data}
"""


def strict_policy(secret_name: str = "apikey") -> str:
    return f"""
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {{name: apikey-auth, namespace: agentgateway-system}}
spec:
  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}}]
  traffic:
    apiKeyAuthentication: {{mode: Strict, secretRef: {{name: {secret_name}}}}}
"""


@contextlib.contextmanager
def kubernetes_target():
    """The kubernetes target on an API server of its own (envtest), with no gateway behind it."""
    from conformance.controlplane import ControlPlane
    from conformance.targets.kubernetes import KubernetesTarget

    with ControlPlane() as plane:
        target = KubernetesTarget(str(plane.kubeconfig), "http://127.0.0.1:1", frozenset(), timeout=10)
        target.start()
        try:
            yield target
        finally:
            target.stop()


# --- a stand-in for the gateway's upstream client ------------------------------------------

class CannedResponse:
    def __init__(self, status: int, body: bytes):
        self.status, self._body = status, body
        self.headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def body(self):
        yield self._body

    def aclose(self) -> None:
        pass


class CannedUpstream:
    def __init__(self, status: int = 200, body: bytes = b'{"headers": {}}'):
        self.status, self.body = status, body
        self.requests: list[tuple[str, int, bytes, bytes]] = []

    async def request(self, host, port, method, target, headers, body=None):
        self.requests.append((host, port, method, target))
        return CannedResponse(self.status, self.body)

    async def aclose(self) -> None:
        pass


# --- the real agentgateway proxy binary ------------------------------------------------

BINARY = cached_proxy()  # now: pytester moves HOME for the tests that use it
# Tests that run the real proxy; tests/conftest.py skips them, saying why, when there is no binary.
needs_binary = needs_proxy = pytest.mark.needs_proxy


# --- tools the kind checks build or find -----------------------------------------------

KIND = ROOT / "clusters" / "kind"


def read_env(path: Path) -> dict[str, str]:
    from conformance.targets.kind import read_env as read

    return read(path)


def cache_dir() -> Path:
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(os.environ.get("AGW_TOOLS_CACHE") or home / "agw-conformance" / "tools")
    path.mkdir(parents=True, exist_ok=True)
    return path


def go() -> str:
    return system_tool("go")


def _run_go(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([go(), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local", **(env or {})})
    assert done.returncode == 0, f"go {' '.join(args)} failed:\n{done.stderr[-3000:]}"


def actionlint() -> Path:
    """actionlint at the pinned version, built from its Go module once."""
    version = read_env(KIND / "versions.env")["ACTIONLINT_VERSION"]
    binary = cache_dir() / f"actionlint-{version}" / "actionlint"
    if not binary.exists():
        _run_go(["install", f"github.com/rhysd/actionlint/cmd/actionlint@{version}"], ROOT,
                {"GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod"})
    return binary


def helm() -> Path:
    """helm at the pinned version: from the PATH if it is that version, else built once."""
    version = read_env(KIND / "versions.env")["HELM_VERSION"]
    found = shutil.which("helm")
    if found:
        done = subprocess.run([found, "version", "--template", "{{.Version}}"], capture_output=True, text=True)
        if done.stdout.strip() == version:
            return Path(found)
    binary = cache_dir() / f"helm-{version}" / "helm"
    if not binary.exists():
        # About 3 minutes on 2 cores the first time; cached after.
        _run_go(["install", f"helm.sh/helm/v3/cmd/helm@{version}"], ROOT, {"GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod"})
    return binary


def configcheck() -> Path:
    """clusters/kind/configcheck, built once per content of its sources."""
    src = KIND / "configcheck"
    digest = hashlib.sha256(b"".join((src / n).read_bytes() for n in ("go.mod", "go.sum", "main.go"))).hexdigest()[:16]
    binary = cache_dir() / f"kind-configcheck-{digest}"
    if not binary.exists():
        _run_go(["build", "-mod=readonly", "-o", str(binary), "."], src)
    return binary


def go_module_dir(module: str, version: str) -> Path:
    """Where the Go module proxy's zip of module@version is extracted (downloaded once)."""
    done = subprocess.run([go(), "mod", "download", "-json", f"{module}@{version}"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
    info = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and info.get("Dir"), f"go mod download {module}@{version}: {info.get('Error') or done.stderr[-2000:]}"
    return Path(info["Dir"])


def system_tool(name: str) -> str:
    """A program from outside Python (tests/system_tools.py); the test fails saying how to install it when it is missing."""
    tool = system_tools.TOOLS[name]
    found = tool.find()
    if found is None:
        pytest.fail(f"{name} is not installed: {tool.how_to_install()}")
    return found
