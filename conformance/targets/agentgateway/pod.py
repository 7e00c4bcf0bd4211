"""What a kubelet would do with the proxy's Deployment, done for a local program.

The controller renders the proxy's Deployment; on envtest no kubelet runs it. `local_pod`
reads the Deployment (the container's command, arguments, environment and volume mounts)
and says how to start the same program here: the same arguments and environment, with
each mounted path moved under a local root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath


@dataclass(frozen=True)
class Mount:
    """One volume mount of the proxy container, to be written under the local root."""

    mount_path: str
    kind: str  # configMap, secret, token, emptyDir
    name: str = ""  # ConfigMap or Secret name
    items: tuple[tuple[str, str], ...] = ()  # (key, relative path); empty means every key
    audience: str = ""  # token
    expiration_seconds: int = 3600  # token
    optional: bool = False


@dataclass
class LocalPod:
    """How to run a Deployment's container as a local process in place of its pod."""

    namespace: str
    service_account: str
    command: list[str]  # the container's command and args, paths moved under `root`
    env: dict[str, str]
    mounts: list[Mount]
    root: Path
    secret_env: dict[str, tuple[str, str]] = field(default_factory=dict)  # env name -> (Secret, key)
    left_out: dict[str, str] = field(default_factory=dict)  # env name -> why it is not set
    added: dict[str, str] = field(default_factory=dict)  # env name -> why it is set here only

    def local(self, mount_path: str) -> Path:
        return self.root / PurePosixPath(mount_path).relative_to("/")


def _under_root(value: str, mount_paths: list[str], root: Path) -> str:
    """`value` with a leading container path that lies in a mounted volume moved under `root`."""
    for path in sorted(mount_paths, key=len, reverse=True):
        if value == path or value.startswith(path.rstrip("/") + "/"):
            return str(root / value.lstrip("/"))
    return value


def local_pod(deployment: dict, root: Path, *, container: str | None = None, cpus: int | None = None) -> LocalPod:
    """Read a Deployment as the kubelet would, for running its container as a local process.

    No pod exists, so the downward API has no pod name, node or pod IP to give: those
    variables are left out (the proxy then skips waiting for its own workload, which nothing
    would ever send it). `limits.cpu` without a limit is the machine's CPU count, as on a node.
    Raises ValueError for anything this cannot stand in for (an unknown volume or field).
    """
    meta = deployment.get("metadata") or {}
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    namespace = meta.get("namespace") or "default"
    containers = spec.get("containers") or []
    if not containers:
        raise ValueError(f"Deployment {namespace}/{meta.get('name')} has no containers")
    chosen = next((c for c in containers if c.get("name") == container), None) if container else containers[0]
    if chosen is None:
        raise ValueError(f"Deployment {namespace}/{meta.get('name')} has no container {container!r}")
    service_account = spec.get("serviceAccountName") or "default"

    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    mounts: list[Mount] = []
    for vm in chosen.get("volumeMounts") or []:
        volume = volumes.get(vm["name"])
        if volume is None:
            raise ValueError(f"volume mount {vm['name']} names no volume of the pod")
        mounts += _mounts_of(vm["mountPath"], volume)
    mount_paths = [m.mount_path for m in mounts]

    command = [_under_root(a, mount_paths, root) for a in [*(chosen.get("command") or []), *(chosen.get("args") or [])]]
    env: dict[str, str] = {}
    secret_env: dict[str, tuple[str, str]] = {}
    left_out: dict[str, str] = {}
    for item in chosen.get("env") or []:
        name = item["name"]
        if "value" in item or "valueFrom" not in item:
            env[name] = _under_root(str(item.get("value", "")), mount_paths, root)
            continue
        source = item["valueFrom"]
        if "fieldRef" in source:
            path = source["fieldRef"].get("fieldPath")
            if path == "metadata.namespace":
                env[name] = namespace
            elif path == "spec.serviceAccountName":
                env[name] = service_account
            elif path in ("metadata.name", "spec.nodeName", "status.podIP"):
                left_out[name] = f"{path}: no pod runs here"
            else:
                raise ValueError(f"env {name}: field {path} has no local stand-in")
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            limit = ((chosen.get("resources") or {}).get("limits") or {}).get(ref.get("resource", "").removeprefix("limits."))
            if ref.get("resource") == "limits.cpu" and limit is None:
                env[name] = str(cpus or os.cpu_count() or 1)
            elif limit is not None:
                env[name] = str(limit)
            else:
                left_out[name] = f"{ref.get('resource')}: not set on the container"
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret_env[name] = (ref["name"], ref["key"])
        elif "configMapKeyRef" in source:
            raise ValueError(f"env {name}: configMapKeyRef has no local stand-in")
        else:
            raise ValueError(f"env {name}: unknown valueFrom {sorted(source)}")
    return LocalPod(namespace, service_account, command, env, mounts, root, secret_env, left_out)


def _mounts_of(mount_path: str, volume: dict) -> list[Mount]:
    if "configMap" in volume:
        cm = volume["configMap"]
        items = tuple((i["key"], i["path"]) for i in cm.get("items") or [])
        return [Mount(mount_path, "configMap", cm["name"], items, optional=bool(cm.get("optional")))]
    if "secret" in volume:
        s = volume["secret"]
        items = tuple((i["key"], i["path"]) for i in s.get("items") or [])
        return [Mount(mount_path, "secret", s["secretName"], items, optional=bool(s.get("optional")))]
    if "emptyDir" in volume:
        return [Mount(mount_path, "emptyDir")]
    if "projected" in volume:
        out = []
        for source in volume["projected"].get("sources") or []:
            if "serviceAccountToken" in source:
                t = source["serviceAccountToken"]
                out.append(Mount(mount_path, "token", items=(("token", t["path"]),), audience=t.get("audience", ""),
                                 expiration_seconds=int(t.get("expirationSeconds", 3600))))
            elif "configMap" in source:
                cm = source["configMap"]
                items = tuple((i["key"], i["path"]) for i in cm.get("items") or [])
                out.append(Mount(mount_path, "configMap", cm["name"], items, optional=bool(cm.get("optional"))))
            else:
                raise ValueError(f"projected volume at {mount_path}: source {sorted(source)} has no local stand-in")
        return out
    raise ValueError(f"volume at {mount_path}: {sorted(k for k in volume if k != 'name')} has no local stand-in")
