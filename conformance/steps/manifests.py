"""Before you begin, applying and deleting manifests, and what the API holds."""

from __future__ import annotations

import base64

from pytest_bdd import given, parsers, then, when

from ..targets.base import ObjectRef, Refused
from ..world import World
from .requests import HTTPBIN, from_httpbin



def _need(docstring: str | None, step: str) -> str:
    assert docstring, f"the step '{step}' needs the manifest as a docstring"
    return docstring


@given("an agentgateway proxy is set up")
def proxy_is_set_up(world: World) -> None:
    assert world.target.gateway_url, "the target has no gateway address"


@given("the httpbin sample app is installed")
def httpbin_is_installed(world: World) -> None:
    # Also proves that nothing from an earlier scenario is still in force.
    world.request = HTTPBIN
    world.expect(from_httpbin(200), "httpbin to answer through the gateway without any API key")


@given(parsers.parse('I generated the API key "{key}"'))
def generated_key(world: World, key: str) -> None:
    world.api_key = key


@given(parsers.re(r"I (?:create|apply|refer to|use|update) (?P<what>.+)"))
@when(parsers.re(r"I (?:create|apply|refer to|use|update) (?P<what>.+)"))
def apply_manifest(world: World, what: str, docstring: str | None) -> None:
    world.apply(_need(docstring, what))


@when(parsers.re(r"I try to apply (?P<what>.+)"), target_fixture="refusal")
def try_apply(world: World, what: str, docstring: str | None) -> str | None:
    try:
        world.apply(_need(docstring, what))
    except Refused as exc:
        return str(exc)
    return None


@then(parsers.parse('the manifest is refused with a message containing "{text}"'))
def manifest_refused(refusal: str | None, text: str) -> None:
    assert refusal is not None, "the target accepted a manifest it should have refused"
    assert text in refusal, f"the refusal does not say {text!r}: {refusal}"


@given(parsers.parse('I delete the {kind} "{name}" in namespace "{namespace}"'))
@when(parsers.parse('I delete the {kind} "{name}" in namespace "{namespace}"'))
def delete_object(world: World, kind: str, name: str, namespace: str) -> None:
    world.delete(ObjectRef(kind, namespace, name))


@then(parsers.parse('the secret "{name}" in namespace "{namespace}" holds the API key base64 encoded in data.{entry}'))
def secret_holds_key(world: World, name: str, namespace: str, entry: str) -> None:
    secret = world.target.get(ObjectRef("Secret", namespace, name))
    assert secret is not None, f"secret {namespace}/{name} does not exist"
    value = (secret.get("data") or {}).get(entry)
    assert value is not None, f"secret {namespace}/{name} has no data.{entry}; it has {sorted(secret.get('data') or {})}"
    assert world.api_key is not None, "no API key was generated in this scenario"
    expected = base64.b64encode(world.api_key.encode()).decode()
    assert value == expected, f"data.{entry} is not the base64 encoding of the generated API key"
