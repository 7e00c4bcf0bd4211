"""The scenario record the reports are made from: which kind of change a manifest is, when
the gateway converged on it, and how keys are masked in manifests and responses."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
import yaml

from conformance.convergence import Rule
from conformance.http import Request, Response
from conformance.targets.base import AddressTarget, ObjectRef, documents
from conformance.trace import Change, Trace, _exchange, kind_of_apply, mask_manifest, record
from conformance.world import World

SECRET = """
apiVersion: v1
kind: Secret
metadata: {name: keys, namespace: agentgateway-system}
data: {a: %s}
"""
POLICY = """
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: agentgateway-system}
spec: {}
"""


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def secret_with(*values: str) -> str:
    data = {f"k{i}": b64(v) for i, v in enumerate(values)}
    return SECRET.replace("data: {a: %s}", "data: " + json.dumps(data))


def test_kinds_of_change():
    first = documents(secret_with("key-one-1111"))
    applied, stores = [ObjectRef.of(first[0])], list(first)
    assert kind_of_apply(documents(POLICY), [], []) == "apply"
    assert kind_of_apply(first, [], []) == "apply"  # a new Secret is an apply
    assert kind_of_apply(documents(secret_with("key-one-1111", "key-two-2222")), applied, stores) == "rotate"
    assert kind_of_apply(documents(secret_with("key-two-2222")), applied, stores) == "rotate"  # one out, one in
    two = documents(secret_with("key-one-1111", "key-two-2222"))
    assert kind_of_apply(documents(secret_with("key-two-2222")), applied, stores + two) == "revoke"  # only taken away


def test_only_the_first_expectation_after_a_change_is_timed():
    trace = Trace()
    trace.converged(5.0)  # nothing changed yet: nothing timed
    trace.begin(Change("apply", "Secret a/b", 10.0))
    trace.begin(Change("delete", "HTTPRoute a/r", 11.0))  # supersedes the apply
    trace.converged(11.25)
    trace.converged(12.0)
    assert trace.timings == [{"change": "delete", "object": "HTTPRoute a/r", "seconds": 0.25}]


def test_manifests_lose_their_keys_but_keep_their_shape():
    manifest = SECRET % b64("raw-key-1234") + "---\n" + """
apiVersion: v1
kind: ConfigMap
metadata: {name: hashed, namespace: agentgateway-system}
data:
  entry: '{"key": "json-key-5678", "keyHash": "sha256:abcd", "metadata": {"team": "a"}}'
"""
    masked = mask_manifest(manifest, lambda text: text)
    assert "raw-key-1234" not in masked and b64("raw-key-1234") not in masked and "json-key-5678" not in masked
    secret, config = yaml.safe_load_all(masked)
    assert secret["stringData"] == {"a": "<redacted>"} and "data" not in secret
    assert json.loads(config["stringData"]["entry"]) == {"key": "<redacted>", "keyHash": "sha256:abcd", "metadata": {"team": "a"}}


def test_echoed_credentials_are_masked_in_responses():
    body = json.dumps({"headers": {"Host": ["www.example.com"], "X-Api-Key": ["secret-9999"], "Cookie": ["k=secret-9999"]}})
    response = Response(200, (("content-type", "application/json"), ("x-echo", "secret-9999")), body.encode())
    request = Request(headers=(("x-api-key", "secret-9999"),))
    shown = _exchange({"expectation": "200", "request": request, "response": response, "error": None},
                      lambda text: text.replace("secret-9999", "<redacted>"))
    assert "secret-9999" not in json.dumps(shown)
    assert '"www.example.com"' in shown["response"]["body"]


def test_the_record_lists_the_checks_a_step_could_not_make_without_their_keys():
    world = World(AddressTarget("http://gateway.invalid"), Rule())
    world.api_key = "generated-key-4242"
    world.not_checked('the key "generated-key-4242" is loaded', "this target cannot show it")
    item = SimpleNamespace(name="test_scenario", stash=pytest.Stash())
    assert record(item, world)["unchecked"] == [{"step": 'the key "<redacted>" is loaded', "reason": "this target cannot show it"}]
    world.trace.unchecked.clear()
    assert record(item, world)["unchecked"] == []


# Go's decoder, and so the controller, takes a member named `key` in any case as the entry's
# key, and applies each of several in turn (spec section 2, agwmodel.entries).
CASED = """
apiVersion: v1
kind: Secret
metadata: {name: cased, namespace: agentgateway-system}
stringData:
  upper: '{"KEY": "upper-member-key-5e7d", "note": "kept"}'
  mixed: '  {"Key": "mixed-member-key-9a1b", "metadata": {"team": "x"}}'
  twice: '{"key": "first-of-two-3c3c", "kEY": "second-of-two-4d4d"}'
"""
CASED_KEYS = ("upper-member-key-5e7d", "mixed-member-key-9a1b", "first-of-two-3c3c", "second-of-two-4d4d")


def test_a_key_member_in_any_case_is_masked_in_the_manifest_shown():
    masked = mask_manifest(CASED, lambda text: text)
    assert not [k for k in CASED_KEYS if k in masked], masked
    entries = yaml.safe_load(masked)["stringData"]
    assert json.loads(entries["upper"]) == {"KEY": "<redacted>", "note": "kept"}
    assert json.loads(entries["mixed"]) == {"Key": "<redacted>", "metadata": {"team": "x"}}
    assert entries["twice"] == '{"key": "<redacted>", "kEY": "<redacted>"}'  # both members, in order


def test_a_key_member_in_any_case_is_a_key_the_world_masks_everywhere():
    world = World(AddressTarget("http://gateway.invalid"), Rule())
    world.stores += documents(CASED)
    text = "sent " + ", ".join(CASED_KEYS)
    assert world.redact(text) == "sent " + ", ".join(["<redacted>"] * 4)


def test_a_secret_value_that_is_not_base64_is_still_masked():
    world = World(AddressTarget("http://gateway.invalid"), Rule())
    world.stores += documents(SECRET % "not*base64*key-7e7e")
    assert world.redact("a not*base64*key-7e7e b") == "a <redacted> b"
    assert "not*base64*key-7e7e" not in mask_manifest(SECRET % "not*base64*key-7e7e", lambda text: text)


def test_a_secret_value_with_line_breaks_in_its_base64_is_read_as_the_api_server_reads_it():
    world = World(AddressTarget("http://gateway.invalid"), Rule())
    encoded = b64("wrapped-key-8f8f")
    world.stores += documents(SECRET % json.dumps(encoded[:8] + "\n" + encoded[8:]))
    assert world.redact("sent wrapped-key-8f8f") == "sent <redacted>"
