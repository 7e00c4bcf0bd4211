"""A source refused before it ever had a good version: when it stops traffic, and what
readiness, the data plane and policy status say meanwhile.

What a refused source held is missing from the configuration, with no last good version to
stand in for it. A missing policy, route, listener, Gateway or Namespace can open a route
(a request falls to a less specific route without a policy); missing keys or backends can
only refuse more. So the first stop all traffic, the second do not.
"""

import asyncio
import base64

import pytest
from starlette.testclient import TestClient

from reference import refusals
from reference.admin import create_app
from reference.kube import KubeSource
from reference.proxy import Proxy
from reference.runtime import Runtime
from reference.watching import ManifestDir
from helpers import OFFLINE_KUBECONFIG, write_manifest

KEY = "unit-refusal-key-5d3a"
SECRET = f"""apiVersion: v1
kind: Secret
metadata: {{name: keys, namespace: ns}}
stringData: {{api-key: {KEY}}}
"""
POLICY = """apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    apiKeyAuthentication: {secretRef: {name: keys}}
"""
RATE_LIMIT = "    rateLimit: {local: [{tokens: 1, unit: Hours}]}\n"  # LLM tokens: refused by name


# --- which refusals stop traffic -------------------------------------------------------------


@pytest.mark.parametrize("text, kinds", [
    (SECRET, frozenset({"Secret"})),
    (SECRET + "---\n" + POLICY, frozenset({"Secret", "AgentgatewayPolicy"})),
    ("", frozenset()),
    ("a: [\n", None),  # not YAML: what it held cannot be told
    ("apiVersion: v1\nmetadata: {name: x}\n", None),  # no kind
    ("- a list\n", None),
])
def test_the_kinds_a_refused_file_held(text, kinds):
    assert refusals.kinds_in(text.encode()) == kinds


def test_only_keys_and_backends_leave_traffic_going():
    for kind in ("Secret", "ConfigMap", "Service", "EndpointSlice", "ReferenceGrant"):
        assert not refusals.stops_traffic({kind})
    for kind in ("AgentgatewayPolicy", "HTTPRoute", "Gateway", "ListenerSet", "Namespace", "Deployment"):
        assert refusals.stops_traffic({"Secret", kind})
    assert refusals.stops_traffic(None)
    assert refusals.kinds_in(b"\xff\xfe not text") is None


# --- the file source --------------------------------------------------------------------------


@pytest.fixture
def source(tmp_path):
    return ManifestDir(tmp_path, Runtime())




def status_of(runtime: Runtime) -> tuple[int, bytes]:
    """What the data plane answers a request now."""
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": [(b"host", b"h")]}
    asyncio.run(Proxy(runtime.current)(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def ready(runtime: Runtime, source) -> tuple[int, str]:
    with TestClient(create_app(runtime, source.report)) as client:
        response = client.get("/healthz/ready")
    return response.status_code, response.text


@pytest.mark.parametrize("bad, why", [
    (POLICY.replace("apiKeyAuthentication", "apiKeyAuthentification"), "spec.traffic.apiKeyAuthentification: unknown field"),
    (POLICY + RATE_LIMIT, "spec.traffic.rateLimit.local[0].tokens: not supported by the reference gateway"),
    (POLICY.replace("namespace: ns}\nspec:", "namespace: ns\nspec:"), "invalid YAML"),
])
def test_a_policy_file_refused_at_first_sight_stops_traffic_until_a_good_version_loads(source, bad, why):
    write_manifest(source.path, "keys.yaml", SECRET)
    write_manifest(source.path, "p.yaml", bad)
    source.scan()
    [line] = source.runtime.config.refused
    assert line.startswith("p.yaml") and why in line, line
    assert status_of(source.runtime) == (503, b"configuration refused: nothing is served until a good version loads")
    code, text = ready(source.runtime, source)
    assert code == 503 and line in text and KEY not in text
    assert {r["file"]: r for r in source.report()}["p.yaml"]["stopsTraffic"] is True

    write_manifest(source.path, "p.yaml", POLICY)
    source.scan()
    assert source.runtime.config.refused == ()
    assert ready(source.runtime, source) == (200, "ready")
    assert [p.policy.meta.name for p in source.runtime.config.policies] == ["p"]


def test_removing_the_refused_file_serves_again(source):
    write_manifest(source.path, "p.yaml", "a: [\n")
    source.scan()
    assert source.runtime.config.refused
    (source.path / "p.yaml").unlink()
    source.scan()
    assert source.runtime.config.refused == () and status_of(source.runtime)[0] == 404  # no route here: served, not refused


def test_a_refused_version_of_a_file_that_was_good_keeps_the_last_good_one_and_traffic_going(source):
    write_manifest(source.path, "p.yaml", POLICY)
    source.scan()
    write_manifest(source.path, "p.yaml", POLICY + RATE_LIMIT)
    source.scan()
    assert source.runtime.config.refused == ()
    assert [p.policy.meta.name for p in source.runtime.config.policies] == ["p"]
    assert {r["file"]: r for r in source.report()}["p.yaml"]["stopsTraffic"] is False


def test_a_new_empty_file_then_a_refused_version_of_it_stops_traffic(source):
    # An editor's way: create the file, then write it. The empty version held nothing to keep.
    write_manifest(source.path, "p.yaml", "")
    source.scan()
    assert source.runtime.config.refused == ()
    write_manifest(source.path, "p.yaml", POLICY.replace("apiKeyAuthentication", "apiKeyAuthentification"))
    source.scan()
    assert len(source.runtime.config.refused) == 1


def test_a_refused_file_of_keys_only_leaves_traffic_going_and_its_policy_without_those_keys(source):
    write_manifest(source.path, "p.yaml", POLICY)
    write_manifest(source.path, "keys.yaml", SECRET.replace(f"stringData: {{api-key: {KEY}}}", "data: {api-key: '***'}"))
    source.scan()
    assert source.runtime.config.refused == ()
    report = {r["file"]: r for r in source.report()}["keys.yaml"]
    assert report["error"] and report["stopsTraffic"] is False
    [policy] = source.runtime.config.policies
    assert len(policy.keys) == 0 and policy.problems  # no keys: every key is refused


def test_a_refused_file_that_once_was_good_is_not_first_sight_after_a_second_bad_version(source):
    write_manifest(source.path, "p.yaml", POLICY)
    source.scan()
    write_manifest(source.path, "p.yaml", "a: [\n")
    source.scan()
    write_manifest(source.path, "p.yaml", POLICY + RATE_LIMIT)
    source.scan()
    assert source.runtime.config.refused == ()


# --- the Kubernetes source --------------------------------------------------------------------

GATEWAY = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway", "metadata": {"name": "gw", "namespace": "ns"},
           "spec": {"gatewayClassName": "agentgateway", "listeners": [{"name": "http", "port": 80, "protocol": "HTTP"}]}}


def policy(**traffic) -> dict:
    return {"apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy", "metadata": {"name": "p", "namespace": "ns"},
            "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}],
                     "traffic": {"apiKeyAuthentication": {"secretRef": {"name": "keys"}}, **traffic}}}


