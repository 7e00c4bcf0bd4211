"""The kubernetes target says why an API server refused a manifest, and which fields it named.

Only an `Invalid` refusal shows that a manifest broke the schema; the refusal steps count
no other (`tests/unit/test_steps.py`). The API server's own answers come from a real one
(envtest) where a test can provoke them; a 403 needs authorization, which envtest does not
enable, so it is built by hand from the Status an API server sends.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from helpers import kubernetes_target, strict_policy
from lightkube import ApiError

from conformance import Rule
from conformance.steps import manifests
from conformance.targets.base import ObjectRef, Refused
from conformance.targets.kubernetes import KubernetesTarget, refusal
from conformance.world import World

pytestmark = pytest.mark.needs_envtest

NAMESPACE = """
apiVersion: v1
kind: Namespace
metadata: {name: agentgateway-system}
"""
POLICY = NAMESPACE + "---" + strict_policy()
POLICY_REF = ObjectRef("AgentgatewayPolicy", "agentgateway-system", "apikey-auth")


def api_error(code: int, reason: str, message: str, causes: list[dict] | None = None) -> ApiError:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message}
    if causes is not None:
        status["details"] = {"name": "apikey-auth", "kind": "AgentgatewayPolicy", "causes": causes}
    request = httpx.Request("PATCH", "https://api.invalid/apis/agentgateway.dev/v1alpha1/namespaces/agentgateway-system/agentgatewaypolicies/apikey-auth")
    return ApiError(request=request, response=httpx.Response(code, json=status, request=request))


# --- from a Status, built by hand -------------------------------------------------------------

def test_a_403_is_forbidden_and_not_a_validation_refusal():
    refused = refusal(api_error(403, "Forbidden", 'agentgatewaypolicies.agentgateway.dev "apikey-auth" is forbidden: '
                                                  'User "viewer" cannot patch resource "agentgatewaypolicies"'))
    assert (refused.reason, refused.invalid, refused.fields) == ("Forbidden", False, ())
    assert "is forbidden" in str(refused)


def test_a_409_is_a_conflict_and_a_422_is_invalid_with_its_fields():
    assert refusal(api_error(409, "Conflict", "Operation cannot be fulfilled")).reason == "Conflict"
    assert refusal(api_error(409, "AlreadyExists", "already exists")).reason == "AlreadyExists"
    invalid = refusal(api_error(422, "Invalid", 'AgentgatewayPolicy.agentgateway.dev "apikey-auth" is invalid', [
        {"reason": "FieldValueNotSupported", "message": 'Unsupported value: "Lenient"', "field": "spec.traffic.apiKeyAuthentication.mode"},
    ]))
    assert (invalid.reason, invalid.fields) == ("Invalid", ("spec.traffic.apiKeyAuthentication.mode",))


def test_a_status_without_a_reason_is_named_by_its_code():
    assert refusal(api_error(403, "", "forbidden")).reason == "Forbidden"
    assert refusal(api_error(422, "", "invalid")).reason == "Invalid"


def test_a_refusal_of_an_unknown_field_is_invalid_and_names_the_field():
    message = ("failed to create typed patch object (agentgateway-system/apikey-auth; agentgateway.dev/v1alpha1, "
               "Kind=AgentgatewayPolicy): .spec.traffic.apiKeyAuthentification: field not declared in schema")
    refused = refusal(api_error(400, "BadRequest", message))
    assert (refused.reason, refused.fields) == ("Invalid", ("spec.traffic.apiKeyAuthentification",))
    # What server-side apply answers today, for want of a reason (kubernetes/kubernetes#139253).
    refused = refusal(api_error(500, "", message))
    assert (refused.reason, refused.fields) == ("Invalid", ("spec.traffic.apiKeyAuthentification",))
    assert refusal(api_error(500, "", "etcdserver: request timed out")).reason == "Unknown"
    other = refusal(api_error(400, "BadRequest", "the body of the request was in an unknown format"))
    assert (other.reason, other.fields) == ("BadRequest", ())


# --- from a real API server ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[KubernetesTarget]:
    with kubernetes_target() as target:
        target.apply(POLICY)
        try:
            yield target
        finally:
            target.delete(POLICY_REF)


def refused(cluster: KubernetesTarget, manifest: str) -> Refused:
    with pytest.raises(Refused) as caught:
        cluster.apply(manifest)
    return caught.value


def test_a_value_the_crd_does_not_allow_is_invalid_and_named(cluster):
    got = refused(cluster, POLICY.replace("mode: Strict", "mode: Lenient"))
    assert got.reason == "Invalid", repr(got)
    assert "spec.traffic.apiKeyAuthentication.mode" in got.fields, repr(got)


def test_a_field_the_crd_does_not_define_is_refused_as_invalid_and_named(cluster):
    # kubectl applies with strict field validation; without it the API server would drop the
    # field, and with it the policy's authentication.
    got = refused(cluster, POLICY.replace("apiKeyAuthentication:", "apiKeyAuthentification:"))
    assert got.reason == "Invalid", repr(got)
    assert got.fields == ("spec.traffic.apiKeyAuthentification",), repr(got)
    assert cluster.get(POLICY_REF)["spec"]["traffic"]["apiKeyAuthentication"]["mode"] == "Strict"


def test_a_stale_resource_version_is_a_conflict(cluster):
    stale = POLICY.replace("metadata: {name: apikey-auth,", 'metadata: {resourceVersion: "1", name: apikey-auth,')
    got = refused(cluster, stale)
    assert (got.reason, got.invalid) == ("Conflict", False), repr(got)


def test_a_missing_namespace_is_not_found(cluster):
    got = refused(cluster, POLICY.split("---")[1].replace("namespace: agentgateway-system", "namespace: nowhere"))
    assert (got.reason, got.invalid) == ("NotFound", False), repr(got)


def test_the_refusal_steps_fail_on_a_conflict_from_the_api_server(cluster):
    world = World(cluster, Rule(threshold=1, timeout=1, interval=0.01))
    stale = POLICY.split("---")[1].replace("metadata: {name: apikey-auth,", 'metadata: {resourceVersion: "1", name: apikey-auth,')
    got = manifests.try_apply(world, "a policy with a stale resource version", stale)
    with pytest.raises(AssertionError, match=r"not as invalid \(Conflict\)"):
        manifests.manifest_refused_as_invalid(got)
