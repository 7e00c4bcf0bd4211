"""The kubernetes target on envtest with the real agentgateway: its controller, run out of
cluster against our API server, pushing xDS to its proxy, run as a local process.

What a cluster would do, and who does it here:

- `helm install agentgateway` (the control plane chart) runs the controller as a Deployment.
  Here the controller binary runs as a program with a kubeconfig and the environment the
  chart gives it (:func:`controller_env`), plus one setting the chart exposes through
  `controller.extraEnv`: `AGW_XDS_SERVICE_HOST=127.0.0.1`, so that the xDS address the
  controller hands to its proxies, and its serving certificate, name this machine.
- The controller, seeing Gateway `agentgateway-proxy`, renders and applies a Deployment,
  Service, ServiceAccount and ConfigMaps for the proxy. No kubelet runs them, so this
  target reads that Deployment back from the API server and starts the proxy binary the way
  the kubelet would start its container (:func:`local_pod`): same arguments and environment,
  volumes written to a local directory (ConfigMaps from the API, the projected service
  account token from the TokenRequest API), downward-API fields filled in from the
  Deployment. What a process on a shared machine cannot have as a pod would is listed in
  `LocalPod.left_out` and `LocalPod.added`.
- Everything else (GatewayClass, Gateway status, routes, policies, policy status) is the
  controller's own doing; the suite only applies manifests and sends requests.

Binaries come from `clusters/agentgateway-controller/build.sh` (the controller and the CRDs
it needs) and `clusters/agentgateway/build.sh` (the proxy), both keyed by the source tree in
`AGW_AGENTGATEWAY_SRC`; `AGW_AGENTGATEWAY_PROXY` may name an already built proxy instead.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from ...buildscripts import BuildFailed
from ...controlplane import ControlPlane, condition_true
from ...processes import Program, answers, free_port, host_address, log_tail, stop_all
from ...profiles import FEATURES
from ...waiting import POLL, TIMEOUTS, wait_until
from ..envtest import EnvtestTarget
from .builds import CONTROLLER_BUILD, PROXY_BUILD, binary_version, run_build
from .pod import LocalPod, Mount, local_pod

SYSTEM_NAMESPACE = "agentgateway-system"  # where the docs install the control plane
RELEASE = "agentgateway"  # the docs' Helm release name; the chart's fullname is the same
GATEWAY_CLASS = "agentgateway"
# Ports the controller binds whatever it is told (controller/pkg/setup/setup.go and
# controller/pkg/wellknown): health probes, metrics, admin (the last on localhost only).
CONTROLLER_FIXED_PORTS = {"health": 9093, "metrics": 9092, "admin": 9095}
FIELD_MANAGER_INSTALL = "agw-conformance-install"  # stands for `helm install --create-namespace`

# Every feature the product implements; none is out of reach of this target.
AGENTGATEWAY_FEATURES = frozenset(FEATURES)


def controller_env(kubeconfig: str, xds_port: int, *, namespace: str = SYSTEM_NAMESPACE, log_level: str = "info") -> dict[str, str]:
    """The controller's environment: the control plane chart's defaults (templates/deployment.yaml,
    values.yaml) for release `agentgateway`, with the xDS port chosen here and the xDS host set
    to this machine. Everything else about the controller comes from its own defaults."""
    return {
        "KUBECONFIG": kubeconfig,
        "POD_NAMESPACE": namespace,
        "AGW_PROXY_IMAGE_REGISTRY": "cr.agentgateway.dev",
        "AGW_PROXY_IMAGE_REPOSITORY": "agentgateway",
        "AGW_LOG_LEVEL": log_level,
        "AGW_XDS_SERVICE_NAME": RELEASE,
        "AGW_AGENTGATEWAY_XDS_SERVICE_PORT": str(xds_port),
        "AGW_DISCOVERY_NAMESPACE_SELECTORS": "[]",
        "AGW_XDS_MODE": "tls",
        "AGW_GATEWAY_CLASS_PARAMETERS_REFS": "{}",
        # Not a chart default: what `controller.extraEnv` would carry for a controller that
        # its proxies reach at 127.0.0.1 rather than through a Service.
        "AGW_XDS_SERVICE_HOST": "127.0.0.1",
    }


def port_taken(port: int, host: str = "0.0.0.0") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


class AgentgatewayEnvtestTarget(EnvtestTarget):
    name = "kubernetes (envtest, agentgateway controller and proxy)"
    # Under pytest-xdist the workers share one API server, backend and controller (the
    # controller binds fixed ports, so one per machine), started by the process that runs
    # them. Each worker applies the page's objects with names of its own, so the controller
    # renders a proxy Deployment for each worker's Gateway, and the worker starts that proxy;
    # the proxies share the machine, so each worker's Gateway listens on a port of its own.
    not_parallel = ""
    worker_names = True
    shares = True

    def __init__(self, source: str, supported: frozenset[str] = AGENTGATEWAY_FEATURES, timeout: float = TIMEOUTS.change,
                 proxy: str | None = None, log_dir: str | None = None):
        super().__init__([], supported, timeout)
        self.source, self.proxy_override, self.log_dir = source, proxy, log_dir
        self.controller_bin: Path | None = None
        self.proxy_bin: Path | None = None
        self.pod: LocalPod | None = None
        self.controller: Program | None = None
        self.workdir: Path | None = None
        self.version = ""
        self.shared: dict | None = None  # on a worker: what the process running the workers started
        self.controller_log: Path | None = None
        self.worker_listener_ports: dict[str, int] = {}  # on the process running the workers, for the report

    @classmethod
    def from_options(cls, config: pytest.Config) -> AgentgatewayEnvtestTarget:
        source = os.environ.get("AGW_AGENTGATEWAY_SRC", "")
        if not source:
            raise pytest.UsageError("--envtest-gateway=agentgateway needs AGW_AGENTGATEWAY_SRC, an agentgateway source tree to build from")
        if not Path(source, "go.mod").is_file():
            raise pytest.UsageError(f"AGW_AGENTGATEWAY_SRC={source} is not an agentgateway source tree (no go.mod)")
        return cls(source, AGENTGATEWAY_FEATURES, config.getoption("convergence_timeout"),
                   os.environ.get("AGW_AGENTGATEWAY_PROXY") or None, os.environ.get("AGW_AGENTGATEWAY_LOG_DIR") or None)

    def product_version(self) -> str | None:
        # Known once the controller is built (a cached build only checks its fingerprint): its
        # build directory is named after the tree's tag or commit (clusters/agentgateway/tree.sh).
        # Asked while pytest configures, so a tree that does not build is the user's to fix.
        try:
            self._build_controller()
        except BuildFailed as exc:
            raise pytest.UsageError(f"--envtest-gateway=agentgateway builds the controller from AGW_AGENTGATEWAY_SRC={self.source}, "
                                    f"and the build failed: {exc}") from None
        return self.version

    def _build_controller(self) -> None:
        if self.controller_bin is None:
            self.controller_bin = run_build(CONTROLLER_BUILD, {**os.environ, "AGW_AGENTGATEWAY_SRC": self.source})
            self.version = self.controller_bin.parent.parent.name

    def gateway_versions(self) -> dict[str, str]:
        # The build directory is named after the tree's tag or commit (clusters/agentgateway/tree.sh).
        return {"agentgateway controller": self.version or "unknown",
                "agentgateway proxy": binary_version(str(self.proxy_bin)) if self.proxy_bin else "unknown"}

    # --- start ---------------------------------------------------------------------------

    def start(self) -> None:
        """Everything, or on a pytest-xdist worker only the API client, the rest being shared."""
        self._make_workdir()
        try:
            if self.shared is None:
                self._start_shared_parts()
            else:
                self._use_shared_parts(self.shared)
            super(EnvtestTarget, self).start()  # the API client of the kubernetes target
        except BaseException:
            self.stop()
            raise

    def share(self) -> dict:
        self._make_workdir()
        try:
            self._start_shared_parts()
        except BaseException:
            self.stop()
            raise
        assert self.controller is not None
        return {"controlPlane": self.control_plane.described(), "crds": str(self._crds()), "backend": self.backend,
                "version": self.version, "proxy": str(self.proxy_bin), "controllerLog": str(self.controller.log)}

    def share_with(self, worker: str) -> dict:
        port = self.worker_listener_ports[worker] = free_port("0.0.0.0")
        return {"listenerPort": port}

    def attach(self, shared: dict) -> None:
        self.shared = shared
        self.deployment = replace(self.deployment, listener_port=shared["listenerPort"])

    def unshare(self) -> None:
        self.stop()

    def _make_workdir(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="agw-envtest-agentgateway-")
        self.workdir = Path(self._tmp.name)

    def _crds(self) -> Path:
        assert self.controller_bin is not None
        return self.controller_bin.parent.parent / "controller" / "crds"

    def _start_shared_parts(self) -> None:
        """The API server, the backend and the controller."""
        taken = [f"{n} {p}" for n, p in CONTROLLER_FIXED_PORTS.items() if port_taken(p, "127.0.0.1" if n == "admin" else "0.0.0.0")]
        if taken:
            raise RuntimeError(f"the agentgateway controller binds fixed ports, and these are in use: {', '.join(taken)} "
                               "(another controller running on this machine?)")
        env = {**os.environ, "AGW_AGENTGATEWAY_SRC": self.source}
        self._build_controller()
        self.proxy_bin = Path(self.proxy_override) if self.proxy_override else run_build(PROXY_BUILD, env)
        self.control_plane = ControlPlane(crds=self._crds())
        self.control_plane.start()
        self.kubeconfig = str(self.control_plane.kubeconfig)
        self._note_crds(self._crds())
        self._start_backend()
        self._create_namespace(SYSTEM_NAMESPACE)
        self._start_controller()

    def _use_shared_parts(self, shared: dict) -> None:
        plane = shared["controlPlane"]
        self.control_plane = ControlPlane.started_elsewhere(plane["server"], plane["token"], Path(plane["caFile"]), Path(plane["kubeconfig"]))
        self.kubeconfig = plane["kubeconfig"]
        self._note_crds(Path(shared["crds"]))
        self.backend, self.version, self.proxy_bin = shared["backend"], shared["version"], Path(shared["proxy"])
        self.controller_log = Path(shared["controllerLog"])

    def _start_backend(self) -> None:
        backend_ip = host_address()
        port = free_port(backend_ip)
        httpbin = Program("go-httpbin", [str(self.control_plane.assets / "go-httpbin"), "-host", backend_ip, "-port", str(port),
                                         "-log-level", "WARN"], self.workdir)
        self.programs.append(httpbin)
        httpbin.wait_until(lambda: answers(f"http://{backend_ip}:{port}/status/200"), self.timeout, "ready")
        self.backend = f"{backend_ip}:{port}"

    def _api(self):
        return self.control_plane.http_client(timeout=TIMEOUTS.request)  # the controller and the proxy load the API server

    def _create_namespace(self, name: str) -> None:
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        with self._api() as api:
            r = api.patch(f"/api/v1/namespaces/{name}", params={"fieldManager": FIELD_MANAGER_INSTALL},
                          json=body, headers={"Content-Type": "application/apply-patch+yaml"})
            r.raise_for_status()

    def _start_controller(self) -> None:
        xds_port = free_port("0.0.0.0")
        env = {**os.environ, **controller_env(self.kubeconfig, xds_port)}
        controller = self.controller = Program("agentgateway-controller", [str(self.controller_bin)], self.workdir, env)
        self.controller_log = controller.log
        self.programs.append(controller)
        ready = f"http://127.0.0.1:{CONTROLLER_FIXED_PORTS['health']}/readyz"
        controller.wait_until(lambda: answers(ready), max(self.timeout, TIMEOUTS.controller_ready), f"ready ({ready})")
        controller.wait_until(lambda: self._gatewayclass_accepted(), max(self.timeout, TIMEOUTS.cluster_object),
                              f"the controller of GatewayClass {GATEWAY_CLASS} (Accepted=True)")

    def _gatewayclass_accepted(self) -> bool:
        with self._api() as api:
            r = api.get(f"/apis/gateway.networking.k8s.io/v1/gatewayclasses/{GATEWAY_CLASS}")
        return r.status_code == 200 and condition_true(r.json(), "Accepted")

    def install_base(self) -> None:
        super().install_base()  # the page's Gateway (or this worker's), httpbin route, Service, EndpointSlice
        self._start_proxy(self.deployment.gateway_name, self.deployment.gateway_namespace)  # on failure the plugin calls stop()

    # --- the proxy, in place of the pod the controller asked for -------------------------

    def _get(self, path: str) -> dict | None:
        with self._api() as api:
            r = api.get(path)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def _wait_for(self, what: str, fetch, timeout: float) -> dict:
        # A worker sharing the controller cannot see it exit, only read its log.
        controller, log = self.controller, self.controller_log
        return wait_until(fetch, timeout, lambda: f"{what} did not appear within {timeout:g} s; last lines of the controller's log "
                          f"({log}):\n{log_tail(log) if log else ''}",
                          interval=POLL.control_plane, alive=(lambda: controller.exited_before(what)) if controller else None, error=RuntimeError)

    def _start_proxy(self, gateway: str, namespace: str) -> None:
        deployment = self._wait_for(
            f"Deployment {namespace}/{gateway} (rendered by the controller for the Gateway)",
            lambda: self._get(f"/apis/apps/v1/namespaces/{namespace}/deployments/{gateway}"), max(self.timeout, TIMEOUTS.cluster_object))
        pod = local_pod(deployment, self.workdir / "proxy-root", container="agentgateway")
        for mount in pod.mounts:
            self._materialize(pod, mount)
        for name, (secret, key) in pod.secret_env.items():
            doc = self._get(f"/api/v1/namespaces/{namespace}/secrets/{secret}")
            if doc is None or key not in (doc.get("data") or {}):
                raise RuntimeError(f"env {name} of the proxy needs Secret {namespace}/{secret} key {key}, which does not exist")
            pod.env[name] = base64.b64decode(doc["data"][key]).decode()
        # The proxy's own ports would be the pod's; on a shared machine they are picked free.
        readiness, stats, admin = free_port(), free_port(), free_port()
        pod.added.update({
            "READINESS_ADDR": f"127.0.0.1:{readiness} instead of the pod's :15021",
            "STATS_ADDR": f"127.0.0.1:{stats} instead of the pod's :15020",
            "ADMIN_ADDR": f"127.0.0.1:{admin} instead of localhost:15000",
        })
        pod.env.update({"READINESS_ADDR": f"127.0.0.1:{readiness}", "STATS_ADDR": f"127.0.0.1:{stats}", "ADMIN_ADDR": f"127.0.0.1:{admin}"})
        self.pod = pod
        port = self._listener_port(gateway, namespace)
        if port_taken(port):
            raise RuntimeError(f"the proxy serves Gateway {namespace}/{gateway} on port {port}, as its pod would, and that port is in use here")
        argv = [str(self.proxy_bin), *pod.command[1:]] if pod.command and not pod.command[0].startswith("-") else [str(self.proxy_bin), *pod.command]
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.workdir), **pod.env}
        (self.workdir / "proxy-pod.yaml").write_text(yaml.safe_dump({
            "argv": argv, "env": {k: ("<from Secret>" if k in pod.secret_env else v) for k, v in sorted(pod.env.items())},
            "left_out": pod.left_out, "added": pod.added}, sort_keys=False))
        proxy = Program("agentgateway-proxy", argv, self.workdir, env)
        self.programs.append(proxy)
        proxy.wait_until(lambda: answers(f"http://127.0.0.1:{readiness}/healthz/ready"), max(self.timeout, TIMEOUTS.cluster_object),
                         "ready (xDS received)")
        proxy.wait_until(lambda: _accepts("127.0.0.1", port), self.timeout, f"listening on the Gateway's port {port}")
        self.address = f"http://127.0.0.1:{port}"

    def _materialize(self, pod: LocalPod, mount: Mount) -> None:
        directory = pod.local(mount.mount_path)
        directory.mkdir(parents=True, exist_ok=True)
        if mount.kind == "emptyDir":
            return
        if mount.kind == "token":
            token = self._token(pod.namespace, pod.service_account, mount.audience, mount.expiration_seconds)
            path = directory / mount.items[0][1]
            path.write_text(token)
            path.chmod(0o600)
            if mount.audience == "agentgateway" and "XDS_AUTH_TOKEN" not in pod.env:
                # The proxy looks for ./var/run/secrets/xds-tokens/xds-token, relative to its working
                # directory, which is / in the pod and not here.
                pod.env["XDS_AUTH_TOKEN"] = str(path)
                pod.added["XDS_AUTH_TOKEN"] = f"{mount.mount_path}/{mount.items[0][1]} under the local root (the pod's working directory is /)"
            return
        plural = "configmaps" if mount.kind == "configMap" else "secrets"
        doc = self._wait_for(f"{mount.kind} {pod.namespace}/{mount.name} (mounted at {mount.mount_path})",
                             lambda: self._get(f"/api/v1/namespaces/{pod.namespace}/{plural}/{mount.name}"),
                             max(self.timeout, TIMEOUTS.cluster_object))
        data = dict(doc.get("data") or {})
        if mount.kind == "secret":
            data = {k: base64.b64decode(v).decode() for k, v in data.items()}
        for key, rel in mount.items or tuple((k, k) for k in data):
            if key not in data:
                if mount.optional:
                    continue
                raise RuntimeError(f"{mount.kind} {pod.namespace}/{mount.name} has no key {key} (mounted at {mount.mount_path})")
            target = directory / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(data[key])

    def _token(self, namespace: str, service_account: str, audience: str, seconds: int) -> str:
        """A service account token from the TokenRequest API, as the kubelet gets one for a projected volume."""
        self._wait_for(f"ServiceAccount {namespace}/{service_account}",
                       lambda: self._get(f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}"),
                       max(self.timeout, TIMEOUTS.cluster_object))
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [audience] if audience else [], "expirationSeconds": seconds}}
        with self._api() as api:
            r = api.post(f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", json=body)
        if r.status_code != 201:
            raise RuntimeError(f"TokenRequest for {namespace}/{service_account} failed: {r.status_code} {r.text[:300]}")
        return r.json()["status"]["token"]

    def _listener_port(self, gateway: str, namespace: str) -> int:
        doc = self._get(f"/apis/gateway.networking.k8s.io/v1/namespaces/{namespace}/gateways/{gateway}") or {}
        listeners = (doc.get("spec") or {}).get("listeners") or []
        http = next((lst for lst in listeners if lst.get("name") == "http"), listeners[0] if listeners else None)
        if http is None:
            raise RuntimeError(f"Gateway {namespace}/{gateway} has no listeners")
        return int(http["port"])

    # --- stop ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Delete what the suite applied, stop the proxy, controller and backend, then the API server.
        Safe to call twice (a failed start stops, and the plugin stops again)."""
        try:
            if self.client is not None:
                super(EnvtestTarget, self).stop()
        finally:
            self.client, self._base = None, []
            try:
                stop_all(self.programs)
            finally:
                self.control_plane.stop()
                self.save_logs()
                if self._tmp is not None:
                    self._tmp.cleanup()
                    self._tmp = None

    def save_logs(self) -> None:
        """Copy the controller's and proxy's logs to AGW_AGENTGATEWAY_LOG_DIR, if set."""
        if not self.log_dir or self.workdir is None:
            return
        dest = Path(self.log_dir)
        dest.mkdir(parents=True, exist_ok=True)
        for log in [*self.workdir.glob("*.log"), *self.workdir.glob("*.yaml")]:
            shutil.copy2(log, dest / log.name)


def _accepts(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=TIMEOUTS.readiness_probe).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":  # pragma: no cover -- for people: bring it all up, print where, wait for Ctrl-C
    source = os.environ.get("AGW_AGENTGATEWAY_SRC") or sys.exit("set AGW_AGENTGATEWAY_SRC")
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # handled, so that what was started is stopped
        signal.signal(sig, lambda *_: stopping.set())
    target = AgentgatewayEnvtestTarget(source, proxy=os.environ.get("AGW_AGENTGATEWAY_PROXY"),
                                       log_dir=os.environ.get("AGW_AGENTGATEWAY_LOG_DIR"))
    try:
        target.start()
        target.install_base()
        print(f"kubeconfig: {target.kubeconfig}\ngateway:    {target.address}\nbackend:    {target.backend}\nworkdir:    {target.workdir}", flush=True)
        stopping.wait()
    finally:
        target.stop()