@pytest.fixture
def cluster(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(OFFLINE_KUBECONFIG)
    source = KubeSource(Runtime(), str(path), write_status=False)
    source._event("ADDED", GATEWAY)
    return source


def test_an_object_the_api_server_accepted_and_the_gateway_refuses_at_first_sight_stops_traffic(cluster):
    cluster._event("ADDED", policy(rateLimit={"local": [{"tokens": 1, "unit": "Hours"}]}))
    config = cluster.publish()
    assert config.refused == ("AgentgatewayPolicy ns/p: spec.traffic.rateLimit.local[0].tokens: not supported by the reference gateway",)
    assert status_of(cluster.runtime)[0] == 503
    [ancestor] = config.status[("ns", "p")]["ancestors"]
    assert ancestor["ancestorRef"]["name"] == "StatusSummary"
    accepted, attached = ancestor["conditions"]
    assert (accepted["type"], accepted["status"], accepted["reason"]) == ("Accepted", "False", "Invalid")
    assert accepted["message"] == "spec.traffic.rateLimit.local[0].tokens: not supported by the reference gateway"
    assert (attached["type"], attached["status"]) == ("Attached", "False")

    cluster._event("DELETED", policy())
    assert cluster.publish().refused == ()


def test_a_refused_update_keeps_the_last_good_version_attached_and_says_it_is_not_accepted(cluster):
    cluster._event("ADDED", policy())
    [good] = cluster.publish().status[("ns", "p")]["ancestors"]
    cluster._event("MODIFIED", policy(cors={"allowOrigins": ["*"]}))
    config = cluster.publish()
    assert config.refused == ()
    [ancestor] = config.status[("ns", "p")]["ancestors"]
    assert ancestor["ancestorRef"] == good["ancestorRef"]
    accepted, attached = ancestor["conditions"]
    assert (accepted["status"], accepted["reason"]) == ("False", "Invalid")
    assert accepted["message"] == "spec.traffic.cors: not supported by the reference gateway; the last good version stays in force"
    assert attached == good["conditions"][1]


def test_an_endpoint_slice_the_gateway_cannot_use_leaves_traffic_going(cluster):
    # Valid on any cluster; without the service-name label it belongs to no Service here.
    cluster._event("ADDED", {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"name": "s", "namespace": "ns"},
                             "addressType": "IPv4", "endpoints": []})
    assert cluster.report() and cluster.publish().refused == ()


def test_first_sight_refusals_are_sorted_and_base64_keys_never_show(cluster):
    encoded = base64.b64encode(KEY.encode()).decode()
    cluster._event("ADDED", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys", "namespace": "ns"}, "data": {"k": encoded}})
    cluster._event("ADDED", {**GATEWAY, "metadata": {"name": "b", "namespace": "ns"}, "spec": {"gatewayClassName": 5}})
    cluster._event("ADDED", {**GATEWAY, "metadata": {"name": "a", "namespace": "ns"}, "spec": {"gatewayClassName": 5}})
    refused = cluster.publish().refused
    assert [line.split(":")[0] for line in refused] == ["Gateway ns/a", "Gateway ns/b"]
    assert KEY not in repr(refused) and encoded not in repr(refused)
