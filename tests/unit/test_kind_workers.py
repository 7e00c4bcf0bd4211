"""The kind target under pytest-xdist: which node port each worker's Gateway is reached
through, the refusals when there is none, and the page's base rendered with a worker's names."""

from __future__ import annotations

import stat

import pytest
import yaml

from conformance.deployment import DOCS
from conformance.targets import kind_workers
from conformance.targets.kind import GATEWAY_ADDRESS, KindTarget
from conformance.targets.kind_workers import (PAGE_NODE_PORT, PortMapping, made_before_mapping, missing_mappings, node_port_taken,
                                              parse_engine_ports, port_for, port_mappings, too_many_workers, worker_base, worker_ports)

MAPPED = [PortMapping(30081 + i, "127.0.0.1", 30081 + i) for i in range(8)]


def _by_kind(text: str) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text) if d}


def test_the_config_maps_the_pages_port_and_eight_of_the_workers():
    assert [m.address for m in port_mappings() if m.node_port == PAGE_NODE_PORT] == [GATEWAY_ADDRESS]
    assert worker_ports() == MAPPED  # one per worker, in order, each node port at the same port here


def test_each_worker_has_the_port_of_its_number():
    assert port_for("gw0", MAPPED).address == "http://127.0.0.1:30081"
    assert port_for("gw3", MAPPED).node_port == 30084
    assert port_for("gw7", MAPPED).node_port == 30088


def test_a_worker_numbered_past_the_mapped_ports_is_told_why():
    # pytest-xdist numbers a worker replacing a crashed one after the last: -n 8, one crash, gw8.
    with pytest.raises(RuntimeError, match=r"worker gw8 has no node port of its own: .* maps 8 for workers \(30081-30088\)"):
        port_for("gw8", MAPPED)
    with pytest.raises(ValueError, match="not a pytest-xdist worker id"):
        port_for("master", MAPPED)


def test_more_workers_than_mapped_ports_is_refused():
    assert too_many_workers(0, MAPPED) is None and too_many_workers(4, MAPPED) is None and too_many_workers(8, MAPPED) is None
    refusal = too_many_workers(9, MAPPED)
    assert refusal is not None and refusal.startswith("-n 9 asks for more workers than --target=kind can reach")
    assert "maps 8 (30081-30088)" in refusal and "Use -n 8 or fewer" in refusal
    assert "maps 0 (none)" in too_many_workers(1, [])


def test_the_engines_port_listing_is_read():
    listing = "30080/tcp -> 127.0.0.1:30080\n6443/tcp -> 127.0.0.1:41234\n30081/tcp -> [::1]:30081\n53/udp -> 0.0.0.0:5353\n"
    assert parse_engine_ports(listing) == {30080: ("127.0.0.1", 30080), 6443: ("127.0.0.1", 41234), 30081: ("::1", 30081)}


def test_a_cluster_made_before_the_worker_mappings_lacks_them():
    made_before = parse_engine_ports("6443/tcp -> 127.0.0.1:41234\n30080/tcp -> 127.0.0.1:30080\n")
    assert missing_mappings(made_before, MAPPED[:4]) == MAPPED[:4]
    made_now = parse_engine_ports("".join(f"{p}/tcp -> 127.0.0.1:{p}\n" for p in range(30080, 30089)))
    assert missing_mappings(made_now, MAPPED) == []
    elsewhere = {**made_now, 30082: ("127.0.0.1", 40000)}  # a node port published on another host port
    assert missing_mappings(elsewhere, MAPPED[:2]) == [MAPPED[1]]
    message = made_before_mapping("agw-conformance", MAPPED[:2])
    assert "does not map node ports 30081, 30082" in message
    assert "KIND_CLUSTER_NAME=agw-conformance clusters/kind/down.sh" in message and "run without -n" in message


