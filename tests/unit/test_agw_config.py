"""The translation from manifests to the proxy's local configuration: pure functions only."""

import base64
import hashlib
import textwrap

import pytest
import yaml

from conformance.targets.agentgateway import config as agw
from conformance.targets.base import ObjectRef, base_manifest, documents

KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
GW = agw.local_gateway_name("agentgateway-system", "agentgateway-proxy", 80)
PROXY = {"gatewayName": "default", "gatewayNamespace": "default"}


def objects(*manifests: str, base: bool = True) -> dict[ObjectRef, dict]:
    texts = [base_manifest("base.yaml"), base_manifest("endpointslice.yaml", address="127.0.0.1", port="8081")] if base else []
    out = {}
    for text in [*texts, *manifests]:
        for doc in documents(textwrap.dedent(text)):
            out[ObjectRef.of(doc)] = doc
    return out


def ports_for(objs) -> agw.Ports:
    return agw.Ports({key: 20000 + i for i, key in enumerate(agw.listener_ports(objs))}, admin=1, stats=2, readiness=3)


def translate(*manifests: str, base: bool = True) -> agw.Translation:
    objs = objects(*manifests, base=base)
    return agw.translate(objs, ports_for(objs))


def policy(target: str = "kind: Gateway\n      name: agentgateway-proxy", auth: str = "mode: Strict\n      secretRef: {name: apikey}",
           name: str = "apikey-auth", namespace: str = "agentgateway-system", extra: str = "") -> str:
    return f"""
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      {target}
  traffic:
    {extra}apiKeyAuthentication:
      {auth}
"""


def secret(name: str = "apikey", namespace: str = "agentgateway-system", labels: str = "{}",
           body: str = f"stringData: {{api-key: {KEY}}}") -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: {namespace}, labels: {labels}}}
{body}
"""


def api_keys(translation: agw.Translation, index: int = 0) -> dict:
    return translation.config["policies"][index]["policy"]["apiKey"]


RULES_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: rules, namespace: httpbin}
spec:
  parentRefs: [{name: agentgateway-proxy, namespace: agentgateway-system}]
  hostnames: [rules.example.com]
  rules:
    - name: protected
      matches: [{path: {type: PathPrefix, value: /anything/protected}}]
      backendRefs: [{name: httpbin, port: 8000}]
    - matches: [{path: {type: Exact, value: /anything/open}, method: GET, headers: [{name: x-a, value: b}]}]
      backendRefs: [{name: httpbin, port: 8000}]
"""


# --- gateways, routes, backends -----------------------------------------------------------


def test_the_base_objects_become_one_gateway_one_route_and_a_backend_on_the_echo():
    t = translate()
    assert t.config["config"] == {"adminAddr": "127.0.0.1:1", "statsAddr": "127.0.0.1:2", "readinessAddr": "127.0.0.1:3"}
    assert t.config["gateways"] == {GW: {"port": 20000, "listeners": [{"name": "http", "protocol": "HTTP"}]}}
    assert t.config["routes"] == [{
        "gateways": [f"{GW}/http"], "name": "httpbin/#0", "namespace": "httpbin", "hostnames": ["www.example.com"],
        "matches": [{"path": {"pathPrefix": "/"}}], "backends": [{"host": "127.0.0.1:8081", "weight": 1}],
    }]
    assert t.config["policies"] == []
    assert "backends" not in t.config


def test_the_gateway_url_is_the_listener_the_base_route_uses():
    objs = objects()
    assert agw.route_ports(objs, ports_for(objs), "httpbin", "httpbin") == [20000]
    assert agw.route_ports(objs, ports_for(objs), "httpbin", "missing") == []


