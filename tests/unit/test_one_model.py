"""The reference gateway and the translation for the real proxy read manifests with one model.

Before they shared `agwmodel`, the two readers disagreed on inputs that change the HTTP
answer; each such input is here, read by both, which must now agree with each other and
with the controller (upstream v1.4.1 `processAPIKeyAuthenticationPolicy`, Go's
encoding/json and bytes.TrimSpace) and the proxy's route matching (`http/route.rs`).
"""

from __future__ import annotations

import base64
import textwrap

import pytest

from agwmodel.entries import Entry, InvalidEntry, read_entry
from conformance.targets.agentgateway import config as agw
from conformance.targets.base import ObjectRef, documents
from reference import config as cfg
from reference.objects import parse_manifest

POLICY_AND_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns}
spec:
  gatewayClassName: agentgateway
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns}
spec:
  parentRefs: [{name: gw}]
  rules:
    - name: with-param
      matches: [{path: {type: PathPrefix, value: /}, queryParams: [{name: tier, value: gold}]}]
      backendRefs: [{name: svc, port: 80}]
    - name: without
      backendRefs: [{name: svc, port: 80}]
---
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    apiKeyAuthentication: {mode: Strict, secretRef: {name: keys}}
"""


def secret(raw: bytes) -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: keys, namespace: ns}}
data: {{entry: {base64.b64encode(raw).decode()}}}
"""


def reference_keys(text: str) -> cfg.AuthPolicy:
    config = cfg.build([o for o in parse_manifest(text, "test.yaml")], "agentgateway")
    return config.policies[0]


def translation(text: str) -> agw.Translation:
    objects = {ObjectRef.of(doc): doc for doc in documents(text)}
    ports = agw.Ports({key: 20000 + i for i, key in enumerate(agw.listener_ports(objects))}, admin=1, stats=2, readiness=3)
    return agw.translate(objects, ports)


# Each input once disagreed: reference / translation, before the shared reader.
DISAGREED = [
    (b'{"key":"abc","KEY":null}', "abc"),  # was: reference invalid; translation abc (Go: null leaves the field as it was)
    (b'{"key":"b","Key":"c","key":"d"}', "d"),  # was: reference c; translation d (Go applies every member in order)
    ("\u00a0".encode(), None),  # was: reference a raw key; translation empty (Go trims Unicode spaces)
    (b"\xffkey", None),  # was: reference a raw key; translation invalid (keys travel as UTF-8 protobuf strings)
]


@pytest.mark.parametrize("raw, key", DISAGREED)
def test_the_reference_and_the_translation_accept_the_same_keys(raw, key):
    text = POLICY_AND_ROUTE + "---" + secret(raw)
    on_reference = reference_keys(text)
    written = [k.get("key") for p in translation(text).config["policies"] for k in p["policy"]["apiKey"]["keys"]]
    if key is None:
        assert len(on_reference.keys) == 0 and written == []
        assert on_reference.problems, "a skipped entry is reported in the policy's status"
    else:
        assert on_reference.keys.lookup(key.encode()) is not None
        assert written == [key]


def test_query_parameter_matches_are_honoured_by_both():
    # The reference once dropped queryParams, so the rule that needs ?tier=gold also served requests without it.
    config = cfg.build(parse_manifest(POLICY_AND_ROUTE, "test.yaml"), "agentgateway")
    view = config.listeners[0]

    def rule(query: bytes) -> str | None:
        from agwmodel.routing import select

        found = select(view.candidates, "example.com", "GET", "/", {}, query)
        return found.rule.name if found else None

    assert rule(b"tier=gold") == "with-param"
    assert rule(b"") == "without"
    assert rule(b"tier=silver") == "without"
    assert rule(b"tier=silver&tier=gold") == "with-param"  # the last value of a name counts, as in the proxy
    routes = {r["name"]: r for r in translation(POLICY_AND_ROUTE).config["routes"]}
    assert routes["r/with-param"]["matches"][0]["query"] == [{"name": "tier", "value": {"exact": "gold"}}]
    assert "query" not in routes["r/without"]["matches"][0]


@pytest.mark.parametrize("value, kept", [
    # Go's encoding/json matches field names without regard to case.
    ('{"KEY": "upper-key"}', Entry("upper-key", "")),
    ('{"Key": "a", "key": "b"}', Entry("b", "")),
    # An empty or null keyHash counts as unset, so the key alone is valid.
    ('{"key": "k1", "keyHash": ""}', Entry("k1", "")),
    ('{"key": null, "keyHash": "sha256:' + "ab" * 32 + '"}', Entry("", "sha256:" + "ab" * 32)),
    # metadata null is no metadata (protobuf's JSON reader ignores null for a message).
    ('{"key": "k2", "metadata": null}', Entry("k2", "")),
    ('{"key": "k2", "metadata": {"team": {"name": "a", "name": "b"}}}', Entry("k2", "", {"team": {"name": "b"}})),
    # Leading blanks before the JSON are allowed; the raw value of a non-JSON entry is kept whole.
    ('  {"key": "k3"}', Entry("k3", "")),
    (" raw with spaces ", Entry(" raw with spaces ", "")),
])
def test_entries_are_read_as_the_controllers_go_code_reads_them(value, kept):
    assert read_entry(value.encode()) == kept


@pytest.mark.parametrize("value, reason", [
    ('{"key": "a", "x": NaN}', "not valid JSON"),  # Python's reader takes NaN; Go's does not
    ('{"key": 5}', "key must be a string"),
    ('{"key": "a"} trailing', "not valid JSON"),
    ("\u2003\u3000", "empty value"),
])
def test_entries_the_controller_skips(value, reason):
    with pytest.raises(InvalidEntry, match=reason):
        read_entry(value.encode())


def test_an_escaped_lone_surrogate_is_read_as_go_reads_it():
    assert read_entry(b'{"key": "a\\ud800"}').key == "a\ufffd"


def test_a_reference_only_refusal_stays_in_the_reference():
    text = textwrap.dedent(POLICY_AND_ROUTE).replace(
        "apiKeyAuthentication: {mode: Strict, secretRef: {name: keys}}",
        "apiKeyAuthentication: {mode: Strict, secretRef: {name: keys}, location: {expression: 'request.headers.x'}}",
    )
    with pytest.raises(ValueError, match="CEL expressions are not supported by the reference gateway"):
        parse_manifest(text, "test.yaml")
    policies = translation(text).config["policies"]
    assert policies[0]["policy"]["apiKey"]["location"] == {"expression": "request.headers.x"}


def test_a_backend_of_another_kind_is_an_invalid_reference_for_both():
    # The reference once refused the whole route; the Gateway API asks for a 500 on that rule.
    text = POLICY_AND_ROUTE.replace("backendRefs: [{name: svc, port: 80}]\n    - name: without",
                                    "backendRefs: [{group: multicluster.x-k8s.io, kind: ServiceImport, name: svc}]\n    - name: without")
    config = cfg.build(parse_manifest(text, "test.yaml"), "agentgateway")
    route = next(c.route for c in config.listeners[0].candidates)
    [ref] = route.rules[0].backends
    assert config.invalid(route, ref) == "backend kind not supported"
    routes = {r["name"]: r for r in translation(text).config["routes"]}
    assert routes["r/with-param"]["backends"] == [{"invalid": None, "weight": 1}]
