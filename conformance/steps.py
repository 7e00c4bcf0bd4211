"""Step definitions, in the words of the docs page and the spec.

Every step talks to the target through `World`; none knows which target it is.
"""

from __future__ import annotations

import base64

from pytest_bdd import given, parsers, then, when

from .http import Request, Response
from .targets.base import ObjectRef, Refused
from .world import World

HTTPBIN = Request(method="GET", path="/headers", host="www.example.com")


def _need(docstring: str | None, step: str) -> str:
    assert docstring, f"the step '{step}' needs the manifest as a docstring"
    return docstring


# --- before you begin ------------------------------------------------------------------


@given("an agentgateway proxy is set up")
def proxy_is_set_up(world: World) -> None:
    assert world.target.gateway_url, "the target has no gateway address"


@given("the httpbin sample app is installed")
def httpbin_is_installed(world: World) -> None:
    # Also proves that no policy from an earlier scenario is still in force.
    world.request = HTTPBIN
    world.expect(_from_httpbin(200), "httpbin to answer through the gateway without any API key")


@given(parsers.parse('I generated the API key "{key}"'))
def generated_key(world: World, key: str) -> None:
    world.api_key = key


# --- applying and deleting manifests ---------------------------------------------------


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


# --- requests ------------------------------------------------------------------------


@when("I send a request to the httpbin app without an API key")
def request_without_key(world: World) -> None:
    world.request = HTTPBIN


@when(parsers.parse('I send a request to the httpbin app with the invalid API key "{key}"'))
def request_with_invalid_key(world: World, key: str) -> None:
    world.request = HTTPBIN.with_header("Authorization", f"Bearer {key}")


@when(parsers.re(r"I (?:repeat the request|send a request to the httpbin app) with (?:a|the) valid API key in the Authorization header"))
def request_with_valid_key(world: World) -> None:
    assert world.api_key is not None, "no API key was generated in this scenario"
    world.request = HTTPBIN.with_header("Authorization", f"Bearer {world.api_key}")


@when(parsers.parse('I send a request to the httpbin app with the header "{name}: {value}"'))
def request_with_header(world: World, name: str, value: str) -> None:
    world.request = HTTPBIN.with_header(name, value)


# --- expectations --------------------------------------------------------------------


def _status(code: int):
    def check(response: Response) -> str | None:
        return None if response.status == code else f"status {code}, got {response.error or response.status}"

    return check


def _from_httpbin(code: int):
    def check(response: Response) -> str | None:
        if response.status != code:
            return f"status {code} from httpbin, got {response.error or response.status}"
        if response.upstream_headers() is None:
            return "a response from httpbin (JSON with a headers field), got something else"
        return None

    return check


@then(parsers.parse("the request fails with a {code:d} HTTP response code"))
def request_fails(world: World, code: int) -> None:
    world.expect(_status(code), f"status {code}")


@then("the request succeeds")
def request_succeeds(world: World) -> None:
    world.expect(_from_httpbin(200), "status 200 from httpbin")


@then(parsers.parse('the response body is "{body}"'))
def response_body(world: World, body: str) -> None:
    world.each_response(lambda r: None if r.body == body.encode() else f"body {body!r}, got {r.text!r}")


@then(parsers.parse('the response has the header "{name}: {value}"'))
def response_header(world: World, name: str, value: str) -> None:
    world.each_response(lambda r: None if r.header(name) == [value] else f"header {name}: {value}, got {r.header(name)}")


@then(parsers.parse('the response has no "{name}" header'))
def response_without_header(world: World, name: str) -> None:
    world.each_response(lambda r: None if not r.header(name) else f"no {name} header, got {r.header(name)}")


@then(parsers.parse('httpbin sees the header "{name}" with the value "{value}"'))
def upstream_sees(world: World, name: str, value: str) -> None:
    def check(response: Response) -> str | None:
        seen = response.upstream_header(name)
        return None if seen == [value] else f"httpbin to see {name}: {value!r}, it saw {seen}"

    world.each_response(check)


@then(parsers.parse('httpbin does not see the header "{name}"'))
def upstream_does_not_see(world: World, name: str) -> None:
    def check(response: Response) -> str | None:
        seen = response.upstream_header(name)
        if seen is None:
            return "a response from httpbin"
        return None if not seen else f"httpbin not to see {name}, it saw {len(seen)} value(s)"

    world.each_response(check)