def test_each_rule_is_a_route_of_its_own_with_its_matches():
    routes = translate(RULES_ROUTE).config["routes"]
    by_name = {r["name"]: r for r in routes}
    assert by_name["rules/protected"]["matches"] == [{"path": {"pathPrefix": "/anything/protected"}}]
    assert by_name["rules/#1"]["matches"] == [
        {"path": {"exact": "/anything/open"}, "headers": [{"name": "x-a", "value": {"exact": "b"}}], "method": "GET"}]
    assert by_name["rules/#1"]["hostnames"] == ["rules.example.com"]


def test_listener_hostnames_and_allowed_routes_decide_where_a_route_attaches():
    gateway = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: gw, namespace: edge}
    spec:
      gatewayClassName: agentgateway
      listeners:
        - {name: shop, port: 8080, protocol: HTTP, hostname: "*.shop.example", allowedRoutes: {namespaces: {from: All}}}
        - {name: same, port: 8080, protocol: HTTP}
    """
    route = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: r, namespace: apps}
    spec:
      parentRefs: [{name: gw, namespace: edge}]
      hostnames: [a.shop.example, www.example.com]
    """
    t = translate(gateway, route, base=False)
    local = agw.local_gateway_name("edge", "gw", 8080)
    assert t.config["gateways"][local]["listeners"] == [
        {"name": "shop", "protocol": "HTTP", "hostname": "*.shop.example"}, {"name": "same", "protocol": "HTTP"}]
    # Only the listener that allows routes from other namespaces, and only the matching hostname.
    assert [(r["gateways"], r["hostnames"]) for r in t.config["routes"]] == [([f"{local}/shop"], ["a.shop.example"])]
    # A rule-less route gets the Gateway API's default match and no backend.
    assert t.config["routes"][0]["matches"] == [{"path": {"pathPrefix": "/"}}] and t.config["routes"][0]["backends"] == []


CROSS_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross, namespace: agentgateway-system}
spec:
  parentRefs: [{name: agentgateway-proxy}]
  hostnames: [cross.example.com]
  rules:
    - backendRefs: [{name: httpbin, namespace: httpbin, port: 8000, weight: 3}, {name: nothing, port: 8000}]
"""


def grant(to: str = '{group: "", kind: Service}', from_namespace: str = "agentgateway-system") -> str:
    return f"""
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {{name: g, namespace: httpbin}}
spec:
  from: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: {from_namespace}}}]
  to: [{to}]
