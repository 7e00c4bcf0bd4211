"""The step definitions and the world they share, against small fake targets."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest

from conformance import Request, Response, Rule
from conformance.convergence import NotConverged
from conformance.places import PLACES
from conformance.steps import expectations, manifests, status
from conformance.targets.base import ObjectRef, Refused, Target
from conformance.world import World

pytest_plugins = ["pytester"]

KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
FAST = Rule(threshold=3, timeout=0.3, interval=0.005)


class FakeTarget(Target):
    name = "fake"

    def __init__(self, answers=(), statuses=(), stored=None, loaded=None):
        self.answers = list(answers)
        self.statuses = list(statuses)
        self.stored = stored or {}
        self.loaded = loaded  # what the gateway loaded, by object; None: the target cannot show it
        self.applied: list[str] = []
        self.sent: list[Request] = []

    def start(self): ...
    def stop(self): ...
    def install_base(self): ...

    def apply(self, manifest):
        self.applied.append(manifest)
        return []

    def delete(self, ref): ...

    def get(self, ref):
        return self.stored.get(ref)

    def policy_status(self, namespace, name):
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def loaded_key_digests(self, ref):
        if self.loaded is None:
            return super().loaded_key_digests(ref)
        return self.loaded.get(ref)

    @property
    def gateway_url(self):
        return "http://gateway.invalid"

    def send(self, request):
        self.sent.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def httpbin(**fields) -> Response:
    body = {"headers": {"Host": ["www.example.com"]}, **fields}
    return Response(200, (("content-type", "application/json"),), json.dumps(body).encode())


def secret(**string_data) -> str:
    return "\n".join(["apiVersion: v1", "kind: Secret", "metadata: {name: s, namespace: agentgateway-system}", "stringData:"]
                     + [f"  {k}: {json.dumps(v)}" for k, v in string_data.items()])


def status_with(message: str, reason: str = "PartiallyValid") -> dict:
    ref = {"kind": "Gateway", "name": "agentgateway-proxy"}
    return {"ancestors": [{"ancestorRef": ref, "conditions": [{"type": "Accepted", "status": "True", "reason": reason, "message": message}]}]}


# --- issue 9, item 7: keys never shown ------------------------------------------------------

def test_a_key_inside_a_json_entry_leaking_into_status_is_caught():
    world = World(FakeTarget(), FAST)
    world.apply(secret(good="good-key-9f8e", broken='{"key": "half-a-secret-6c7d", "metadata": 42}'))
    world.last_status = status_with("secret s contains invalid key broken: metadata must be an object (half-a-secret-6c7d)")
    with pytest.raises(AssertionError, match="contains a key"):
        status.status_never_shows_key(world)


def test_the_plain_key_behind_a_known_hash_leaking_into_status_is_caught():
    world = World(FakeTarget(), FAST)
    digest = hashlib.sha256(b"hashed-only-key-3c1f9a").hexdigest()
    world.apply(secret(client='{"keyHash": "sha256:%s", "metadata": 7}' % digest.upper()))
    world.note_request(Request().with_header("Authorization", "Bearer hashed-only-key-3c1f9a"))
    world.last_status = status_with("secret s contains invalid key client: hashed-only-key-3c1f9a")
    with pytest.raises(AssertionError, match="contains a key"):
        status.status_never_shows_key(world)


def test_a_status_without_keys_passes_and_data_entries_count_too():
    world = World(FakeTarget(), FAST)
    world.apply("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: n}\ndata:\n  old: " + base64.b64encode(b"old-key-1111").decode())
    world.last_status = status_with("secret s contains invalid key broken: metadata must be an object")
    status.status_never_shows_key(world)
    world.last_status = status_with("old-key-1111")
    with pytest.raises(AssertionError):
        status.status_never_shows_key(world)


def test_request_descriptions_redact_query_cookie_and_header_values():
    request = Request(path=f"/anything?z=1&api_key={KEY}").with_header("Cookie", f"a=1; session={KEY}").with_header("X-Api-Key", KEY)
    text = request.describe()
    assert KEY not in text
    assert "api_key=<redacted" in text and "session=<redacted" in text and "z=<redacted" in text


def test_failure_messages_never_show_a_key_the_scenario_knows():
    echoing = Response(500, (), f"boom: you sent {KEY}".encode())
    world = World(FakeTarget(answers=[echoing]), FAST)
    world.api_key = KEY
    world.request = Request(path=f"/anything?api_key={KEY}")
    with pytest.raises(NotConverged) as caught:
        world.expect(lambda r: "status 200", "status 200")
    assert KEY not in str(caught.value)
    with pytest.raises(AssertionError) as caught:
        world.responses = [echoing]
        expectations.response_body(world, "expected")
    assert KEY not in str(caught.value)


def test_a_failing_query_check_does_not_print_the_query_values():
    world = World(FakeTarget(), FAST)
    world.request = Request(path="/anything")
    world.responses = [httpbin(url=f"http://www.example.com/anything?api_key={KEY}&a=2")]
    with pytest.raises(AssertionError) as caught:
        expectations.upstream_query(world, "a=2")
    assert KEY not in str(caught.value) and "api_key=<redacted" in str(caught.value)


# --- issue 9, item 8: status by the convergence rule; unknowable means failed ------------------

def test_a_status_must_match_on_consecutive_reads():
    good, bad = status_with("", "Valid"), status_with("", "PartiallyValid")
    world = World(FakeTarget(statuses=[good, bad, good, bad]), FAST)
    with pytest.raises(AssertionError, match="3 times in a row"):
        status.policy_condition(world, "p", "ns", "Accepted", "True", "Valid", None, "Gateway", "agentgateway-proxy")


def test_a_status_that_settles_passes():
    good, bad = status_with("", "Valid"), status_with("", "PartiallyValid")
    target = FakeTarget(statuses=[bad, bad, good, good, good])
    world = World(target, FAST)
    status.policy_condition(world, "p", "ns", "Accepted", "True", "Valid", None, "Gateway", "agentgateway-proxy")
    assert world.last_status == good and target.statuses == [good]


@pytest.mark.parametrize("answer", [httpbin(), httpbin(args="not an object"), httpbin(args=None)],
                         ids=["no args", "args not an object", "args null"])
def test_a_query_place_that_cannot_tell_fails_the_check(answer):
    world = World(FakeTarget(), FAST)
    world.place, world.presented = PLACES["the api_key query parameter"], KEY
    for present in (False, True):
        problem = expectations._credential_check(world, present=present)(answer)
        assert problem is not None and "does not say" in problem


def test_a_query_place_that_can_tell_decides():
    world = World(FakeTarget(), FAST)
    world.place, world.presented = PLACES["the api_key query parameter"], KEY
    removed, kept = httpbin(args={"a": ["2"]}), httpbin(args={"api_key": [KEY]})
    assert expectations._credential_check(world, present=False)(removed) is None
    assert expectations._credential_check(world, present=False)(kept) is not None
    assert expectations._credential_check(world, present=True)(kept) is None


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


PAGE_SECRET = ObjectRef("Secret", "agentgateway-system", "apikey")


def page_secret_step(world: World) -> None:
    manifests.secret_holds_key(world, "apikey", "agentgateway-system", "api-key")


def test_the_page_secret_step_checks_what_the_gateway_loaded_not_what_the_store_says():
    # The store (the harness's record, or the file it wrote) holds the generated key; the
    # gateway loaded another one. Only the gateway's word counts.
    stored = {PAGE_SECRET: {"data": {"api-key": base64.b64encode(KEY.encode()).decode()}}}
    world = World(FakeTarget(stored=stored, loaded={PAGE_SECRET: {"api-key": sha256("something else")}}), FAST)
    world.api_key = KEY
    with pytest.raises(AssertionError, match="is not the generated API key") as caught:
        page_secret_step(world)
    for shown in (KEY, base64.b64encode(KEY.encode()).decode(), sha256(KEY), sha256("something else")):
        assert shown not in str(caught.value), "the failure shows the key, or a digest"


def test_the_page_secret_step_passes_when_the_gateway_loaded_the_generated_key():
    world = World(FakeTarget(loaded={PAGE_SECRET: {"api-key": sha256(KEY), "other": sha256("x")}}), FAST)
    world.api_key = KEY
    page_secret_step(world)
    assert world.trace.unchecked == []


@pytest.mark.parametrize("loaded, says", [
    ({}, "has no secret agentgateway-system/apikey"),
    ({PAGE_SECRET: {"other": sha256(KEY)}}, r"loaded no key from data.api-key .*\['other'\]"),
])
def test_the_page_secret_step_fails_when_the_gateway_loaded_no_such_key(loaded, says):
    world = World(FakeTarget(loaded=loaded), FAST)
    world.api_key = KEY
    with pytest.raises(AssertionError, match=says):
        page_secret_step(world)


def test_where_the_target_cannot_show_what_was_loaded_the_step_passes_unchecked():
    stored = {PAGE_SECRET: {"data": {"api-key": base64.b64encode(KEY.encode()).decode()}}}
    world = World(FakeTarget(stored=stored), FAST)  # loaded=None: the base class's answer
    world.api_key = KEY
    page_secret_step(world)
    [unchecked] = world.trace.unchecked
    assert unchecked["step"].startswith('the secret "apikey" in namespace "agentgateway-system" holds the API key')
    assert unchecked["reason"] == "the fake target cannot show which keys its gateway loaded"


# --- issue 9, item 9: step phrases that say what they do, and nothing else ----------------------

FOREIGN = [
    "I create an account", "I use the coffee machine", "I apply the discount code", "I update my profile",
    "I refer to the manual", "I create a user", "I apply for a loan", "I try to apply a coupon",
    "I send a request", "I delete the cart",
]


def test_no_step_captures_another_projects_phrases(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    # A project that imports our steps and writes its own phrases, as Given, When and Then:
    # pytest-bdd must find no step of ours for any of them.
    scenarios = [f"  Scenario: {keyword} {phrase}\n    {keyword} {phrase}\n" for phrase in FOREIGN for keyword in ("Given", "When", "Then")]
    (pytester.path / "other.feature").write_text("Feature: Another project's\n" + "".join(scenarios))
    pytester.makepyfile(test_other="from pytest_bdd import scenarios\n"
                                   "from conformance.steps import *  # noqa: F403\n"
                                   "scenarios('other.feature')\n")
    monkeypatch.setenv("COLUMNS", "500")  # summary lines long enough to name the exception
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "--tb=no")
    outcomes = [line for line in result.stdout.lines if line.startswith(("PASSED", "FAILED", "ERROR"))]
    captured = [line for line in outcomes if "StepDefinitionNotFound" not in line]
    assert len(outcomes) == len(scenarios) and not captured, "\n".join(captured) or result.stdout.str()[-3000:]


def test_steps_hold_manifests_to_their_words():
    world = World(FakeTarget(), FAST)
    policy = manifests.named_manifest("apikey-auth-strict")
    with pytest.raises(AssertionError, match="does not say"):
        manifests.create_or_update(world, "create", "a Secret with keys", policy)
    with pytest.raises(AssertionError, match="Optional policies"):
        manifests.apply_policy(world, "", "Optional", " on the Gateway", policy)
    with pytest.raises(AssertionError, match="pre-routing"):
        manifests.apply_policy(world, "pre-routing ", "Strict", " on the Gateway", policy)
    with pytest.raises(AssertionError, match="without a mode"):
        manifests.apply_policy(world, "", None, " without a mode on the Gateway", policy)
    with pytest.raises(AssertionError, match="never applied"):
        manifests.create_or_update(world, "update", "the Secret to revoke a key", manifests.named_manifest("apikey-secret"))
    manifests.create_or_update(world, "create", "the Secret", manifests.named_manifest("apikey-secret"))
    with pytest.raises(AssertionError, match="already applied"):
        manifests.create_or_update(world, "create", "the Secret again", manifests.named_manifest("apikey-secret"))
    manifests.apply_policy(world, "", "Strict", " on the Gateway", policy)
    assert len(world.target.applied) == 2


def test_named_manifests_are_whole_objects_and_never_the_base():
    names = sorted(p.stem for p in manifests.MANIFESTS.glob("*.yaml") if p.stem not in manifests.BASE_MANIFESTS)
    assert {"apikey-secret", "apikey-auth-strict"} <= set(names)
    for name in names:
        assert re.fullmatch(r"[a-z0-9-]+", name)
        for doc in manifests.documents(manifests.named_manifest(name)):
            assert doc["metadata"]["name"] and doc["metadata"]["namespace"]
    with pytest.raises(AssertionError, match="installed by the target"):
        manifests.named_manifest("base")


# --- a validation refusal must be one ------------------------------------------------------

class RefusingTarget(FakeTarget):
    """Refuses every manifest, for the reason it is given."""

    def __init__(self, refusal: Refused):
        super().__init__()
        self.refusal = refusal

    def apply(self, manifest):
        raise self.refusal


BAD_POLICY = manifests.named_manifest("apikey-auth-strict").replace("mode: Strict", "mode: Lenient")
NOT_VALIDATION = [
    Refused("agentgatewaypolicies.agentgateway.dev is forbidden: User cannot patch resource", reason="Forbidden"),
    Refused("Operation cannot be fulfilled: the object has been modified", reason="Conflict"),
    Refused("AgentgatewayPolicy agentgateway-system/apikey-auth already exists and was not created by this suite", reason="Ownership"),
    Refused("namespaces \"agentgateway-system\" not found", reason="NotFound"),
    Refused("refused, for a reason the target did not say"),
]


def try_to_apply(refusal: Refused):
    world = World(RefusingTarget(refusal), FAST)
    world.api_key = KEY
    return manifests.try_apply(world, "a policy with the mode Lenient", BAD_POLICY)


@pytest.mark.parametrize("refused", NOT_VALIDATION, ids=lambda r: r.reason)
def test_the_refusal_steps_fail_on_a_refusal_that_is_not_for_an_invalid_manifest(refused):
    refusal = try_to_apply(refused)
    said = refused.message.split()[0]  # the message says it: only the reason is wrong
    with pytest.raises(AssertionError, match=rf"not as invalid \({refused.reason}\)"):
        manifests.manifest_refused(refusal, said)
    with pytest.raises(AssertionError, match=rf"not as invalid \({refused.reason}\)"):
        manifests.manifest_refused_as_invalid(refusal)
    with pytest.raises(AssertionError, match=rf"not as invalid \({refused.reason}\)"):
        manifests.manifest_refused_at_field(refusal, "spec.traffic.apiKeyAuthentication.mode")


def test_the_refusal_steps_pass_on_an_invalid_manifest_and_check_its_message_and_field():
    field = "spec.traffic.apiKeyAuthentication.mode"
    refusal = try_to_apply(Refused(f'{field}: Unsupported value: "Lenient"', reason="Invalid", fields=[field]))
    manifests.manifest_refused_as_invalid(refusal)
    manifests.manifest_refused(refusal, "Unsupported value")
    manifests.manifest_refused_at_field(refusal, field)
    with pytest.raises(AssertionError, match="does not say"):
        manifests.manifest_refused(refusal, "exactly one of the fields")
    with pytest.raises(AssertionError, match="does not name the field spec.traffic.phase"):
        manifests.manifest_refused_at_field(refusal, "spec.traffic.phase")


def test_a_refusal_is_shown_redacted_whatever_its_reason():
    refusal = try_to_apply(Refused(f"forbidden to store {KEY}", reason="Forbidden"))
    with pytest.raises(AssertionError) as caught:
        manifests.manifest_refused_as_invalid(refusal)
    assert KEY not in str(caught.value) and "<redacted>" in str(caught.value)


# --- counted requests: a rate limit's budget is spent by the checks themselves ----------------

def test_counted_requests_are_sent_exactly_once_each():
    limited = Response(429, (("content-type", "text/plain"),), b"rate limit exceeded")
    target = FakeTarget(answers=[httpbin(), httpbin(), limited])
    world = World(target, FAST)
    world.request = Request(path="/headers")
    expectations.next_requests(world, "2", None)
    assert len(target.sent) == 2 and len(world.responses) == 2
    expectations.next_requests(world, None, "429")
    assert len(target.sent) == 3 and world.responses == [limited]


def test_a_counted_request_that_misses_fails_at_once_naming_which_and_never_resends():
    target = FakeTarget(answers=[httpbin(), Response(429, (), b"rate limit exceeded"), httpbin()])
    world = World(target, FAST)
    world.api_key = KEY
    world.request = Request(headers=(("Authorization", f"Bearer {KEY}"),))
    with pytest.raises(AssertionError) as caught:
        expectations.next_requests(world, "3", None)
    assert len(target.sent) == 2
    assert "request 2 got status 200 from httpbin, got 429" in str(caught.value)
    assert KEY not in str(caught.value)
