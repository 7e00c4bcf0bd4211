"""Parsing and validating manifests: what is accepted, and how errors name the culprit."""

import base64

import pytest

from agwmodel import model as m
from reference.objects import Ignored, ManifestError, parse_manifest

POLICY = """
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: apikey-auth, namespace: agentgateway-system}
spec:
  targetRefs:
    - {group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}
  traffic:
    apiKeyAuthentication:
%s
"""


def policy(body: str) -> str:
    return POLICY % "\n".join("      " + line for line in body.strip().splitlines())


def test_secret_data_and_string_data_are_both_keys():
    text = f"""
apiVersion: v1
kind: Secret
metadata: {{name: s, namespace: ns}}
data: {{a: {base64.b64encode(b"key-a").decode()}}}
stringData: {{b: key-b}}
"""
    [secret] = parse_manifest(text, "f.yaml")
    assert isinstance(secret, m.Secret)
    assert secret.data == {"a": b"key-a", "b": b"key-b"}


def test_policy_defaults_to_strict_and_the_authorization_bearer_location():
    [p] = parse_manifest(policy("secretRef: {name: apikey}"), "p.yaml")
    assert p.api_key.mode == "Strict"
    assert p.api_key.location == m.KeyLocation("header", "authorization", "Bearer ")
    assert p.api_key.source.kind == "secretRef" and p.api_key.source.name == "apikey"
    assert p.phase == "PostRouting" and p.inheritance == "Default"


def test_custom_locations():
    [p] = parse_manifest(policy("secretRef: {name: k}\nlocation: {header: {name: X-Api-Key}}"), "p.yaml")
    assert p.api_key.location == m.KeyLocation("header", "X-Api-Key", "")  # as spelt; matched without regard to case
    [p] = parse_manifest(policy("secretRef: {name: k}\nlocation: {queryParameter: {name: api_key}}"), "p.yaml")
    assert p.api_key.location == m.KeyLocation("queryParameter", "api_key")


@pytest.mark.parametrize(
    "body, field, message",
    [
        ("secretRef: {name: a}\nsecretSelector: {matchLabels: {app: x}}", "spec.traffic.apiKeyAuthentication",
         "exactly one of the fields in [secretRef secretSelector configMapSelector] must be set"),
        ("mode: Strict", "spec.traffic.apiKeyAuthentication",
         "exactly one of the fields in [secretRef secretSelector configMapSelector] must be set"),
        ("mode: strict\nsecretRef: {name: a}", "spec.traffic.apiKeyAuthentication.mode", "unsupported value 'strict'"),
        ("secretRef: {}", "spec.traffic.apiKeyAuthentication.secretRef.name", "required"),
        ("secretRef: {name: a}\nlocation: {header: {name: a}, cookie: {name: b}}", "spec.traffic.apiKeyAuthentication.location",
         "exactly one of the fields in [header queryParameter cookie expression] must be set"),
    ],
)
def test_invalid_policies_name_file_document_object_and_field(body, field, message):
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n" + policy(body)
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "policy.yaml")
    err = info.value
    assert err.field == field
    assert message in err.message
    assert str(err).startswith("policy.yaml: document 2: AgentgatewayPolicy agentgateway-system/apikey-auth: " + field)


def test_invalid_yaml_reports_the_line():
    with pytest.raises(ManifestError, match=r"bad.yaml: invalid YAML at line 2"):
        parse_manifest("a: b\n  c: [\n", "bad.yaml")


def test_secret_with_bad_base64_names_the_entry_and_never_its_value():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {api-key: 'not base64!!'}\n"
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "s.yaml")
    assert info.value.field == "data.api-key"
    assert "not base64!!" not in str(info.value)


def test_unknown_kinds_are_ignored_not_errors():
    [item] = parse_manifest("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", "d.yaml")
    assert item == Ignored("apps/v1", "Deployment", "d")


def test_route_defaults():
    text = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: httpbin}
spec:
  parentRefs: [{name: gw, namespace: agentgateway-system}]
  rules: [{backendRefs: [{name: httpbin, port: 8000}]}]
"""
    [route] = parse_manifest(text, "r.yaml")
    assert route.parents == (m.ParentRef("agentgateway-system", "gw", None),)
    rule = route.rules[0]
    assert rule.matches[0].path == m.PathMatch("PathPrefix", "/")
    assert rule.backends == (m.BackendRef("httpbin", "httpbin", 8000, 1),)


def test_pre_routing_needs_a_gateway_target():
    text = policy("secretRef: {name: a}").replace("kind: Gateway", "kind: HTTPRoute").replace("traffic:", "traffic:\n    phase: PreRouting")
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "p.yaml")
    assert info.value.field == "spec.traffic.phase"