"""


def cross_backends(*manifests: str) -> list[dict]:
    return [r["backends"] for r in translate(CROSS_ROUTE, *manifests).config["routes"] if r["name"] == "cross/#0"][0]


def test_a_backend_that_cannot_be_resolved_keeps_its_weight_as_an_invalid_backend():
    t = translate(CROSS_ROUTE)
    assert cross_backends() == [{"invalid": None, "weight": 3}, {"invalid": None, "weight": 1}]
    assert any("backend reference not permitted" in n for n in t.notes) and any("backend not found" in n for n in t.notes)


@pytest.mark.parametrize("manifest, reaches", [
    (grant(), True),
    (grant('{group: "", kind: Service, name: httpbin}'), True),
    (grant('{group: "", kind: Service, name: not-httpbin}'), False),
    (grant(from_namespace="somewhere-else"), False),
    (grant().replace("namespace: httpbin}", "namespace: agentgateway-system}"), False),  # a grant must live where the Service is
])
def test_a_reference_grant_in_the_services_namespace_lets_the_route_reach_it(manifest, reaches):
    first = cross_backends(manifest)[0]
    assert first == ({"host": "127.0.0.1:8081", "weight": 3} if reaches else {"invalid": None, "weight": 3})


def test_unready_endpoints_and_other_ports_are_left_out():
    slice_ = """
    apiVersion: discovery.k8s.io/v1
    kind: EndpointSlice
    metadata: {name: more, namespace: httpbin, labels: {kubernetes.io/service-name: httpbin}}
    addressType: IPv4
    ports: [{name: http, port: 9999}, {name: other, port: 7}]
    endpoints:
      - {addresses: [10.0.0.1], conditions: {ready: true}}
      - {addresses: [10.0.0.2], conditions: {ready: false}}
    """
    backends = translate(slice_).config["routes"][0]["backends"]
    assert {b["host"] for b in backends} == {"127.0.0.1:8081", "10.0.0.1:9999"}


# --- policies and where they attach -------------------------------------------------------


def test_a_gateway_policy_targets_the_proxys_gateway_with_the_mode_lowercased():
    t = translate(secret(), policy())
    assert t.config["policies"] == [{
        "name": {"name": "apikey-auth/0", "namespace": "agentgateway-system"},
        "target": {"gateway": PROXY},
        "policy": {"apiKey": {"keys": [{"key": KEY}], "mode": "strict"}},
    }]


@pytest.mark.parametrize("mode, written", [("Optional", "optional"), ("Permissive", "permissive"), (None, "strict")])
def test_the_mode_is_always_written_and_strict_when_omitted(mode, written):
    auth = ("" if mode is None else f"mode: {mode}\n      ") + "secretRef: {name: apikey}"
    assert api_keys(translate(secret(), policy(auth=auth)))["mode"] == written


def test_a_listener_policy_targets_that_listener():
    t = translate(secret(), policy(target="kind: Gateway\n      name: agentgateway-proxy\n      sectionName: http"))
    assert t.config["policies"][0]["target"] == {"gateway": {**PROXY, "listenerName": f"{GW}/http"}}


def test_a_pre_routing_policy_runs_in_the_gateway_phase():
    t = translate(secret(), policy(extra="phase: PreRouting\n    "))
    assert t.config["policies"][0]["phase"] == "gateway"
    assert "phase" not in translate(secret(), policy()).config["policies"][0]


def test_a_route_policy_targets_every_rule_of_the_route_and_a_rule_policy_goes_inline():
    route_key = secret("route-key", "httpbin", body="stringData: {api-key: route-key-4e5f}")
    route_policy = policy("kind: HTTPRoute\n      name: rules", "secretRef: {name: route-key}", "route-auth", "httpbin")
    rule_policy = policy("kind: HTTPRoute\n      name: rules\n      sectionName: protected",
                         "mode: Optional\n      secretRef: {name: route-key}", "rule-auth", "httpbin")
    t = translate(RULES_ROUTE, route_key, route_policy, rule_policy)
    targets = [p["target"] for p in t.config["policies"]]
    assert targets == [{"route": {"name": "rules/protected", "namespace": "httpbin"}},
                       {"route": {"name": "rules/#1", "namespace": "httpbin"}}]
    by_name = {r["name"]: r for r in t.config["routes"]}
    assert by_name["rules/protected"]["policies"] == {"apiKey": {"keys": [{"key": "route-key-4e5f"}], "mode": "optional"}}
    assert "policies" not in by_name["rules/#1"] and "policies" not in by_name["httpbin/#0"]


def test_targets_that_do_not_exist_attach_to_nothing():
    t = translate(secret(), policy(target="kind: Gateway\n      name: no-such-gateway"),
                  policy("kind: HTTPRoute\n      name: no-such-route", name="r"))
    assert t.config["policies"] == []


def test_with_several_gateways_a_gateway_policy_goes_on_each_of_its_listeners():
    other = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: other, namespace: agentgateway-system}
    spec:
      gatewayClassName: agentgateway
      listeners: [{name: http, port: 80, protocol: HTTP}]
    """
    t = translate(other, secret(), policy())
    assert [p["target"] for p in t.config["policies"]] == [{"gateway": {**PROXY, "listenerName": f"{GW}/http"}}]
    assert len(t.config["gateways"]) == 2


def test_gateways_of_another_class_are_not_served():
    other = """
    apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: {name: other, namespace: x}
    spec:
      gatewayClassName: someone-else
      listeners: [{name: http, port: 80, protocol: HTTP}]
    """
    assert agw.listener_ports(objects(other, base=False)) == []


