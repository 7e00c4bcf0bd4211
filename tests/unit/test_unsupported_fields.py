"""Settings the AgentgatewayPolicy CRD (v1.4.1) defines and the reference gateway does not
implement are refused by name, never accepted and ignored: served without its
rate limit, say, a policy lets through requests the limit would refuse.

The field names below are the CRD's (`spec.traffic`, `spec.frontend`, `spec.backend`),
less the ones the reference implements: `traffic.apiKeyAuthentication`, `traffic.phase`,
`traffic.authorization` and `traffic.transformation.request` `set`/`add`.
"""

import pytest

from agwmodel import manifests
from reference.objects import ManifestError, Unsupported, parse_manifest

HEAD = """apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: ns}
spec:
"""
TARGETS = "  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]\n"
API_KEY = "  traffic:\n    apiKeyAuthentication: {secretRef: {name: keys}}\n"

TRAFFIC = ("basicAuthentication", "buffer", "cors", "csrf", "delay", "directResponse", "extAuth", "extProc",
           "headerModifiers", "hostRewrite", "jwtAuthentication", "retry", "timeouts")
# The parts of `transformation` the reference does not implement, each with a value the CRD accepts.
TRANSFORMATION = {
    "response": "{response: {set: [{name: x, value: '1'}]}}",
    "conditional": "{conditional: [{policy: {request: {set: [{name: x, value: '1'}]}}}]}",
    "request.remove": "{request: {remove: [x]}}",
    "request.body": "{request: {body: '1'}}",
    "request.metadata": "{request: {metadata: {a: '1'}}}",
    "request.set[0].name": "{request: {set: [{name: ':path', value: \"'/x'\"}]}}",
}
AUTHORIZATION = "    authorization: {policy: {matchExpressions: ['true']}}\n"
FRONTEND = ("accessLog", "connect", "http", "metrics", "networkAuthorization", "proxyProtocol", "tcp", "tls", "tracing")
BACKEND = ("ai", "auth", "extAuth", "health", "http", "mcp", "tcp", "tls", "transformation", "tunnel")


def refusal(text: str) -> ManifestError:
    with pytest.raises(Unsupported) as caught:
        parse_manifest(text, "p.yaml")
    return caught.value


def assert_refused_by_name(text: str, field: str) -> None:
    err = refusal(text)
    assert err.field == field
    assert str(err) == f"p.yaml: document 1: AgentgatewayPolicy ns/p: {field}: not supported by the reference gateway"


@pytest.mark.parametrize("name", TRAFFIC)
def test_a_traffic_setting_beside_api_key_authentication_is_refused_by_name(name):
    assert_refused_by_name(HEAD + TARGETS + API_KEY + f"    {name}: {{}}\n", f"spec.traffic.{name}")


@pytest.mark.parametrize("part", TRANSFORMATION)
def test_a_transformation_part_the_reference_does_not_implement_is_refused_by_name(part):
    assert_refused_by_name(HEAD + TARGETS + API_KEY + f"    transformation: {TRANSFORMATION[part]}\n", f"spec.traffic.transformation.{part}")


def test_authorization_is_refused_by_name_where_the_reference_does_not_model_it():
    pre_routing = HEAD + TARGETS + API_KEY + "    phase: PreRouting\n" + AUTHORIZATION
    assert refusal(pre_routing).field == "spec.traffic.authorization"
    overriding = HEAD + TARGETS + API_KEY + AUTHORIZATION + "  strategy: {inheritance: Override}\n"
    assert refusal(overriding).field == "spec.traffic.authorization"


def test_an_expression_that_does_not_compile_is_refused_with_its_field():
    with pytest.raises(ManifestError) as caught:
        parse_manifest(HEAD + TARGETS + API_KEY + "    authorization: {policy: {matchExpressions: ['apiKey.group ==']}}\n", "p.yaml")
    assert caught.value.field == "spec.traffic.authorization.policy.matchExpressions[0]"
    assert caught.value.message == "not a valid CEL expression"


@pytest.mark.parametrize("name", FRONTEND)
def test_a_frontend_setting_is_refused_by_name(name):
    assert_refused_by_name(HEAD + TARGETS + f"  frontend:\n    {name}: {{}}\n", f"spec.frontend.{name}")


@pytest.mark.parametrize("name", BACKEND)
def test_a_backend_setting_is_refused_by_name(name):
    assert_refused_by_name(HEAD + TARGETS + f"  backend:\n    {name}: {{}}\n", f"spec.backend.{name}")


def test_targets_chosen_by_label_are_refused_by_name():
    selectors = "  targetSelectors: [{group: gateway.networking.k8s.io, kind: Gateway, matchLabels: {app: x}}]\n"
    assert_refused_by_name(HEAD + selectors + API_KEY, "spec.targetSelectors")


def test_target_refs_and_target_selectors_together_break_the_crd_rule():
    selectors = "  targetSelectors: [{group: gateway.networking.k8s.io, kind: Gateway, matchLabels: {app: x}}]\n"
    with pytest.raises(ManifestError) as caught:
        parse_manifest(HEAD + TARGETS + selectors + API_KEY, "p.yaml")
    assert not isinstance(caught.value, Unsupported)
    assert caught.value.message == "exactly one of the fields in [targetRefs targetSelectors] must be set"


def test_a_target_port_on_a_traffic_policy_breaks_the_crd_rule():
    # The CRD allows a port only on a frontend-only policy, whose settings are refused anyway.
    with pytest.raises(ManifestError) as caught:
        parse_manifest(HEAD + TARGETS.replace("name: gw}", "name: gw, port: 80}") + API_KEY, "p.yaml")
    assert not isinstance(caught.value, Unsupported)
    assert caught.value.field == "spec.targetRefs[0].port"
    assert caught.value.message == "port may only be set on frontend-only policies (not traffic or backend)"
    frontend_only = HEAD + TARGETS.replace("name: gw}", "name: gw, port: 80}") + "  frontend:\n    tcp: {}\n"
    assert refusal(frontend_only).field == "spec.frontend.tcp"


def test_every_unsupported_setting_is_named_and_the_first_is_the_field():
    text = HEAD + TARGETS + API_KEY + "    rateLimit: {local: [{tokens: 1, unit: Hours}]}\n    cors: {}\n  backend:\n    tls: {}\n"
    err = refusal(text)
    assert err.field == "spec.traffic.cors"
    assert err.message == "not supported by the reference gateway (also not supported: spec.traffic.rateLimit.local[0].tokens, spec.backend.tls)"


def test_a_setting_set_to_null_is_no_setting():
    # An API server drops null fields before storing the object.
    [policy] = parse_manifest(HEAD + TARGETS + API_KEY + "    rateLimit: null\n  frontend: {tracing: null}\n", "p.yaml")
    assert policy.api_key is not None and policy.unread == ()


def test_the_shared_model_lists_them_and_leaves_the_refusal_to_each_reader():
    # The translation for the real proxy reads the same model and refuses in its own words.
    text = HEAD + TARGETS + API_KEY + "    cors: {}\n  frontend:\n    tracing: {}\n"
    [policy] = manifests.parse_manifest(text, "p.yaml")
    assert policy.unread == ("spec.traffic.cors", "spec.frontend.tracing")
