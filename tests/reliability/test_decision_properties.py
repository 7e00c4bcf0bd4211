"""Property-based: for generated policies and requests, the running reference gateway decides
as the spec's decision table says, and a credential it accepted never reaches the backend.

The model below is written from the spec (sections 3, 4 and 6 of
`docs/spec.md`), not from the gateway's code: where the key is looked for,
what counts as missing, which mode lets what through, and what is removed before the
request is forwarded. Every example is applied to the real gateway as manifests and sent
over HTTP on loopback; the backend records what it received.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote_plus

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conformance import Request

from .parts import HOST, Backend, leaks, log_texts, route_to, verbose_gateway

REFUSALS = {"missing": "api key authentication failure: no API Key found", "invalid": "api key authentication failure: invalid credentials"}
KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
USED_KEYS: set[str] = set()
TALLY = {"policies": 0, "requests": 0, "refused": 0, "forwarded": 0, "key removed": 0}


# --- the model -------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    kind: str  # header, queryParameter, cookie
    name: str
    prefix: str = ""

    def manifest(self) -> str:
        if self.kind == "header" and self.name == "Authorization" and self.prefix == "Bearer ":
            return ""  # the default: no location at all
        if self.kind == "header":
            return f", location: {{header: {{name: {self.name}{', prefix: ' + repr(self.prefix) if self.prefix else ''}}}}}"
        return f", location: {{{self.kind}: {{name: {self.name}}}}}"


@dataclass(frozen=True)
class Sent:
    """One request: header lines, query parameters (raw, as sent) and cookies."""

    headers: tuple[tuple[str, str], ...]
    query: tuple[tuple[str, str], ...]
    cookies: tuple[tuple[str, str], ...]


def presented(location: Location, sent: Sent) -> str | None:
    """Spec 3: the key the request presents, or None when it is missing."""
    if location.kind == "header":
        values = [v for n, v in sent.headers if n.lower() == location.name.lower()]
        if not values:
            return None
        value = values[0]  # the first value of that header
        if not all(0x21 <= ord(c) <= 0x7E or c == " " for c in value):
            return None
        if location.prefix:
            if value[: len(location.prefix)].lower() != location.prefix.lower():
                return None
            return value[len(location.prefix):]
        return value
    if location.kind == "queryParameter":
        for name, value in sent.query:
            if name == location.name:
                return unquote_plus(value)
        return None
    for name, value in sent.cookies:
        if name == location.name:
            return value
    return None


def decide(mode: str, key: str | None, keys: frozenset[str]) -> tuple[str, bool]:
    """Spec 4: ('forward' or 'missing'/'invalid' for a 401, credential removed?)."""
    if key is None:
        return ("missing", False) if mode == "Strict" else ("forward", False)
    if key in keys:
        return "forward", True
    return ("forward", False) if mode == "Permissive" else ("invalid", False)


def forwarded_view(location: Location, sent: Sent, strip: bool) -> Sent:
    """Spec 6: what the backend receives: the credential removed, everything else as sent."""
    if not strip:
        return sent
    if location.kind == "header":
        return Sent(tuple((n, v) for n, v in sent.headers if n.lower() != location.name.lower()), sent.query, sent.cookies)
    if location.kind == "queryParameter":
        return Sent(sent.headers, tuple((n, v) for n, v in sent.query if n != location.name), sent.cookies)
    return Sent(sent.headers, sent.query, tuple((n, v) for n, v in sent.cookies if n != location.name))


# --- generation ------------------------------------------------------------------------

keys_strategy = st.text(KEY_ALPHABET, min_size=12, max_size=32).map(lambda s: "pk-" + s)
locations = st.sampled_from([
    Location("header", "Authorization", "Bearer "),
    Location("header", "X-Api-Key"),
    Location("header", "X-Token", "Key "),
    Location("queryParameter", "api_key"),
    Location("cookie", "session"),
])


@st.composite
def credential_texts(draw, keys: list[str]) -> str:
    """A value to put where a key might be: a configured key, or something close to one."""
    key = draw(st.sampled_from(keys)) if keys and draw(st.booleans()) else draw(keys_strategy)
    return key


@st.composite
def header_value(draw, location: Location, keys: list[str]) -> str:
    key = draw(credential_texts(keys))
    prefix = location.prefix or ""
    shape = draw(st.sampled_from(["exact", "exact", "upper prefix", "lower prefix", "no prefix", "prefix no space",
                                  "wrong scheme", "double space", "empty", "key with a space"]))
    if not prefix and shape in ("upper prefix", "lower prefix", "prefix no space", "double space"):
        shape = "exact"
    return {
        "exact": prefix + key,
        "upper prefix": prefix.upper() + key,
        "lower prefix": prefix.lower() + key,
        "no prefix": key,
        "prefix no space": prefix.strip() + key,
        "wrong scheme": "Basic " + key,
        "double space": prefix + " " + key,
        "empty": prefix.strip(),
        "key with a space": prefix + key[:5] + " " + key[5:],
    }[shape]


def query_value(draw, keys: list[str]) -> str:
    key = draw(credential_texts(keys))
    shape = draw(st.sampled_from(["raw", "percent-encoded", "every byte encoded", "plus for a space"]))
    if shape == "percent-encoded":
        return quote(key, safe="")
    if shape == "every byte encoded":
        return "".join(f"%{b:02X}" for b in key.encode())
    if shape == "plus for a space":
        return key[:4] + "+" + key[4:]
    return key


@st.composite
def policies(draw):
    keys = draw(st.lists(keys_strategy, min_size=0, max_size=3, unique=True))
    return draw(st.sampled_from(["Strict", "Optional", "Permissive"])), draw(locations), keys


@st.composite
def requests_for(draw, location: Location, keys: list[str]) -> Sent:
    headers, query, cookies = [], [], []
    # Where the policy looks: zero to three values (the first one counts).
    for _ in range(draw(st.integers(0, 3))):
        if location.kind == "header":
            headers.append((draw(st.sampled_from([location.name, location.name.lower(), location.name.upper()])), draw(header_value(location, keys))))
        elif location.kind == "queryParameter":
            query.append((location.name, query_value(draw, keys)))
        else:
            cookies.append((location.name, draw(credential_texts(keys))))
    # Noise elsewhere: other parameters, cookies and headers, and look-alike names.
    noise = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10).map(lambda s: "n-" + s)
    for _ in range(draw(st.integers(0, 2))):
        query.insert(draw(st.integers(0, len(query))), (draw(st.sampled_from(["page", "API_KEY", "api_key2", "q"])), draw(noise)))
    for _ in range(draw(st.integers(0, 2))):
        cookies.insert(draw(st.integers(0, len(cookies))), (draw(st.sampled_from(["theme", "Session", "session2"])), draw(noise)))
    if draw(st.booleans()):
        headers.append(("X-Other", draw(noise)))
    if location.kind != "header" and draw(st.booleans()):
        headers.append(("Authorization", "Basic " + draw(noise)))  # not where this policy looks
    return Sent(tuple(headers), tuple(query), tuple(cookies))


# --- the gateway -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = Backend()
    workdir = tmp_path_factory.mktemp("properties")
    try:
        with verbose_gateway(workdir) as gateway:
            gateway.apply(route_to(backend.port))
            yield gateway, backend, workdir
    finally:
        backend.close()


def apply_policy(gateway, mode: str, location: Location, keys: list[str]) -> None:
    data = "".join(f"\n  k{i}: {key}" for i, key in enumerate(keys)) or " {}"
    gateway.apply(f"""