@pytest.mark.parametrize("manifest, says", [
    (policy(extra="cors: {allowOrigins: ['*']}\n    "), "cors is not translated"),
    (policy().replace("  traffic:", "  strategy: {inheritance: Override}\n  traffic:"), "inheritance Override cannot be expressed"),
    (policy(target="kind: ListenerSet\n      name: x"), "ListenerSet are not translated"),
    ("apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g, namespace: httpbin}\n",
     "kind GRPCRoute is not translated"),
    (RULES_ROUTE.replace("    - name: protected\n", "    - name: protected\n      filters: [{type: RequestHeaderModifier}]\n"),
     "filters are not translated"),
])
def test_what_cannot_be_expressed_is_refused_by_the_translation_not_approximated(manifest, says):
    with pytest.raises(agw.Untranslatable, match=says):
        translate(secret(), manifest)


# --- keys -----------------------------------------------------------------------------------


def test_raw_values_are_used_exactly_as_stored_trailing_newlines_included():
    body = """
data:
  from-echo: bmV3bGluZS1rZXktN2QyZQo=
stringData:
  from-block: |
    block-key-3c4d
  clean: clean-key-5e6f
"""
    keys = api_keys(translate(secret("untrimmed", body=body), policy(auth="secretRef: {name: untrimmed}")))["keys"]
    assert keys == [{"key": "block-key-3c4d\n"}, {"key": "clean-key-5e6f"}, {"key": "newline-key-7d2e\n"}]


def test_string_data_overrides_data_of_the_same_name():
    body = f"data: {{api-key: {base64.b64encode(b'old').decode()}}}\nstringData: {{api-key: new}}"
    assert api_keys(translate(secret(body=body), policy()))["keys"] == [{"key": "new"}]


def test_json_entries_with_keys_hashes_and_metadata():
    upper = hashlib.sha256(KEY.encode()).hexdigest().upper()
    body = f"""
stringData:
  client1: '{{"key": "json-key-1a2b", "metadata": {{"team": "a"}}, "comment": "unknown fields are ignored"}}'
  client2: '{{"KeyHash": "sha256:{upper}"}}'
"""
    keys = api_keys(translate(secret("json-keys", body=body), policy(auth="secretRef: {name: json-keys}")))["keys"]
    assert keys == [{"keyHash": f"sha256:{upper}"}, {"key": "json-key-1a2b", "metadata": {"team": "a"}}]


def test_invalid_entries_are_skipped_with_a_note_and_the_good_ones_kept():
    body = """
stringData:
  good: good-key-9f8e
  empty: ""
  blank: "  \\n"
  not-json: '{"key": '
  both: '{"key": "both-key-1c2d", "keyHash": "sha256:ec831936fbbab1232344d9da271d1629fabc992aef393d7d54735b210d4ff166"}'
  neither: '{"metadata": {"team": "a"}}'
  short-hash: '{"keyHash": "sha256:ec8319"}'
  bad-metadata: '{"key": "meta-key-7a8b", "metadata": "not an object"}'
  number: '{"key": 5}'
"""
    t = translate(secret("mixed", body=body), policy(auth="secretRef: {name: mixed}"))
    assert api_keys(t)["keys"] == [{"key": "good-key-9f8e"}]
    skipped = sorted(n.split(" contains invalid key ")[1].split(":")[0] for n in t.notes if "contains invalid key" in n)
    assert skipped == sorted(["empty", "blank", "not-json", "both", "neither", "short-hash", "bad-metadata", "number"])
    assert all(n.startswith("secret mixed contains invalid key") for n in t.notes)
    assert not any("good-key" in n or "meta-key" in n or "both-key" in n for n in t.notes), "a note must never hold a key"


def test_a_missing_secret_leaves_the_policy_in_force_with_zero_keys():
    t = translate(policy(auth="mode: Strict\n      secretRef: {name: created-later}"))
    assert api_keys(t) == {"keys": [], "mode": "strict"}
    assert t.notes == ["secret agentgateway-system/created-later not found"]


