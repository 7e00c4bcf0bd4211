"""Then-steps: each either converges on a new expectation, or checks the responses the
last expectation converged on."""

from __future__ import annotations

import json

from pytest_bdd import given, parsers, then

from agwmodel.carriers import redact_query

from ..http import Response
from ..world import World
from .requests import from_httpbin, request_with_key_at


FAILURE = "api key authentication failure: "


def _status(code: int):
    def check(response: Response) -> str | None:
        return None if response.status == code else f"status {code}, got {response.error or response.status}"

    return check


@then(parsers.parse("the request fails with a {code:d} HTTP response code"))
def request_fails(world: World, code: int) -> None:
    world.expect(_status(code), f"status {code}")


@then(parsers.re(r"the next (?:(?P<times>\d+) requests|request) (?:succeeds?|fails? with a (?P<code>\d{3}) HTTP response code)$"))
def next_requests(world: World, times: str | None, code: str | None) -> None:
    """Requests counted one by one, each sent once (World.count): for a rate limit, whose count
    each request changes."""
    check = from_httpbin(200) if code is None else _status(int(code))
    world.count(check, "status 200 from httpbin" if code is None else f"status {code}", int(times or 1))


@then("the request succeeds")
def request_succeeds(world: World) -> None:
    world.expect(from_httpbin(200), "status 200 from httpbin")


@then(parsers.parse('the request is refused with "{reason}"'))
def refused_with(world: World, reason: str) -> None:
    body = (FAILURE + reason).encode()

    def check(response: Response) -> str | None:
        if response.status != 401 or response.body != body:
            return f"401 {body.decode()!r}, got {response.error or response.status}"
        return None

    world.expect(check, f"a 401 saying {reason!r}")


@then("the request is refused the gRPC way, with grpc-status 16")
def grpc_refused(world: World) -> None:
    def check(response: Response) -> str | None:
        if response.status != 200 or response.header("grpc-status") != ["16"]:
            return f"HTTP 200 with grpc-status 16, got {response.error or response.status} with grpc-status {response.header('grpc-status')}"
        return None

    world.expect(check, "HTTP 200 with grpc-status 16")


@then("the request is forwarded")
def forwarded(world: World) -> None:
    world.expect(from_httpbin(200), "the request forwarded to httpbin")


def _credential_check(world: World, present: bool):
    place, key = world.place, world.presented
    assert place is not None and key is not None, "no key was presented in this scenario"
    ok = from_httpbin(200)

    def check(response: Response) -> str | None:
        problem = ok(response)
        if problem:
            return problem
        # None: the answer does not say what arrived there (no `args` object for a query
        # parameter, say). That proves nothing either way, so it is a miss, never a match.
        seen = place.carried(response, key) if present else place.anything_received(response)
        if seen is None:
            return f"httpbin's answer to show what it received in {place.describe()}; it does not say"
        if present and not seen:
            return f"httpbin to receive the credential in {place.describe()} as presented; it did not"
        if not present and seen:
            return f"httpbin not to receive any credential in {place.describe()}; it received one"
        return None

    return check


@given(parsers.re(r"the gateway is enforcing it: a valid key in (?P<where>.+) is taken off the request"))
@then(parsers.re(r"(?:the request is forwarded without the credential|a valid key in (?P<where>.+) is taken off the request)"))
def forwarded_without_credential(world: World, where: str | None = None) -> None:
    if where is not None:
        request_with_key_at(world, "the httpbin app", "a valid", None, where)
    world.expect(_credential_check(world, present=False), "forwarded to httpbin with the credential removed")


@then("the request is forwarded with the credential left in place")
def forwarded_with_credential(world: World) -> None:
    world.expect(_credential_check(world, present=True), "forwarded to httpbin with the credential untouched")


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
    if name.lower() == "host":
        value = world.target.deployment.host(value)  # the page's host, as this deployment's route names it
    def check(response: Response) -> str | None:
        seen = response.upstream_header(name)
        if seen == [value]:
            return None
        return f"httpbin to see {name} once with the expected value; it saw {len(seen or [])} value(s)"

    world.each_response(check)


@then(parsers.parse('httpbin does not see the header "{name}"'))
def upstream_does_not_see(world: World, name: str) -> None:
    def check(response: Response) -> str | None:
        seen = response.upstream_header(name)
        if seen is None:
            return "a response from httpbin"
        return None if not seen else f"httpbin not to see {name}, it saw {len(seen)} value(s)"

    world.each_response(check)


@then(parsers.parse('httpbin sees the query string "{query}"'))
def upstream_query(world: World, query: str) -> None:
    def check(response: Response) -> str | None:
        try:
            url = json.loads(response.body)["url"]
        except (ValueError, KeyError, TypeError):
            return "a response from httpbin's /anything (JSON with a url field)"
        seen = url.partition("?")[2]
        if seen == query:
            return None
        return f"httpbin to see the query {redact_query('?' + query)[1:]!r}, it saw {redact_query('?' + seen)[1:]!r}"

    world.each_response(check)


@then("httpbin sees no header that the same request without a key does not bring")
def no_header_added(world: World) -> None:
    """The gateway adds no identity of its own (spec section 6): compared with the same request
    sent without its key (which the policy must forward), nothing new reaches httpbin."""
    place = world.place
    assert place is not None and place.in_header, "the last request must carry its key in a header"
    assert world.responses, "no request was checked yet"
    baseline = world.probe(world.request.without_header(place.name), from_httpbin(200),
                           "the same request without a key forwarded to httpbin (the policy must let it through)")
    usual = {name.lower() for response in baseline for name in response.upstream_headers() or {}}

    def check(response: Response) -> str | None:
        added = sorted(name for name in response.upstream_headers() or {} if name.lower() not in usual)
        return None if not added else f"httpbin to see no header the gateway added; it saw {', '.join(added)}"

    world.each_response(check)


@then(parsers.parse('nothing httpbin received mentions "{text}"'))
def nothing_mentions(world: World, text: str) -> None:
    def check(response: Response) -> str | None:
        if response.upstream_headers() is None:
            return "a response from httpbin"
        return None if text.lower() not in response.text.lower() else f"httpbin's answer not to mention {text!r}; it does"

    world.each_response(check)
