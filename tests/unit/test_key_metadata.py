"""A verified key's metadata for the policies after authentication (spec section 13): the CEL
variables, the authorization rule sets, the request transformation, and their translation
into the proxy's local configuration."""

import pytest
import yaml

from agwmodel import manifests
from agwmodel.traffic import Authorization, HeaderValue, RequestTransformation
from conformance.targets.agentgateway import config as agw
from reference import cel
from reference.authorization import RuleSet, allowed
from reference.transformation import Transformation, apply
from test_agw_config import translate

SALES = cel.variables(cel.api_key({"group": "sales", "tier": 3, "admin": False, "org": {"team": "east"}}),
                      cel.request("GET", "/a", "example.com", [(b"x-a", b"1"), (b"x-b", b"1"), (b"x-b", b"2")]))
NO_KEY = cel.variables(None, cel.request("GET", "/a", "example.com", []))


def policy_on_gw(traffic: str):
    """An AgentgatewayPolicy on the Gateway `gw` whose spec.traffic is the YAML `traffic`."""
    return manifests.parse_object({
        "apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}],
                 "traffic": yaml.safe_load(traffic)},
    })


def rules(*specs: tuple[str, tuple[str, ...]]) -> list[RuleSet]:
    return [RuleSet.of(Authorization(action, expressions)) for action, expressions in specs]


def test_metadata_is_flattened_numbers_are_doubles_and_the_key_is_redacted():
    claims = cel.api_key({"user": "alice", "tier": 3, "key": "not-this", "org": {"n": [1, True]}})
    assert claims == {"user": "alice", "tier": 3.0, "key": "<redacted>", "org": {"n": [1.0, True]}}
    assert cel.Program("apiKey.tier == 3 && apiKey.org.n[0] == 1").evaluate({"apiKey": claims}) is True


def test_request_headers_are_lowercase_and_a_repeated_one_is_a_list():
    assert SALES["request"]["headers"] == {"x-a": "1", "x-b": ["1", "2"]}


@pytest.mark.parametrize("specs, variables, expected", [
    ((), NO_KEY, True),
    ((("Allow", ("apiKey.group == 'sales'",)),), SALES, True),
    ((("Allow", ("apiKey.group == 'support'",)),), SALES, False),
    ((("Allow", ("apiKey.group == 'sales'",)),), NO_KEY, False),  # absent apiKey: the rule fails closed
    ((("Allow", ("false", "apiKey.tier > 2")),), SALES, True),  # any Allow expression
    ((("Require", ("apiKey.tier > 2", "apiKey.org.team == 'west'")),), SALES, False),  # every Require expression
    ((("Require", ("apiKey.tier > 2",)),), SALES, True),
    ((("Deny", ("apiKey.admin",)),), SALES, True),
    ((("Deny", ("apiKey.missing",)),), SALES, True),  # a failed Deny denies nothing
    ((("Deny", ("request.path == '/a'",)), ("Allow", ("true",))), SALES, False),  # Deny before Allow
    ((("Require", ("true",)), ("Allow", ("false",))), SALES, False),  # Allow rules none of which match
])
def test_rule_sets_decide_as_the_product_does(specs, variables, expected):
    assert allowed(rules(*specs), variables) is expected


def test_a_transformation_sets_adds_and_removes_what_does_not_evaluate_to_a_string():
    spec = policy_on_gw("""
transformation:
  request:
    set: [{name: X-Group, value: apiKey.group}, {name: x-tier, value: apiKey.tier}]
    add: [{name: x-a, value: "'2'"}]
""").transformation
    assert spec == RequestTransformation(set=(HeaderValue("x-group", "apiKey.group"), HeaderValue("x-tier", "apiKey.tier")),
                                         add=(HeaderValue("x-a", "'2'"),))
    headers = [(b"x-a", b"1"), (b"x-group", b"spoofed"), (b"x-tier", b"spoofed")]
    assert apply(Transformation.of(spec), headers, SALES) == [(b"x-a", b"1"), (b"x-a", b"2"), (b"x-group", b"sales")]
    assert apply(Transformation.of(spec), headers, NO_KEY) == [(b"x-a", b"1"), (b"x-a", b"2")]


def test_the_local_configuration_gets_one_rule_per_expression_and_header_maps():
    policy = policy_on_gw("""
authorization: {action: Require, policy: {matchExpressions: [a, b]}}
transformation: {request: {set: [{name: X-User, value: apiKey.user}]}}
""")
    assert agw.downstream_policies(policy) == {
        "authorization": {"rules": [{"require": "a"}, {"require": "b"}]},
        "transformations": {"request": {"set": {"x-user": "apiKey.user"}}},
    }
    allow = policy_on_gw("""
authorization: {policy: {matchExpressions: [a]}}
""")
    assert agw.downstream_policies(allow) == {"authorization": {"rules": ["a"]}}


def test_a_gateway_policy_becomes_one_local_entry_per_field():
    # The proxy takes exactly one policy per top-level entry (crates/agentgateway/src/types/local.rs:2855-2856).
    manifest = """
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: agentgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}]
  traffic:
    apiKeyAuthentication: {mode: Strict, secretRef: {name: apikey}}
    authorization: {policy: {matchExpressions: ["apiKey.group == 'a'"]}}
    transformation: {request: {add: [{name: x-user, value: apiKey.user}]}}
"""
    entries = translate(manifest).config["policies"]
    assert [list(e["policy"]) for e in entries] == [["apiKey"], ["authorization"], ["transformations"]]
    assert [e["name"]["name"] for e in entries] == ["p/0", "p/1", "p/2"]