def test_secret_refs_and_selectors_stay_in_the_policys_namespace():
    elsewhere = secret("apikey", "httpbin", labels="{app: httpbin}", body="stringData: {k: other-namespace}")
    assert api_keys(translate(elsewhere, policy()))["keys"] == []
    selected = policy(auth="secretSelector: {matchLabels: {app: httpbin, tier: gold}}")
    both = secret("both", labels="{app: httpbin, tier: gold, x: y}", body="stringData: {k: both-labels}")
    one = secret("one", labels="{app: httpbin}", body="stringData: {k: one-label}")
    assert api_keys(translate(elsewhere, both, one, selected))["keys"] == [{"key": "both-labels"}]


def test_the_same_key_twice_is_kept_and_keys_are_sorted():
    a = secret("team-a", labels="{keys: shared}", body="stringData: {shared: zz-key, other: aa-key}")
    b = secret("team-b", labels="{keys: shared}", body="stringData: {also: zz-key}")
    keys = api_keys(translate(a, b, policy(auth="secretSelector: {matchLabels: {keys: shared}}")))["keys"]
    assert keys == [{"key": "aa-key"}, {"key": "zz-key"}, {"key": "zz-key"}]


def test_config_maps_give_hashed_keys_only():
    digest = hashlib.sha256(b"hashed-only").hexdigest()
    cm = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: hashed-keys, namespace: agentgateway-system, labels: {{keys: hashed}}}}
data:
  client1: '{{"keyHash": "sha256:{digest}"}}'
  raw: plain-in-configmap-8a9b
"""
    t = translate(cm, policy(auth="configMapSelector: {matchLabels: {keys: hashed}}"))
    assert api_keys(t)["keys"] == [{"keyHash": f"sha256:{digest}"}]
    says = "configMap hashed-keys contains invalid key raw: keys sourced from a ConfigMap must use keyHash"
    assert any(n.startswith(says) for n in t.notes)


@pytest.mark.parametrize("location, written", [
    ("{header: {name: X-Api-Key}}", {"header": {"name": "X-Api-Key"}}),
    ('{header: {name: X-Auth, prefix: "Token "}}', {"header": {"name": "X-Auth", "prefix": "Token "}}),
    ("{queryParameter: {name: api_key}}", {"queryParameter": {"name": "api_key"}}),
    ("{cookie: {name: session}}", {"cookie": {"name": "session"}}),
    ("{expression: 'request.headers[\"x-api-key\"]'}", {"expression": 'request.headers["x-api-key"]'}),
])
def test_locations_are_passed_as_the_proxy_spells_them(location, written):
    auth = f"mode: Strict\n      secretRef: {{name: apikey}}\n      location: {location}"
    assert api_keys(translate(secret(), policy(auth=auth)))["location"] == written


def test_without_a_location_the_proxys_default_applies():
    assert "location" not in api_keys(translate(secret(), policy()))


# --- the file -------------------------------------------------------------------------------


def test_the_file_survives_the_proxys_shell_expansion():
    t = translate(secret(body="stringData: {k: 'pa$$word-$HOME-${X}'}"), policy(auth="secretRef: {name: apikey}"))
    text = agw.render(t.config)
    assert "pa$$$$word-$$HOME-$${X}" in text
    # Undoing the expansion's escape gives back exactly the configuration.
    assert yaml.safe_load(text.replace("$$", "$")) == t.config


def test_the_marker_is_a_backend_nothing_routes_to():
    config = agw.with_marker(translate().config, "agw-conformance-x-00000001")
    assert config["backends"] == [{"name": "agw-conformance-x-00000001", "host": "127.0.0.1:9"}]
    assert all(b["host"] != "127.0.0.1:9" for r in config["routes"] for b in r["backends"])
