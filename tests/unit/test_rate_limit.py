"""`traffic.rateLimit` (spec section 13): the CRD's checks, what is refused by name, the
reference's buckets and entry selection, and the translation into the proxy's local
configuration."""

import pytest
import yaml

from agwmodel import manifests
from agwmodel.manifests import ManifestError
from agwmodel.traffic import LocalLimit, RateLimit, RateLimitEntry
from conformance.targets.agentgateway import config as agw
from reference import cel, ratelimit
from reference.objects import Unsupported, parse_object


def policy_on_gw(traffic: str, read=manifests.parse_object):
    return read({
        "apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy", "metadata": {"name": "p", "namespace": "ns"},
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}],
                 "traffic": yaml.safe_load(traffic)},
    })


def key(**metadata):
    return cel.variables(cel.api_key(metadata), cel.request("GET", "/", "example.com", []))


NO_KEY = cel.variables(None, cel.request("GET", "/", "example.com", []))
PER_USER = """
rateLimit:
  conditional:
    - condition: apiKey.user == 'alice'
      policy: {local: [{requests: 2, unit: Hours}]}
    - policy: {local: [{requests: 1, unit: Minutes, burst: 1}]}
"""


def test_a_plain_local_limit_is_one_entry_without_a_condition():
    policy = policy_on_gw("rateLimit: {local: [{requests: 3, unit: Hours}]}")
    assert policy.rate_limit == RateLimit((RateLimitEntry(None, LocalLimit(3, "Hours")),))


@pytest.mark.parametrize("traffic, field, message", [
    ("rateLimit: {}", "spec.traffic.rateLimit", "at least one of the fields in [conditional global local] must be set"),
    ("rateLimit: {local: [{unit: Hours}]}", "spec.traffic.rateLimit.local[0]", "exactly one of the fields in [requests tokens] must be set"),
    ("rateLimit: {local: [{requests: 1, tokens: 1, unit: Hours}]}", "spec.traffic.rateLimit.local[0]", "exactly one of the fields in [requests tokens] must be set"),
    ("rateLimit: {local: [{requests: 0, unit: Hours}]}", "spec.traffic.rateLimit.local[0].requests", "must be between 1 and 2147483647"),
    ("rateLimit: {local: [{requests: 1}]}", "spec.traffic.rateLimit.local[0].unit", "required"),
    ("rateLimit: {local: [{requests: 1, unit: Days}]}", "spec.traffic.rateLimit.local[0].unit", "unsupported value 'Days': one of Seconds, Minutes, Hours"),
    ("rateLimit: {local: []}", "spec.traffic.rateLimit.local", "between 1 and 16 entries are required"),
    ("rateLimit: {local: [{requests: 1, unit: Hours}], conditional: [{policy: {local: [{requests: 1, unit: Hours}]}}]}",
     "spec.traffic.rateLimit", "conditional cannot be set with any other field"),
    ("rateLimit: {conditional: [{policy: {local: [{requests: 1, unit: Hours}]}}, {condition: 'true', policy: {local: [{requests: 1, unit: Hours}]}}]}",
     "spec.traffic.rateLimit.conditional", "conditional entries without condition must be last"),
    ("rateLimit: {conditional: [{condition: 'true', policy: {}}]}", "spec.traffic.rateLimit.conditional[0].policy",
     "at least one of the fields in [global local] must be set"),
])
def test_the_crds_own_checks(traffic, field, message):
    with pytest.raises(ManifestError) as caught:
        policy_on_gw(traffic)
    assert (caught.value.field, caught.value.message) == (field, message)


@pytest.mark.parametrize("traffic, field", [
    ("rateLimit: {local: [{tokens: 1, unit: Hours}]}", "spec.traffic.rateLimit.local[0].tokens"),
    ("rateLimit: {global: {domain: d}}", "spec.traffic.rateLimit.global"),
    ("rateLimit: {local: [{requests: 1, unit: Hours}, {requests: 9, unit: Seconds}]}", "spec.traffic.rateLimit.local[1]"),
    ("rateLimit: {conditional: [{condition: 'true', policy: {global: {domain: d}}}]}", "spec.traffic.rateLimit.conditional[0].policy.global"),
])
def test_what_is_not_implemented_is_refused_by_name(traffic, field):
    assert policy_on_gw(traffic).unread == (field,)
    with pytest.raises(Unsupported) as caught:
        policy_on_gw(traffic, parse_object)
    assert caught.value.field == field


