"""etcd and kube-apiserver as local programs, with certificates, a kubeconfig and the CRDs installed."""

from __future__ import annotations

import atexit
import base64
import json
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from typing import Any, Self

import httpx
import yaml

from ..processes import Program, free_port, stop_all
from ..waiting import POLL, TIMEOUTS, wait_until
from .assets import ControlPlaneError, check_assets, find_assets, find_crds

CRD_API = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def condition_true(obj: dict | None, kind: str) -> bool:
    """Whether a Kubernetes object's `status.conditions` says `kind` is True."""
    conditions = ((obj or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# Control planes still running at interpreter exit are stopped then.
_RUNNING: weakref.WeakSet[ControlPlane] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for cp in list(_RUNNING):
        cp.stop()


class ControlPlane:
    """etcd + kube-apiserver on free loopback ports, with CRDs installed.

    ``assets``: directory with kube-apiserver and etcd (default :func:`find_assets`).
    ``crds``: directory of CRD YAML files (default :func:`find_crds`).
    ``workdir``: where data, certificates, logs and the kubeconfig go; default a
    fresh temporary directory, removed by :meth:`stop`. A given ``workdir`` is
    left in place.

    After :meth:`start`: ``kubeconfig`` (Path), ``server`` (URL), ``token``,
    ``ca_file`` (the serving certificate), ``crds_dir`` and ``installed_crds``
    (names of the CRDs installed and Established).
    """

    def __init__(
        self,
        assets: Path | None = None,
        crds: Path | None = None,
        workdir: Path | None = None,
        *,
        start_timeout: float = TIMEOUTS.control_plane_start,
        crd_timeout: float = TIMEOUTS.crds_established,
    ) -> None:
        self._assets_arg = Path(assets) if assets is not None else None
        self._crds_arg = Path(crds) if crds is not None else None
        self._workdir_arg = Path(workdir) if workdir is not None else None
        self.start_timeout = start_timeout
        self.crd_timeout = crd_timeout
        self.assets: Path | None = None
        self.crds_dir: Path | None = None
        self.workdir: Path | None = None
        self._own_workdir = False
        self._procs: list[Program] = []
        self.server = ""
        self.token = ""
        self.kubeconfig = Path()
        self.ca_file = Path()
        self.installed_crds: list[str] = []

    # -- public API ---------------------------------------------------------

    @classmethod
    def started_elsewhere(cls, server: str, token: str, ca_file: Path, kubeconfig: Path) -> ControlPlane:
        """A control plane another process started, as `described` describes it: its clients
        work, and :meth:`stop` leaves it running (it is that process's to stop)."""
        plane = cls()
        plane.server, plane.token, plane.ca_file, plane.kubeconfig = server, token, Path(ca_file), Path(kubeconfig)
        return plane

    def described(self) -> dict[str, str]:
        """What another process needs to reach this control plane (:meth:`started_elsewhere`)."""
        return {"server": self.server, "token": self.token, "caFile": str(self.ca_file), "kubeconfig": str(self.kubeconfig)}

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start etcd and kube-apiserver, install the CRDs, write the kubeconfig."""
        if self._procs:
            raise ControlPlaneError("already started")
        self.installed_crds = []
        self.assets = self._assets_arg.resolve() if self._assets_arg else find_assets()
        check_assets(self.assets, "assets")
        self.crds_dir = find_crds(self.assets, self._crds_arg)
        if self._workdir_arg is not None:
            self.workdir = self._workdir_arg.resolve()
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._own_workdir = False
        else:
            self.workdir = Path(tempfile.mkdtemp(prefix="agw-envtest-"))
            self._own_workdir = True
        _RUNNING.add(self)
        try:
            self._start_processes()
            self.install_crds(self.crds_dir)
        except ControlPlaneError as exc:
            self._stop_processes()
            _RUNNING.discard(self)
            self._own_workdir = False  # keep the logs for inspection
            raise ControlPlaneError(f"{exc}\n(work directory kept: {self.workdir})") from None
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop both processes (TERM, then KILL after a timeout) and remove the temp workdir."""
        self._stop_processes()
        _RUNNING.discard(self)
        if self._own_workdir and self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self._own_workdir = False

    def kill_apiserver(self) -> None:
        """SIGKILL kube-apiserver (etcd keeps running): for clients that must survive losing it."""
        proc = next(p for p in self._procs if p.name == "kube-apiserver")
        proc.signal(signal.SIGKILL)
        proc.proc.wait()
        proc.stop()
        self._procs.remove(proc)

    def restart_apiserver(self) -> None:
        """Start kube-apiserver again on the same port with the same certificates and token,
        so an existing kubeconfig keeps working."""
        assert self.workdir is not None and self.assets is not None
        proc = Program("kube-apiserver", [str(self.assets / "kube-apiserver"), *self.apiserver_args], self.workdir)
        self._procs.append(proc)
        self._wait_ready(proc, time.monotonic() + self.start_timeout)

    def http_client(self, **kwargs: Any) -> httpx.Client:
        """An ``httpx.Client`` for the API server (base_url, CA and token set). Close it."""
        return httpx.Client(
            base_url=self.server,
            verify=ssl.create_default_context(cafile=str(self.ca_file)),
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )

    def install_crds(self, directory: Path) -> list[str]:
        """Create every CRD in ``directory/*.yaml`` (existing ones are fine), wait until Established."""
        names: list[str] = []
        with self.http_client(timeout=TIMEOUTS.api_write) as client:
            for path in sorted(Path(directory).glob("*.yaml")):
                with path.open("rb") as f:
                    docs = [d for d in yaml.load_all(f, Loader=_YAML_LOADER) if d]
                for doc in docs:
                    if doc.get("kind") != "CustomResourceDefinition":
                        continue
                    name = doc["metadata"]["name"]
                    body = json.dumps(doc, default=str)  # YAML may hold dates; the API wants strings
                    r = client.post(CRD_API, content=body, headers={"Content-Type": "application/json"})
                    if r.status_code not in (201, 409):
                        raise ControlPlaneError(f"creating CRD {name} from {path} failed: {r.status_code} {r.text}")
                    names.append(name)
            waiting = list(names)

            def all_established() -> bool:
                waiting[:] = [n for n in waiting if not self._established(client, n)]
                return not waiting

            wait_until(all_established, self.crd_timeout, lambda: f"CRD {', '.join(waiting)} not Established after {self.crd_timeout:.0f}s",
                       interval=POLL.control_plane, error=ControlPlaneError)
        self.installed_crds.extend(n for n in names if n not in self.installed_crds)
        return names

    # -- internals ----------------------------------------------------------

    @staticmethod
    def _established(client: httpx.Client, name: str) -> bool:
        r = client.get(f"{CRD_API}/{name}")
        if r.status_code != 200:
            return False
        return condition_true(r.json(), "Established")

    def _start_processes(self) -> None:
        assert self.workdir is not None and self.assets is not None
        last: ControlPlaneError | None = None
        for _attempt in range(3):  # free ports are picked racily; retry on a clash
            try:
                self._start_etcd()
                self._start_apiserver()
                return
            except ControlPlaneError as exc:
                self._stop_processes()
                logs = "".join(_tail(p) for p in self.workdir.glob("*.log"))
                if "address already in use" not in logs:
                    raise
                last = exc
                for p in self.workdir.glob("*.log"):
                    p.rename(p.with_suffix(".log.prev"))
        assert last is not None
        raise last

    def _start_etcd(self) -> None:
        assert self.workdir is not None and self.assets is not None
        client_port, peer_port = free_port(), free_port()
        data = self.workdir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        proc = Program(
            "etcd",
            [
                str(self.assets / "etcd"),
                f"--data-dir={data}",
                f"--listen-client-urls={self.etcd_url}",
                f"--advertise-client-urls={self.etcd_url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync=true",
                "--log-level=warn",
            ],
            self.workdir,
        )
        self._procs.append(proc)
        with httpx.Client(timeout=TIMEOUTS.etcd_health) as client:

            def healthy() -> bool:
                try:
                    return client.get(f"{self.etcd_url}/health").json().get("health") == "true"
                except (httpx.HTTPError, ValueError):
                    return False

            wait_until(healthy, self.start_timeout, lambda: str(self._timeout(proc, "healthy")), interval=POLL.api_object,
                       alive=lambda: self._alive(proc), error=ControlPlaneError)

    def _start_apiserver(self) -> None:
        assert self.workdir is not None and self.assets is not None
        port = free_port()
        certs = self.workdir / "certs"
        certs.mkdir(exist_ok=True)
        sa_key = self.workdir / "sa.key"
        if not sa_key.exists():
            _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(sa_key))
        self.token = secrets.token_urlsafe(32)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f'{self.token},admin,admin,"system:masters"\n')
        tokens.chmod(0o600)
        self.server = f"https://127.0.0.1:{port}"
        self.ca_file = certs / "apiserver.crt"
        self.ca_file.unlink(missing_ok=True)
        argv = [
            str(self.assets / "kube-apiserver"),
            "--advertise-address=127.0.0.1",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={certs}",
            f"--etcd-servers={self.etcd_url}",
            f"--token-auth-file={tokens}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
        ]
        self.apiserver_args = argv[1:]
        proc = Program("kube-apiserver", argv, self.workdir)
        self._procs.append(proc)
        deadline = time.monotonic() + self.start_timeout
        wait_until(self._ca_written, self.start_timeout, lambda: str(self._timeout(proc, f"writing {self.ca_file.name}")),
                   interval=POLL.api_object, alive=lambda: self._alive(proc), error=ControlPlaneError)  # written early at startup
        self._wait_ready(proc, deadline)
        self._write_kubeconfig()

    def _ca_written(self) -> bool:
        """Whether the serving certificate is there and whole: read before its last block
        ends, it would be a certificate cut short."""
        try:
            return self.ca_file.read_bytes().rstrip().endswith(b"-----END CERTIFICATE-----")
        except FileNotFoundError:
            return False

    def _wait_ready(self, proc: Program, deadline: float) -> None:
        """Poll kube-apiserver's /readyz until it answers 200, it dies, or the deadline passes."""
        last = ""
        with self.http_client(timeout=TIMEOUTS.api_request) as client:

            def ready() -> bool:
                nonlocal last
                try:
                    r = client.get("/readyz")
                except httpx.HTTPError as exc:
                    last = f"/readyz: {exc!r}"
                    return False
                last = f"/readyz {r.status_code}: {r.text[-500:]}"
                return r.status_code == 200

            wait_until(ready, max(0.0, deadline - time.monotonic()), lambda: str(self._timeout(proc, f"ready (last answer {last})")),
                       interval=POLL.control_plane, alive=lambda: self._alive(proc), error=ControlPlaneError)

    def _write_kubeconfig(self) -> None:
        assert self.workdir is not None
        ca = base64.b64encode(self.ca_file.read_bytes()).decode()
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "envtest", "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": "admin", "user": {"token": self.token}}],
            "contexts": [{"name": "envtest", "context": {"cluster": "envtest", "user": "admin", "namespace": "default"}}],
            "current-context": "envtest",
            "preferences": {},
        }
        self.kubeconfig = self.workdir / "kubeconfig"
        self.kubeconfig.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig.chmod(0o600)

    def _alive(self, proc: Program) -> None:
        if not proc.running:
            raise self._died(proc)

    def _died(self, proc: Program) -> ControlPlaneError:
        return ControlPlaneError(
            f"{proc.name} exited with code {proc.proc.returncode} while starting; last lines of {proc.log}:\n{_tail(proc.log)}"
        )

    def _timeout(self, proc: Program, what: str) -> ControlPlaneError:
        return ControlPlaneError(f"{proc.name} not {what} within {self.start_timeout:.0f}s; last lines of {proc.log}:\n{_tail(proc.log)}")

    def _stop_processes(self) -> None:
        procs, self._procs = self._procs, []
        stop_all(procs)  # apiserver first, then etcd


def _openssl(*args: str) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise ControlPlaneError("the openssl command is needed to make the service-account key")
    r = subprocess.run([exe, *args], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")
