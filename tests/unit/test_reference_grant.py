"""Backend references across namespaces, as the Gateway API defines them.

An HTTPRoute may use a Service in another namespace only when a ReferenceGrant in the
Service's namespace lets HTTPRoutes from the route's namespace refer to it (to all its
Services, or to that one by name). Otherwise the reference is invalid and the requests it
would carry get a 500; a valid reference to a Service without ready endpoints gets a 503.
"""

from __future__ import annotations

import asyncio

import pytest
from helpers import CannedUpstream

from reference import config as cfg
from reference import kube
from reference.objects import ManifestError, parse_manifest
from reference.proxy import Proxy

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
"""
ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: web, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{backendRefs: [{name: %s, namespace: %s, port: 8000}]}]
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: %(name)s, namespace: %(ns)s}
spec: {ports: [{name: http, port: 8000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %(name)s-1, namespace: %(ns)s, labels: {kubernetes.io/service-name: %(name)s}}
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1]}]
"""
GRANT = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: grant, namespace: %(ns)s}
spec:
  from: [{group: %(group)s, kind: %(kind)s, namespace: %(origin)s}]
  to: [{group: "", kind: Service%(name)s}]
"""


def grant(ns="other-team", origin="apps", kind="HTTPRoute", group="gateway.networking.k8s.io", name=None) -> str:
    return GRANT % {"ns": ns, "origin": origin, "kind": kind, "group": group, "name": f", name: {name}" if name else ""}


def status_of(*texts: str) -> tuple[int, bytes]:
    """The answer to one request through the proxy, with a stand-in backend that answers 200."""
    objects = [o for i, t in enumerate(texts) for o in parse_manifest(t, f"f{i}.yaml")]
    config = cfg.build(objects, "agentgateway")
    proxy = Proxy(lambda: config, CannedUpstream(200, b"from the backend"))
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": [(b"host", b"www.example.com")]}
    asyncio.run(proxy(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


BASE = (GATEWAY, SERVICE % {"name": "svc", "ns": "other-team"}, SERVICE % {"name": "local", "ns": "apps"})


def test_same_namespace_needs_no_grant():
    assert status_of(*BASE, ROUTE % ("local", "apps")) == (200, b"from the backend")


def test_another_namespace_without_a_grant_is_refused_with_a_500():
    assert status_of(*BASE, ROUTE % ("svc", "other-team")) == (500, b"backend reference not permitted")


def test_a_grant_for_all_services_of_the_namespace_allows_it():
    assert status_of(*BASE, ROUTE % ("svc", "other-team"), grant())[0] == 200


def test_a_grant_naming_the_service_allows_it_and_one_naming_another_does_not():
    assert status_of(*BASE, ROUTE % ("svc", "other-team"), grant(name="svc"))[0] == 200
    assert status_of(*BASE, ROUTE % ("svc", "other-team"), grant(name="other"))[0] == 500


@pytest.mark.parametrize(
    "wrong",
    [
        dict(ns="apps"),  # in the route's namespace, not the Service's
        dict(origin="elsewhere"),  # for routes of another namespace
        dict(kind="GRPCRoute"),  # for another kind of route
        dict(group="example.com"),  # for HTTPRoutes of another API group
    ],
)
def test_a_grant_that_does_not_cover_the_reference_does_not_allow_it(wrong):
    assert status_of(*BASE, ROUTE % ("svc", "other-team"), grant(**wrong))[0] == 500


def test_a_missing_service_is_an_invalid_reference_and_a_service_without_endpoints_a_503():
    assert status_of(*BASE, ROUTE % ("nothing", "apps")) == (500, b"backend not found")
    empty = "apiVersion: v1\nkind: Service\nmetadata: {name: empty, namespace: apps}\nspec: {ports: [{name: http, port: 8000}]}\n"
    assert status_of(*BASE, empty, ROUTE % ("empty", "apps")) == (503, b"no healthy upstream")


@pytest.mark.parametrize(
    "spec, field",
    [
        ("{to: [{group: '', kind: Service}]}", "spec.from"),
        ("{from: [], to: [{group: '', kind: Service}]}", "spec.from"),
        ("{from: [{group: gateway.networking.k8s.io, kind: HTTPRoute}], to: [{kind: Service}]}", "spec.from[0].namespace"),
        ("{from: [{kind: HTTPRoute, namespace: a}], to: [x]}", "spec.to[0]"),
    ],
)
def test_a_malformed_grant_is_refused_at_its_field(spec, field):
    text = f"apiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {{name: g, namespace: n}}\nspec: {spec}\n"
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "g.yaml")
    assert caught.value.field == field
    assert str(caught.value).startswith("g.yaml: document 1: ReferenceGrant n/g: ")


def test_the_kubernetes_source_watches_reference_grants():
    watched = {(api_version, kind) for _, api_version, kind in kube.WATCHED}
    assert ("gateway.networking.k8s.io/v1beta1", "ReferenceGrant") in watched


def test_a_cluster_without_the_reference_grant_crd_is_still_served(tmp_path):
    """A 404 for a kind means the cluster does not have it: no objects of it, and the rest is served."""
    from lightkube import ApiError
    from lightkube.core.internal_models import meta_v1

    from reference.runtime import Runtime

    path = tmp_path / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n"
    )
    source = kube.KubeSource(Runtime(), str(path), write_status=False)

    class NoSuchKind:
        def list(self, res, namespace=None):
            raise ApiError(status=meta_v1.Status(code=404, message="the server could not find the requested resource"))

    async def run():
        task = asyncio.create_task(source._kind_loop(NoSuchKind(), None, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant"))
        await asyncio.sleep(0.3)
        task.cancel()

    asyncio.run(run())
    assert "ReferenceGrant" in source._synced