def test_a_condition_that_does_not_compile_is_refused():
    with pytest.raises(ManifestError) as caught:
        policy_on_gw("rateLimit: {conditional: [{condition: 'apiKey.user ==', policy: {local: [{requests: 1, unit: Hours}]}}]}", parse_object)
    assert caught.value.field == "spec.traffic.rateLimit.conditional[0].condition"


def test_a_bucket_holds_requests_plus_burst_and_refills_requests_each_whole_unit():
    bucket = ratelimit.Bucket(LocalLimit(2, "Minutes", burst=1), now=0.0)
    assert [bucket.take(1.0) for _ in range(3)] == [None, None, None]
    assert bucket.take(59.5) == ratelimit.Exceeded(limit=3, remaining=0, reset_seconds=0)
    assert bucket.take(10.0) == ratelimit.Exceeded(3, 0, 50)
    # Two and a half units later: two refills of 2, capped at 3.
    assert [bucket.take(150.0) for _ in range(4)] == [None, None, None, ratelimit.Exceeded(3, 0, 30)]


def test_the_first_entry_whose_condition_holds_applies_and_a_failed_condition_does_not():
    limiter = ratelimit.Limiter(policy_on_gw(PER_USER).rate_limit, now=0.0)
    alice, bob, plain = key(user="alice"), key(user="bob"), key()
    assert [limiter.check(alice, now=1.0) for _ in range(2)] == [None, None]
    assert limiter.check(alice, now=1.0) == ratelimit.Exceeded(2, 0, 3599)
    # bob and a key without `user` (its condition fails to evaluate) share the last entry's bucket, and so does no key.
    assert [limiter.check(v, now=1.0) for v in (bob, plain)] == [None, None]
    assert limiter.check(NO_KEY, now=1.0) == ratelimit.Exceeded(2, 0, 59)


def test_without_a_fallback_a_request_no_condition_selects_is_not_limited():
    spec = RateLimit((RateLimitEntry("apiKey.user == 'alice'", LocalLimit(1, "Hours")),))
    limiter = ratelimit.Limiter(spec, now=0.0)
    assert [limiter.check(key(user="bob"), now=1.0) for _ in range(5)] == [None] * 5


def test_a_limiter_lasts_while_its_policys_rate_limit_is_unchanged():
    spec = policy_on_gw(PER_USER).rate_limit
    first = ratelimit.limiter("ns", "p", spec)
    assert ratelimit.limiter("ns", "p", spec) is first
    assert ratelimit.limiter("ns", "q", spec) is not first
    changed = RateLimit(spec.entries[:1])
    assert ratelimit.limiter("ns", "p", changed) is not first
    assert first.check(key(user="alice")) is None
    assert ratelimit.limiter("ns", "p", spec).entries[0][1].available == 1
    # Once no configuration holds it, the same limit applied again starts full.
    del first
    assert ratelimit.limiter("ns", "p", spec).entries[0][1].available == 2


def test_the_translation_writes_the_buckets_the_controller_builds():
    plain = policy_on_gw("rateLimit: {local: [{requests: 3, unit: Hours, burst: 2}]}")
    assert agw.downstream_policies(plain) == {
        "localRateLimit": [{"maxTokens": 5, "tokensPerFill": 3, "fillInterval": "1h", "type": "requests"}]}
    assert agw.downstream_policies(policy_on_gw(PER_USER)) == {"localRateLimit": {"conditional": [
        {"condition": "apiKey.user == 'alice'", "maxTokens": 2, "tokensPerFill": 2, "fillInterval": "1h", "type": "requests"},
        {"maxTokens": 2, "tokensPerFill": 1, "fillInterval": "1m", "type": "requests"},
    ]}}
