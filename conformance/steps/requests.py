"""Building the request a scenario sends. Sending and judging happen in `expectations`."""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import given, parsers, when

from ..http import Request, Response
from ..places import place
from ..world import World


INVALID_KEY = "wrong-key-0000"


def from_httpbin(code: int):
    def check(response: Response) -> str | None:
        if response.status != code:
            return f"status {code} from httpbin, got {response.error or response.status}"
        if response.upstream_headers() is None:
            return "a response from httpbin (JSON with a headers field), got something else"
        return None

    return check


def httpbin(world: World) -> Request:
    """The page's request to httpbin, for the host this deployment's route serves it at."""
    return Request(method="GET", path="/headers", host=world.target.deployment.backend_host)


def _app(world: World, words: str) -> Request:
    """'the httpbin app' or a quoted 'host/path' (the page's host standing for this deployment's)."""
    if words == "the httpbin app":
        return httpbin(world)
    host, _, path = words.strip('"').partition("/")
    return Request(method="GET", path="/" + path, host=world.target.deployment.host(host))


@when(parsers.re(r"I send a request to (?P<app>the httpbin app|\"[^\"]+\") without an API key"))
def request_without_key(world: World, app: str) -> None:
    world.request = _app(world, app)


@when(parsers.parse('I send a request to the httpbin app with the invalid API key "{key}"'))
def request_with_invalid_key(world: World, key: str) -> None:
    world.request = httpbin(world).with_header("Authorization", f"Bearer {key}")


@when(parsers.re(r"I (?:repeat the request|send a request to the httpbin app) with (?:a|the) valid API key in the Authorization header"))
def request_with_valid_key(world: World) -> None:
    assert world.api_key is not None, "no API key was generated in this scenario"
    world.request = httpbin(world).with_header("Authorization", f"Bearer {world.api_key}")


@when(parsers.re(r"I send a request to (?P<app>the httpbin app|\"[^\"]+\") with the header \"(?P<name>[^:\"]+): (?P<value>[^\"]*)\"$"))
def request_with_header(world: World, app: str, name: str, value: str) -> None:
    world.request = _app(world, app).with_header(name, value)


@when(parsers.re(r"I send a request to (?P<app>the httpbin app|\"[^\"]+\") with the headers (?P<headers>(?:\"[^\"]+\"(?:, | and )?)+)$"))
def request_with_headers(world: World, app: str, headers: str) -> None:
    request = _app(world, app)
    for item in headers.split('"')[1::2]:
        name, _, value = item.partition(": ")
        request = request.with_header(name, value)
    world.request = request


@when(parsers.re(r'I send a request to "(?P<url>[^"]+)"'))
def request_as_written(world: World, url: str) -> None:
    """A request for a 'host/path?query' exactly as written, credentials in it included."""
    world.request = _app(world, url)


@given(parsers.re(r"requests go to (?P<app>the httpbin app|\"[^\"]+\")"))
@when(parsers.re(r"requests go to (?P<app>the httpbin app|\"[^\"]+\")"))
def request_for(world: World, app: str) -> None:
    world.request = _app(world, app)


@when(parsers.re(r"I send a request to (?P<app>the httpbin app|\"[^\"]+\") with (?P<credential>no|a valid|an invalid|the) key (?:\"(?P<key>[^\"]*)\" )?in (?P<where>.+)$"))
def request_with_key_at(world: World, app: str, credential: str, key: str | None, where: str) -> None:
    """Present no key, the scenario's key, a wrong key, or a given one, at one of the known places."""
    at = place(where)
    request = _app(world, app)
    if app == "the httpbin app":
        request = replace(request, path="/anything")  # shows query arguments as well as headers
    world.place = at
    if credential == "no":
        world.presented = None
    elif credential == "a valid":
        assert world.api_key is not None, "no API key was generated in this scenario"
        world.presented = world.api_key
    elif credential == "an invalid":
        world.presented = INVALID_KEY
    else:
        world.presented = key or ""
    world.request = request if world.presented is None else at.present(request, world.presented)


@when(parsers.parse("I send a request to the httpbin app with a Bearer key of {length:d} characters"))
def request_with_long_key(world: World, length: int) -> None:
    world.request = httpbin(world).with_header("Authorization", "Bearer " + "k" * length)
