"""A deployment's names in the docs page's manifests: the fields that hold the page's names
change, nothing else does, and with the page's own names nothing is rendered."""

from __future__ import annotations

from pathlib import Path

import yaml

from conformance.deployment import DOCS, Deployment
from conformance.steps.manifests import MANIFESTS

from test_docs_pages import docstrings

ROOT = Path(__file__).resolve().parents[2]
VENDOR = Deployment(gateway_name="edge", gateway_namespace="vendor-gw", gateway_class="vendor-class", listener_name="web",
                    listener_port=8080, backend_namespace="apps", backend_host="api.vendor.test")


def _page_manifest(feature: str, kind: str) -> str:
    """The first manifest of `kind` in a docs-page feature, as the step receives it."""
    for doc in docstrings((ROOT / "features" / feature).read_text()):
        text = "\n".join(doc)
        if f"kind: {kind}" in text:
            return text
    raise AssertionError(f"{feature} has no {kind}")


def _docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


def test_the_page_policy_targets_the_deployments_gateway_in_its_namespace():
    page = _page_manifest("docs_page_1_4_x.feature", "AgentgatewayPolicy")
    [policy] = _docs(VENDOR.render(page))
    [original] = _docs(page)
    assert original["metadata"]["namespace"] == "agentgateway-system"
    assert policy["metadata"] == {**original["metadata"], "namespace": "vendor-gw"}
    assert policy["spec"]["targetRefs"] == [{**original["spec"]["targetRefs"][0], "name": "edge"}]
    assert policy["spec"]["traffic"] == original["spec"]["traffic"]


def test_the_page_secret_moves_namespace_and_keeps_its_entries_and_labels():
    page = _page_manifest("docs_page_2026_02_19.feature", "Secret")
    [secret] = _docs(VENDOR.render(page))
    [original] = _docs(page)
    assert secret["metadata"]["namespace"] == "vendor-gw"
    assert secret["metadata"]["labels"] == original["metadata"]["labels"] == {"app": "httpbin"}
    assert secret["stringData"] == original["stringData"]


def test_a_value_that_happens_to_be_a_page_name_is_left_alone():
    manifest = yaml.safe_dump({"apiVersion": "v1", "kind": "Secret",
                               "metadata": {"name": "agentgateway-proxy", "namespace": "httpbin", "labels": {"gw": "agentgateway-proxy"}},
                               "stringData": {"agentgateway-system": "agentgateway-proxy", "host": "www.example.com"}})
    [secret] = _docs(VENDOR.render(manifest))
    assert secret["metadata"] == {"name": "agentgateway-proxy", "namespace": "apps", "labels": {"gw": "agentgateway-proxy"}}
    assert secret["stringData"] == {"agentgateway-system": "agentgateway-proxy", "host": "www.example.com"}


def test_the_base_objects_are_the_deployments_gateway_route_and_namespaces():
    docs = {(d["kind"], d["metadata"]["name"]): d for d in _docs(VENDOR.render((MANIFESTS / "base.yaml").read_text()))}
    assert {name for kind, name in docs if kind == "Namespace"} == {"vendor-gw", "apps"}
    gateway = docs["Gateway", "edge"]
    assert gateway["metadata"]["namespace"] == "vendor-gw"
    assert gateway["spec"]["gatewayClassName"] == "vendor-class"
    assert [(x["name"], x["port"], x["protocol"]) for x in gateway["spec"]["listeners"]] == [("web", 8080, "HTTP")]
    route = docs["HTTPRoute", "httpbin"]
    assert route["metadata"]["namespace"] == "apps"
    assert route["spec"]["parentRefs"] == [{"name": "edge", "namespace": "vendor-gw"}]
    assert route["spec"]["hostnames"] == ["api.vendor.test"]
    assert docs["Service", "httpbin"]["metadata"]["namespace"] == "apps"


def test_references_to_the_gateways_listener_and_to_backends_follow():
    manifest = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: agentgateway-system}
spec:
  parentRefs: [{name: agentgateway-proxy, sectionName: http}, {kind: ListenerSet, name: http, sectionName: http}]
  hostnames: [www.example.com, other.example.com]
  rules:
    - backendRefs: [{name: httpbin, namespace: httpbin, port: 8000}]
"""
    [route] = _docs(VENDOR.render(manifest))
    assert route["spec"]["parentRefs"] == [{"name": "edge", "sectionName": "web"}, {"kind": "ListenerSet", "name": "http", "sectionName": "http"}]
    assert route["spec"]["hostnames"] == ["api.vendor.test", "other.example.com"]
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "httpbin", "namespace": "apps", "port": 8000}]


def test_with_the_page_names_a_manifest_is_applied_as_written():
    page = _page_manifest("docs_page_1_4_x.feature", "AgentgatewayPolicy")
    assert DOCS.render(page) is page
    assert Deployment(backend_host="api.vendor.test").render(page) == page  # nothing in it names the host
    assert VENDOR.render("not: [yaml") == "not: [yaml"


def test_the_report_says_which_names_differ_from_the_page():
    assert DOCS.describe()["differsFromDocs"] == [] and "note" not in DOCS.describe()
    described = Deployment(gateway_name="edge", listener_port=8080).describe()
    assert described["gatewayName"] == "edge" and described["listenerPort"] == 8080 and described["gatewayNamespace"] == "agentgateway-system"
    assert described["differsFromDocs"] == ["gatewayName", "listenerPort"]
    assert "gateway name agentgateway-proxy -> edge" in described["note"]


def test_status_messages_name_objects_in_the_deployments_namespaces():
    assert VENDOR.object_names("not found in Gateway agentgateway-system/agentgateway-proxy") == "not found in Gateway vendor-gw/edge"
    assert VENDOR.object_names("secret agentgateway-system/nope not found") == "secret vendor-gw/nope not found"
    assert VENDOR.object_names("x.agentgateway-system/nope") == "x.agentgateway-system/nope"


def test_each_worker_names_its_objects_apart_and_a_serial_run_keeps_the_names():
    gw0, gw1 = DOCS.for_worker("gw0"), DOCS.for_worker("gw1")
    assert DOCS.for_worker(None) is DOCS and DOCS.for_worker("master") is DOCS
    # Every object the base and the page's manifests create, per worker: no two workers share one.
    base = (MANIFESTS / "base.yaml").read_text()
    policy = _page_manifest("docs_page_1_4_x.feature", "AgentgatewayPolicy")

    def objects(deployment: Deployment) -> set[tuple]:
        return {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"])
                for text in (base, policy) for d in _docs(deployment.render(text))}

    assert objects(gw0).isdisjoint(objects(gw1)) and objects(gw0).isdisjoint(objects(DOCS))
    assert (gw0.gateway_namespace, gw0.backend_namespace, gw0.gateway_name) == ("agentgateway-system-gw0", "httpbin-gw0", "agentgateway-proxy-gw0")
    # What names no object stays, so traffic and the class are the page's.
    assert (gw1.gateway_class, gw1.backend_host, gw1.listener_name) == (DOCS.gateway_class, DOCS.backend_host, DOCS.listener_name)
