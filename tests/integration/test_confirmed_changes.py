"""A target that claims `confirms_changes` earns it: the first request after each change
returns sees that change, every time.

The claim lets the convergence rule take its matches back to back (no change can still be
on its way), so it must hold for every kind of change a scenario makes: a policy applied
and deleted (alone, or with its Secret as a scenario's clean-up deletes them), a key added
to a Secret in use and an old one revoked. One request per
check, no retries: a target that returned before its gateway served the change fails here.
"""

from helpers import BINARY, needs_proxy, secret, strict_policy

from conformance.http import Request
from conformance.targets.agentgateway.local import AgentgatewayLocalTarget
from conformance.targets.base import ObjectRef
from conformance.targets.kubernetes import KubernetesTarget
from conformance.targets.reference import ReferenceTarget

ROUNDS = 15
REQUEST = Request(path="/headers", host="www.example.com")
POLICY = ObjectRef("AgentgatewayPolicy", "agentgateway-system", "apikey-auth")
SECRET = ObjectRef("Secret", "agentgateway-system", "apikey")


def keyed(key: str) -> Request:
    return REQUEST.with_header("Authorization", f"Bearer {key}")


def once(target, request: Request) -> int:
    response = target.send(request)
    assert not response.error, response.error
    return response.status


def each_change_seen_by_the_first_request(target) -> None:
    for n in range(ROUNDS):
        old, new = f"old-key-{n:02d}-a1b2c3", f"new-key-{n:02d}-d4e5f6"
        target.apply(secret({"a": old}) + "---" + strict_policy())
        assert (once(target, REQUEST), once(target, keyed(old))) == (401, 200), f"round {n}: the policy applied"
        target.apply(secret({"a": old, "b": new}))
        assert once(target, keyed(new)) == 200, f"round {n}: a key added to the Secret in use"
        target.apply(secret({"b": new}))
        assert (once(target, keyed(old)), once(target, keyed(new))) == (401, 200), f"round {n}: the old key revoked"
        if n % 2:
            target.delete(POLICY)
            assert once(target, REQUEST) == 200, f"round {n}: the policy deleted"
        else:
            target.delete_all([POLICY, SECRET])  # a scenario's clean-up, in one change
            assert once(target, REQUEST) == 200, f"round {n}: the policy and its Secret deleted together"


def test_the_reference_target_confirms_each_change():
    with ReferenceTarget(frozenset()).running() as target:
        assert target.confirms_changes
        each_change_seen_by_the_first_request(target)


@needs_proxy
def test_the_agentgateway_local_target_confirms_each_change(tmp_path):
    with AgentgatewayLocalTarget(BINARY, workdir=tmp_path, timeout=60).running() as target:
        assert target.confirms_changes
        each_change_seen_by_the_first_request(target)


def test_only_the_targets_tested_here_claim_it():
    """A target watching an API server cannot see when its gateway took a change, and a
    reference with several workers hears from one of them: both keep the matches spaced."""
    assert ReferenceTarget(frozenset()).confirms_changes
    assert not ReferenceTarget(frozenset(), serve_flags=("--workers", "2")).confirms_changes
    assert AgentgatewayLocalTarget.confirms_changes
    assert not KubernetesTarget.confirms_changes

