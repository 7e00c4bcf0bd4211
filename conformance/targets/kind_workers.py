"""What each pytest-xdist worker of the kind target has of its own on the one cluster.

Under `-n`, the workers share one kind cluster (one control plane, one agentgateway
controller) and each applies the docs page's objects under names of its own
(`Deployment.for_worker`): its Gateway `agentgateway-proxy-gw0` in
`agentgateway-system-gw0`, httpbin in `httpbin-gw0`. The controller gives each such
Gateway proxy pods of its own. The suite reaches a Gateway from this machine only through
a NodePort that kind-config.yaml maps to a host port, and kind fixes its port mappings when
it creates the cluster: so kind-config.yaml maps one node port per worker besides the
page's 30080, each worker gets one of them, and a NodePort Service of its own on it selects
its own Gateway's pods.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..deployment import DOCS, Deployment
from ..locations import CLUSTERS
from .base import documents

KIND_DIR = CLUSTERS / "kind"
CONFIG = KIND_DIR / "kind-config.yaml"
BASE = KIND_DIR / "base.yaml"
PAGE_NODE_PORT = 30080  # the page's Gateway, as up.sh installs it (base.yaml) for a serial run
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"  # the Gateway API's label on a Gateway's pods


@dataclass(frozen=True)
class PortMapping:
    """One of kind-config.yaml's extraPortMappings: a node port reachable at an address here."""

    node_port: int
    host: str
    host_port: int

    @property
    def address(self) -> str:
        return f"http://{self.host}:{self.host_port}"


def port_mappings(config: Path = CONFIG) -> list[PortMapping]:
    """Every port mapping of the kind config's first node, in the file's order."""
    doc = yaml.safe_load(config.read_text())
    node = (doc.get("nodes") or [{}])[0]
    return [PortMapping(int(m["containerPort"]), m.get("listenAddress", "0.0.0.0"), int(m.get("hostPort", m["containerPort"])))
            for m in node.get("extraPortMappings") or []]


def worker_ports(config: Path = CONFIG) -> list[PortMapping]:
    """The mappings kept for workers, in order: every one but the page's."""
    return [m for m in port_mappings(config) if m.node_port != PAGE_NODE_PORT]


def _span(ports: list[PortMapping]) -> str:
    numbers = [m.node_port for m in ports]
    if not numbers:
        return "none"
    return str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}-{numbers[-1]}"


def too_many_workers(workers: int, ports: list[PortMapping]) -> str | None:
    """Why `-n workers` cannot run on kind, or None when each worker has a mapped port."""
    if workers <= len(ports):
        return None
    return (f"-n {workers} asks for more workers than --target=kind can reach: each worker's Gateway is reached through a node "
            f"port of its own that clusters/kind/kind-config.yaml maps to this machine, and it maps {len(ports)} "
            f"({_span(ports)}). Use -n {len(ports)} or fewer, or map more ports in kind-config.yaml and recreate the cluster")


def worker_number(worker: str) -> int:
    """The number of a pytest-xdist worker id (`gw3` -> 3)."""
    found = re.fullmatch(r"gw(\d+)", worker)
    if found is None:
        raise ValueError(f"not a pytest-xdist worker id: {worker!r}")
    return int(found[1])


def port_for(worker: str, ports: list[PortMapping]) -> PortMapping:
    """Worker `worker`'s mapping. pytest-xdist numbers a worker that replaces a crashed one
    after the last (`-n 4`: gw4), so its Gateway, beside the crashed one's, has a port of its own too."""
    number = worker_number(worker)
    if number >= len(ports):
        raise RuntimeError(f"worker {worker} has no node port of its own: clusters/kind/kind-config.yaml maps {len(ports)} for "
                           f"workers ({_span(ports)}), and pytest-xdist numbered this one {number} (a worker that replaces "
                           "a crashed one is numbered after the last)")
    return ports[number]


def parse_engine_ports(text: str) -> dict[int, tuple[str, int]]:
    """`docker port NODE` (podman's and nerdctl's alike): container TCP port -> (host address, host port).

    Lines read `30080/tcp -> 127.0.0.1:30080` (IPv6: `[::1]:30080`); other protocols are left out.
    """
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(\d+)/tcp\s*->\s*\[?([^\]\s]*?)\]?:(\d+)\s*", line)
        if match:
            found.setdefault(int(match[1]), (match[2], int(match[3])))
    return found


def missing_mappings(published: dict[int, tuple[str, int]], wanted: list[PortMapping]) -> list[PortMapping]:
    """The wanted mappings the node does not publish as the config says (node port to that host port)."""
    return [m for m in wanted if published.get(m.node_port, (None, None))[1] != m.host_port]


def made_before_mapping(cluster: str, missing: list[PortMapping]) -> str:
    """What to do about a cluster whose node lacks the workers' port mappings."""
    return (f"the kind cluster {cluster} does not map node ports {', '.join(str(m.node_port) for m in missing)} to this machine, "
            "which each -n worker's Gateway is reached through: it was made before clusters/kind/kind-config.yaml mapped them, "
            f"and kind cannot add port mappings to a cluster. Delete it (KIND_CLUSTER_NAME={cluster} clusters/kind/down.sh) so "
            "that the next run makes it anew, or run without -n")


def node_port_taken(port: PortMapping, refusal: str) -> str:
    """Why a worker's NodePort Service was refused its port, and what to do."""
    return (f"node port {port.node_port}, which this worker's Gateway is reached through, is held by another Service of the cluster "
            f"({refusal}). Kubernetes gives a Service that asks for no node port (a Gateway's LoadBalancer Service) one at random "
            f"above its static band (30000-30085 in the default range), so a port above it can be taken: find the Service with "
            f"`kubectl get services -A | grep :{port.node_port}/` and delete it, or run with -n 5 or fewer")


def worker_base(deployment: Deployment, port: PortMapping, httpbin_version: str) -> str:
    """base.yaml (the page's "Before you begin" on kind) with a worker's names, its NodePort
    Service selecting the worker's own Gateway's pods on the worker's own node port."""
    page = BASE.read_text().replace("${GO_HTTPBIN_VERSION}", httpbin_version)
    docs = documents(deployment.render(page))
    for doc in docs:
        spec = doc.get("spec") or {}
        if doc.get("kind") == "Service" and spec.get("type") == "NodePort":
            if spec.get("selector", {}).get(GATEWAY_NAME_LABEL) == DOCS.gateway_name:
                spec["selector"][GATEWAY_NAME_LABEL] = deployment.gateway_name
            for entry in spec.get("ports") or []:
                if entry.get("nodePort") == PAGE_NODE_PORT:
                    entry["nodePort"] = port.node_port
    return yaml.safe_dump_all(docs, sort_keys=False)