def test_a_node_port_another_service_holds_is_named_with_how_to_free_it():
    refusal = 'Service "agentgateway-proxy-nodeport" is invalid: spec.ports[0].nodePort: Invalid value: 30087: provided port is already allocated'
    message = node_port_taken(MAPPED[6], refusal)
    assert message.startswith("node port 30087, which this worker's Gateway is reached through, is held by another Service")
    assert refusal in message and "kubectl get services -A | grep :30087/" in message and "-n 5 or fewer" in message


def test_a_workers_base_is_the_pages_with_its_names_its_gateways_pods_and_its_port():
    worker = DOCS.for_worker("gw2")
    text = worker_base(worker, MAPPED[2], "v9.9.9")
    objects = _by_kind(text)
    kinds = [d["kind"] for d in yaml.safe_load_all(text) if d]
    assert kinds == [d["kind"] for d in yaml.safe_load_all(kind_workers.BASE.read_text()) if d]  # the page's objects, in its order
    namespaces = {d["metadata"].get("namespace") for d in objects.values()} - {None}
    assert namespaces == {"agentgateway-system-gw2", "httpbin-gw2"}
    assert {n for (k, n) in objects if k == "Namespace"} == {"agentgateway-system-gw2", "httpbin-gw2"}
    assert ("Gateway", "agentgateway-proxy-gw2") in {(d["kind"], d["metadata"]["name"]) for d in objects.values()}
    service = objects[("Service", "agentgateway-proxy-nodeport")]
    assert service["spec"]["selector"] == {"gateway.networking.k8s.io/gateway-name": "agentgateway-proxy-gw2"}
    assert service["spec"]["ports"][0]["nodePort"] == 30083
    assert objects[("HTTPRoute", "httpbin")]["spec"]["parentRefs"] == [{"name": "agentgateway-proxy-gw2", "namespace": "agentgateway-system-gw2"}]
    image = objects[("Deployment", "httpbin")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "docker.io/mccutchen/go-httpbin:v9.9.9"


def test_every_object_a_worker_applies_records_the_suite_as_its_manager():
    # Server-side apply records no manager for an object applied with nothing but its name,
    # and the suite deletes only what it manages: such an object would stay behind after
    # the run, and the next run would refuse it as someone else's. (Namespaces are used
    # whoever made them.)
    objects = yaml.safe_load_all(worker_base(DOCS.for_worker("gw0"), MAPPED[0], "v1"))
    bare = [(d["kind"], d["metadata"]["name"]) for d in objects
            if d and d["kind"] != "Namespace" and not (set(d) - {"apiVersion", "kind", "metadata"} or set(d["metadata"]) - {"name", "namespace"})]
    assert bare == []


def test_each_worker_reaches_its_own_gateway_at_its_own_address():
    target = KindTarget("agw-conformance", "v1.4.1", keep=False, supported=frozenset(), workers=2)
    given = target.share_with("gw1")
    worker = KindTarget("agw-conformance", "v1.4.1", keep=False, supported=frozenset())
    worker.attach({"kubeconfig": "/nowhere/kubeconfig", **given})
    assert worker.gateway_url == "http://127.0.0.1:30082" and worker.kubeconfig == "/nowhere/kubeconfig"
    assert KindTarget("agw-conformance", "v1.4.1", keep=False, supported=frozenset()).gateway_url == GATEWAY_ADDRESS


def _engine(tmp_path, listing: str):
    """A stand-in container engine whose `port NODE` prints `listing` for the cluster's node."""
    script = tmp_path / "engine"
    script.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'port agw-old-control-plane' ] || exit 1\nprintf '%s' '{listing}'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_a_kept_cluster_without_the_workers_ports_is_refused_before_anything_runs(tmp_path):
    engine = _engine(tmp_path, "30080/tcp -> 127.0.0.1:30080\n")
    target = KindTarget("agw-old", "v1.4.1", keep=True, supported=frozenset(), engine=engine, workers=2)
    with pytest.raises(RuntimeError, match=r"agw-old does not map node ports 30081, 30082 .*\(KIND_CLUSTER_NAME=agw-old clusters/kind/down\.sh\)"):
        target.share()
    assert not target._made  # up.sh never ran, and nothing is deleted after
