"""Routing as a Gateway API implementation does it: listeners, attachment, matching, backends."""

from agwmodel.routing import select
from reference import config as cfg
from reference.objects import parse_manifest

GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: agentgateway
  listeners:
    - {name: http, port: 80, protocol: HTTP%s}
"""
ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %s, namespace: %s}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  hostnames: %s
  rules:
%s
"""
BACKEND = """
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: apps}
spec: {ports: [{name: web, port: 8000}, {name: other, port: 9000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, namespace: apps, labels: {kubernetes.io/service-name: svc}}
ports: [{name: other, port: 1111}, {name: web, port: 8080}]
endpoints:
  - addresses: [10.0.0.1]
  - addresses: [10.0.0.2]
    conditions: {ready: false}
"""


def rule(path: str, kind: str = "PathPrefix", name: str | None = None) -> str:
    named = f"name: {name}, " if name else ""
    return f"    - {{{named}matches: [{{path: {{type: {kind}, value: {path}}}}}], backendRefs: [{{name: svc, port: 8000}}]}}"


def build(*texts: str) -> cfg.Config:
    objects = [o for i, t in enumerate(texts) for o in parse_manifest(t, f"f{i}.yaml")]
    return cfg.build(objects, "agentgateway")


def route_for(config: cfg.Config, host: str, path: str) -> str | None:
    view = config.select_listener(host)
    if view is None:
        return None
    chosen = select(view.candidates, host, "GET", path, {})
    return None if chosen is None else f"{chosen.route.meta.name}#{chosen.rule_index}"


def test_allowed_routes_same_namespace_by_default():
    config = build(GATEWAY % "", ROUTE % ("r", "apps", "[]", rule("/")), BACKEND)
    assert route_for(config, "any.example", "/") is None
    config = build(GATEWAY % ", allowedRoutes: {namespaces: {from: All}}", ROUTE % ("r", "apps", "[]", rule("/")), BACKEND)
    assert route_for(config, "any.example", "/") == "r#0"


def test_allowed_routes_by_namespace_selector():
    selector = ", allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}"
    ns = "apiVersion: v1\nkind: Namespace\nmetadata: {name: apps, labels: {team: %s}}\n"
    assert route_for(build(GATEWAY % selector, ns % "a", ROUTE % ("r", "apps", "[]", rule("/"))), "h", "/") == "r#0"
    assert route_for(build(GATEWAY % selector, ns % "b", ROUTE % ("r", "apps", "[]", rule("/"))), "h", "/") is None


def test_path_matching_and_precedence():
    rules = "\n".join([rule("/", name="root"), rule("/api"), rule("/api/v1", "Exact")])
    config = build(GATEWAY % ", allowedRoutes: {namespaces: {from: All}}", ROUTE % ("r", "apps", "[]", rules))
    assert route_for(config, "h", "/api/v1") == "r#2"  # exact beats prefixes
    assert route_for(config, "h", "/api/v1/x") == "r#1"  # longest prefix
    assert route_for(config, "h", "/api") == "r#1"
    assert route_for(config, "h", "/apiary") == "r#0"  # prefixes match whole path elements


def test_hostnames_exact_beat_wildcards():
    all_ns = ", allowedRoutes: {namespaces: {from: All}}"
    config = build(
        GATEWAY % all_ns,
        ROUTE % ("wild", "apps", "['*.example.com']", rule("/")),
        ROUTE % ("exact", "apps", "[www.example.com]", rule("/")),
    )
    assert route_for(config, "www.example.com", "/") == "exact#0"
    assert route_for(config, "api.example.com", "/") == "wild#0"
    assert route_for(config, "example.com", "/") is None


def test_backends_resolve_by_port_name_and_skip_unready_endpoints():
    config = build(BACKEND)
    assert config.backends[("apps", "svc", 8000)] == (("10.0.0.1", 8080),)
    assert config.backends[("apps", "svc", 9000)] == (("10.0.0.1", 1111),)


def test_gateways_of_other_classes_are_not_served():
    config = build((GATEWAY % "").replace("agentgateway", "someone-else"))
    assert config.listeners == []


def test_header_matches_take_precedence_and_are_flagged_for_the_proxy():
    rules = "\n".join([
        rule("/"),
        "    - {matches: [{path: {type: PathPrefix, value: /}, headers: [{name: X-Canary, value: 'yes'}]}], backendRefs: [{name: svc, port: 8000}]}",
    ])
    config = build(GATEWAY % ", allowedRoutes: {namespaces: {from: All}}", ROUTE % ("r", "apps", "[]", rules))
    view = config.select_listener("h")
    assert view.matches_headers
    assert select(view.candidates, "h", "GET", "/", {"x-canary": "yes"}).rule_index == 1
    assert select(view.candidates, "h", "GET", "/", {}).rule_index == 0
    plain = build(GATEWAY % ", allowedRoutes: {namespaces: {from: All}}", ROUTE % ("r", "apps", "[]", rule("/")))
    assert not plain.select_listener("h").matches_headers