apiVersion: v1
kind: Secret
metadata: {{name: generated, namespace: httpbin}}
stringData:{data}
""")
    gateway.apply(f"""
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {{name: generated, namespace: httpbin}}
spec:
  targetRefs: [{{group: gateway.networking.k8s.io, kind: HTTPRoute, name: recorded}}]
  traffic:
    apiKeyAuthentication: {{mode: {mode}, secretRef: {{name: generated}}{location.manifest()}}}
""")


def to_request(sent: Sent) -> Request:
    path = "/anything/p" + ("?" + "&".join(f"{n}={v}" for n, v in sent.query) if sent.query else "")
    request = Request(host=HOST, path=path)
    for name, value in sent.headers:
        request = request.with_header(name, value)
    if sent.cookies:
        request = request.with_header("Cookie", "; ".join(f"{n}={v}" for n, v in sent.cookies))
    return request


def received(record: dict) -> Sent:
    """What the backend saw, in the model's terms (the headers the test sent, not the client's own)."""
    sent_names = {"authorization", "x-api-key", "x-token", "x-other"}
    headers = tuple((n, v) for n, v in record["headers"] if n.lower() in sent_names)
    query = tuple(tuple(part.partition("=")[::2]) for part in record["query"].split("&")) if record["query"] else ()
    cookie_lines = [v for n, v in record["headers"] if n.lower() == "cookie"]
    cookies = tuple(tuple(item.strip().partition("=")[::2]) for line in cookie_lines for item in line.split(";") if item.strip())
    return Sent(headers, query, cookies)


def normalised(sent: Sent) -> Sent:
    return Sent(tuple((n.lower(), v) for n, v in sent.headers if n.lower() != "cookie"), sent.query, sent.cookies)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          derandomize=True)
@given(data=st.data())
def test_the_gateway_decides_as_the_spec_table_says(setup, data):
    gateway, backend, _ = setup
    mode, location, keys = data.draw(policies(), label="policy")
    USED_KEYS.update(keys)
    apply_policy(gateway, mode, location, keys)
    TALLY["policies"] += 1
    for sent in data.draw(st.lists(requests_for(location, keys), min_size=1, max_size=6), label="requests"):
        backend.clear()
        response = gateway.send(to_request(sent))
        key = presented(location, sent)
        outcome, strip = decide(mode, key, frozenset(keys))
        event(f"{mode}, {location.kind}: {outcome}{', key removed' if strip else ''}")
        TALLY["requests"] += 1
        TALLY["refused" if outcome != "forward" else "forwarded"] += 1
        TALLY["key removed"] += strip
        where = f"mode {mode}, location {location.kind} {location.name!r}, {len(keys)} key(s); sent {to_request(sent).describe()}"
        if outcome != "forward":
            assert response.status == 401, f"{where}: expected 401 ({outcome}), got {response.describe()}"
            assert response.body.decode() == REFUSALS[outcome], f"{where}: body {response.body!r}"
            assert backend.seen == [], f"{where}: refused, yet the backend saw it"
            continue
        assert response.status == 200, f"{where}: expected it forwarded, got {response.describe()}"
        [record] = backend.seen
        assert normalised(received(record)) == normalised(forwarded_view(location, sent, strip)), f"{where}: the backend saw the wrong request"
        if strip:
            seen = repr(record).encode()
            assert not leaks({"what the backend received": seen}, {key}), f"{where}: the accepted key reached the backend"


def test_no_generated_key_was_logged(setup, capsys):
    _, _, workdir = setup
    assert USED_KEYS, "the property test ran no example"
    with capsys.disabled():
        print(f"\ndecision properties: {TALLY['policies']} generated policies, {TALLY['requests']} requests: "
              f"{TALLY['refused']} refused, {TALLY['forwarded']} forwarded ({TALLY['key removed']} with the key removed), all as the model says")
    assert leaks(log_texts(workdir), USED_KEYS) == []


def test_the_model_follows_the_spec_examples():
    # Spec 3 and 4, example by example: the model is checked against the text, not the gateway.
    default = Location("header", "Authorization", "Bearer ")
    sent = lambda *h: Sent(tuple(("Authorization", v) for v in h), (), ())  # noqa: E731
    assert presented(default, sent("bearer k")) == "k" and presented(default, sent("BEARER k")) == "k"
    assert presented(default, sent("Bearer  k")) == " k"
    assert presented(default, sent("Basic k")) is None and presented(default, sent("k")) is None and presented(default, sent("Bearerk")) is None
    assert presented(default, sent("Bearer a", "Bearer b")) == "a"
    assert presented(Location("queryParameter", "api_key"), Sent((), (("api_key", "a+b%21"),), ())) == "a b!"
    assert decide("Strict", None, frozenset()) == ("missing", False)
    assert decide("Optional", None, frozenset()) == ("forward", False)
    assert decide("Optional", "x", frozenset({"y"})) == ("invalid", False)
    assert decide("Permissive", "x", frozenset()) == ("forward", False)
    assert decide("Strict", "y", frozenset({"y"})) == ("forward", True)
