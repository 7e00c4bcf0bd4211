"""The reference gateway against the real agentgateway proxy, request by request.

The same manifests are served by the reference gateway and by the real proxy (through
`--target=agentgateway-local`'s translation), both in front of the reference's echo
backend. For every mode and key location, hypothesis generates requests from a fixed seed
(keys raw, from JSON entries, hashed, wrong or absent; headers, cookies and queries shaped
the ways careless clients shape them; gRPC content types) and each is sent, as raw bytes
on a socket, to both. A pair agrees when the status, the refusal (body, or grpc-status and
grpc-message) and what the backend saw (method, path, headers, decoded query) are the same.

What is not compared, each for a recorded reason (docs/differential.md):

- `NOT_JUDGED`: behaviour of the product the suite does not judge: the proxy re-serialises
  every forwarded `Cookie` header (a side effect of stripping its OIDC session cookies), so
  cookies are compared as the proxy's parser reads them, not as bytes; and it re-encodes the
  rest of the query after removing a query key (`flag` becomes `flag=`, `%FF` becomes
  `%EF%BF%BD`), so the query is compared decoded, as the backend reads it.
- `TRANSPORT_NOISE`: response headers neither side decides by policy.

A second opinion on the translation: one combination is also served by the proxy from a
standalone configuration written by hand here, and must agree with both.

A key's metadata (spec section 13): for each mode and authorization action, a policy with
rules on `apiKey` and on the request, and a transformation setting headers from `apiKey`,
is compared the same way, on requests with keys of different metadata or none; and for each
mode, a rate limit per team on `apiKey.team` behind a Deny rule, whose buckets run out
during the comparison.

Runs only with a proxy binary (AGW_AGENTGATEWAY_BINARY, or the build cache);
AGW_DIFFERENTIAL_PAIRS sets the pairs per combination (default 200; docs/differential.md
gives the totals). Run: `tox -e differential`, or `pytest tests/integration/test_differential.py -s`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from helpers import BINARY, needs_binary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.processes import Program, answers, free_port
from conformance.profiles import REFERENCE_FEATURES
from conformance.targets.agentgateway.local import AgentgatewayLocalTarget
from conformance.targets.reference import ReferenceTarget

pytestmark = [needs_binary, pytest.mark.differential]

PAIRS = int(os.environ.get("AGW_DIFFERENTIAL_PAIRS", "200"))
RAW_KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"
JSON_KEY = "json-key-3f9a1c"
HASHED_KEY = "hashed-key-77b2e0"
TEAM_B_KEY = "team-b-key-51c0"
WRONG = "wrong-key-0000"
KEYS = (RAW_KEY, JSON_KEY, HASHED_KEY, TEAM_B_KEY)
SECRET = yaml.safe_dump({
    "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "apikey", "namespace": "agentgateway-system"},
    "stringData": {"raw": RAW_KEY, "json": json.dumps({"key": JSON_KEY, "metadata": {"team": "a"}}),
                   "hashed": json.dumps({"keyHash": "sha256:" + hashlib.sha256(HASHED_KEY.encode()).hexdigest()}),
                   "team-b": json.dumps({"key": TEAM_B_KEY, "metadata": {"team": "b", "tier": 2, "admin": True, "org": {"site": "x"}}})},
})
MODES = ("Strict", "Optional", "Permissive")
LOCATIONS = {
    "authorization": None,
    "header": {"header": {"name": "X-Api-Key"}},
    "header-prefix": {"header": {"name": "X-Auth", "prefix": "Token "}},
    "query": {"queryParameter": {"name": "api_key"}},
    "cookie": {"cookie": {"name": "session"}},
}
TRANSPORT_NOISE = frozenset({"date", "connection", "content-length", "transfer-encoding", "server"})
NOT_JUDGED = ("cookie header re-serialised on forwarding", "query re-encoded after a key is removed")


def policy(mode: str, location: dict | None, **later: dict) -> str:
    """An API key policy on the Gateway; `later` adds settings beside it (authorization, transformation)."""
    auth = {"mode": mode, "secretRef": {"name": "apikey"}, **({"location": location} if location else {})}
    return yaml.safe_dump({
        "apiVersion": "agentgateway.dev/v1alpha1", "kind": "AgentgatewayPolicy",
        "metadata": {"name": "apikey-auth", "namespace": "agentgateway-system"},
        "spec": {"targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "agentgateway-proxy"}],
                 "traffic": {"apiKeyAuthentication": auth, **later}},
    })


# Rules on a key's metadata and on the request, and headers set from them (spec section 13).
RULES = {
    "Allow": ["apiKey.team == 'a'", "request.headers['x-open'] == 'yes'", "apiKey.org.site == 'x' && apiKey.tier == 2"],
    "Deny": ["apiKey.admin", "request.headers['x-open'] == 'no'"],
    "Require": ["apiKey.team != 'c'"],
}
TRANSFORMATION = {"request": {"set": [{"name": "x-team", "value": "apiKey.team"}, {"name": "x-key-seen", "value": "apiKey.key"}],
                              "add": [{"name": "x-open", "value": "'added'"}]}}


def per_team_limits(extra: int) -> dict:
    """A limit per team on `apiKey.team`, and one for every other request, in hours so that none
    refills during a run. `extra` makes each combination's limits its own, so that both sides
    start full: the proxy builds new buckets on every configuration it reads, the reference
    only for a changed rate limit (spec section 13)."""
    def local(requests: int) -> dict:
        return {"local": [{"requests": requests, "unit": "Hours", "burst": 1}]}
    return {"rateLimit": {"conditional": [{"condition": "apiKey.team == 'a'", "policy": local(10 + extra)},
                                          {"condition": "apiKey.team == 'b'", "policy": local(5 + extra)},
                                          {"policy": local(20 + extra)}]}}


# --- requests -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shape:
    """One request, as bytes: its target and its header lines."""

    target: bytes
    headers: tuple[bytes, ...]

    def wire(self) -> bytes:
        lines = [b"GET " + self.target + b" HTTP/1.1", b"Host: www.example.com", *self.headers, b"Connection: close"]
        return b"\r\n".join(lines) + b"\r\n\r\n"

    def shown(self) -> str:
        text = self.wire().decode("latin-1")
        for key in KEYS:
            text = text.replace(key, f"<{'raw' if key == RAW_KEY else key.split('-')[0]} key>")
        return text.strip().replace("\r\n", " | ")


presented = st.sampled_from([RAW_KEY, JSON_KEY, HASHED_KEY, WRONG, RAW_KEY.lower(), RAW_KEY + "x", ""])
spaces = st.sampled_from(["", " ", "  ", "\t"])
grpc_type = st.sampled_from([None, None, "application/grpc", "Application/GRPC+proto; charset=utf-8", "application/grpc-web",
                             "application/json"])
extra_params = st.lists(st.sampled_from([b"a=1", b"flag", b"p=x/y", b"q=%41", b"s=a+b", b"api_key=" + WRONG.encode(),
                                         b"API_KEY=" + RAW_KEY.encode()]), max_size=3)
cookie_items = st.lists(st.sampled_from([b"a=1", b"b = 2", b"x", b"", b" c=3 ", b"session2=" + RAW_KEY.encode()]), max_size=3)


@st.composite
def requests(draw, where: str) -> Shape:
    key = draw(presented)
    headers: list[bytes] = []
    target = b"/anything"
    if where in ("authorization", "header-prefix"):
        name = b"Authorization" if where == "authorization" else b"X-Auth"
        scheme = draw(st.sampled_from([b"Bearer", b"bearer", b"BEARER", b"Token", b"Basic", b""] if where == "authorization"
                                      else [b"Token", b"token", b"Bearer", b""]))
        gap = draw(st.sampled_from([b" ", b"  ", b""]))
        if draw(st.booleans()) or key:
            headers.append(name + b": " + scheme + gap + key.encode())
        if draw(st.integers(0, 4)) == 0:
            headers.append(name + b": " + scheme + b" " + WRONG.encode())
    elif where == "header":
        name = draw(st.sampled_from([b"X-Api-Key", b"x-api-key", b"X-API-KEY"]))
        if key or draw(st.booleans()):
            headers.append(name + b": " + draw(spaces).encode() + key.encode() + draw(spaces).encode())
        if draw(st.integers(0, 3)) == 0:
            headers.append(name + b": " + draw(presented).encode())  # a second value: the first one counts
        if draw(st.booleans()):
            headers.append(b"X-Api-Key-Id: " + draw(presented).encode())  # a name that only starts like it
    elif where == "query":
        params = draw(extra_params)
        if key or draw(st.booleans()):
            params.insert(draw(st.integers(0, len(params))), b"api_key=" + key.encode())
        fragment = draw(st.sampled_from([b"", b"", b"#top", b"#api_key=" + RAW_KEY.encode()]))
        target = b"/anything" + (b"?" + b"&".join(params) if params else b"") + fragment
    else:  # cookie
        items = draw(cookie_items)
        if key or draw(st.booleans()):
            left, right = draw(spaces).encode(), draw(spaces).encode()
            items.insert(draw(st.integers(0, len(items))), b"session" + left + b"=" + right + key.encode())
        if draw(st.integers(0, 5)) == 0:
            items.append("lang=fr-é".encode())
        split = draw(st.integers(0, len(items)))
        headers += [b"Cookie: " + b"; ".join(part) for part in (items[:split], items[split:]) if part]
    content_type = draw(grpc_type)
    if content_type:
        headers.append(b"Content-Type: " + content_type.encode())
    return Shape(target, tuple(headers))


meta_presented = st.sampled_from([JSON_KEY, TEAM_B_KEY, RAW_KEY, HASHED_KEY, WRONG, ""])


@st.composite
def metadata_requests(draw) -> Shape:
    """A key or none in Authorization, and headers the rules read or the transformation replaces."""
    key = draw(meta_presented)
    headers = [b"Authorization: Bearer " + key.encode()] if key else []
    for name, values in ((b"X-Open", [b"yes", b"no", b"YES"]), (b"X-Team", [b"spoofed"]), (b"X-Key-Seen", [b"spoofed"])):
        if draw(st.booleans()):
            headers.append(name + b": " + draw(st.sampled_from(values)))
    content_type = draw(grpc_type)
    if content_type:
        headers.append(b"Content-Type: " + content_type.encode())
    return Shape(b"/anything", tuple(draw(st.permutations(headers))))


# --- answers --------------------------------------------------------------------------------

def send(address: tuple[str, int], shape: Shape) -> tuple[int, dict[str, list[str]], bytes]:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(shape.wire())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = defaultdict(list)
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()].append(value.strip())
    if "chunked" in ",".join(headers.get("transfer-encoding", [])):
        body = _unchunk(body)
    return int(lines[0].split()[1]), dict(headers), body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size.split(b";")[0] or b"0", 16)
        if length == 0:
            break
        out, body = out + rest[:length], rest[length + 2:]
    return out


def cookies(values: list[str]) -> list[tuple[str, str]]:
    """Cookies as the proxy's parser reads them (spec section 3)."""
    found = []
    for value in values:
        if not all(32 <= ord(c) < 127 or c == "\t" for c in value):
            continue
        for item in value.split(";"):
            name, sep, val = item.partition("=")
            if sep and name.strip(" \t"):
                found.append((name.strip(" \t"), val.strip(" \t")))
    return found


def outcome(answer: tuple[int, dict[str, list[str]], bytes]) -> dict:
    """What the pair is compared on; see the module docstring for what is left out and why."""
    status, headers, body = answer
    seen: dict = {"status": status}
    if "grpc-status" in headers:
        seen["grpc"] = (headers["grpc-status"], headers.get("grpc-message"))
    if status != 200 or "grpc-status" in headers:
        seen["body"] = body
        return seen
    echo = json.loads(body)
    got = {k.lower(): v for k, v in echo["headers"].items() if k.lower() != "cookie"}
    seen["backend"] = {"method": echo["method"], "path": urlsplit(echo["url"]).path, "args": echo["args"], "headers": got,
                       "cookies": cookies(echo["headers"].get("Cookie", []))}
    return seen


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Tally:
    agreed: int = 0
    disagreed: dict[str, list[Shape]] = field(default_factory=dict)


TALLY: dict[tuple[str, str], Tally] = defaultdict(Tally)


@pytest.fixture(scope="module")
def gateways():
    reference = ReferenceTarget(REFERENCE_FEATURES)
    proxy = AgentgatewayLocalTarget(BINARY)
    with reference.running(), proxy.running():
        for target in (reference, proxy):
            target.apply(SECRET)
        yield reference, proxy
    print("\n" + report())


def address(target) -> tuple[str, int]:
    parts = urlsplit(target.gateway_url)
    return parts.hostname, parts.port


def report() -> str:
    lines = [f"differential: reference vs agentgateway {BINARY and Path(BINARY).parent.parent.name}, {PAIRS} pairs per combination",
             f"{'mode':<11}{'location':<15}{'agreed':>8}{'differed':>10}"]
    for (mode, where), tally in sorted(TALLY.items()):
        differed = sum(len(v) for v in tally.disagreed.values())
        lines.append(f"{mode:<11}{where:<15}{tally.agreed:>8}{differed:>10}")
        for what, shapes in tally.disagreed.items():
            smallest = min(shapes, key=lambda s: len(s.wire()))
            lines.append(f"    {what}: smallest: {smallest.shown()}")
    return "\n".join(lines)


def difference(ours: dict, theirs: dict) -> str | None:
    for part in ("status", "grpc", "body", "backend"):
        if ours.get(part) != theirs.get(part):
            if part == "backend":
                changed = [k for k in ours["backend"] if ours["backend"][k] != theirs["backend"][k]]
                return f"backend saw different {', '.join(changed)}"
            return f"different {part}"
    return None


@pytest.mark.parametrize("where", list(LOCATIONS))
@pytest.mark.parametrize("mode", MODES)
def test_the_reference_answers_as_the_proxy_does(gateways, mode, where):
    reference, proxy = gateways
    for target in (reference, proxy):
        target.apply(policy(mode, LOCATIONS[where]))  # both return once it is in force
    compare(reference, proxy, requests(where), TALLY[(mode, where)])


def compare(reference, proxy, shapes, tally: Tally) -> None:
    """Send each generated request to both and tally whether their answers agree."""

    @settings(max_examples=PAIRS, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(shape=shapes)
    def pair(shape: Shape) -> None:
        ours, theirs = outcome(send(address(reference), shape)), outcome(send(address(proxy), shape))
        what = difference(ours, theirs)
        if what is None:
            tally.agreed += 1
        else:
            tally.disagreed.setdefault(what, []).append(shape)

    pair()
    assert not tally.disagreed, "the reference and the proxy differ:\n" + report()


@pytest.mark.parametrize("action", list(RULES))
@pytest.mark.parametrize("mode", MODES)
def test_rules_and_headers_on_key_metadata_answer_as_the_proxy_does(gateways, mode, action):
    reference, proxy = gateways
    later = {"authorization": {"action": action, "policy": {"matchExpressions": RULES[action]}}, "transformation": TRANSFORMATION}
    for target in (reference, proxy):
        target.apply(policy(mode, None, **later))
    compare(reference, proxy, metadata_requests(), TALLY[(mode, f"metadata {action}")])


@pytest.mark.parametrize("mode", MODES)
def test_per_team_rate_limits_answer_as_the_proxy_does(gateways, mode):
    """The same requests in the same order to both: each side's buckets must run out on the same
    request, and a request refused before the limit (401, 403) must use none of it on either."""
    reference, proxy = gateways
    later = {"authorization": {"action": "Deny", "policy": {"matchExpressions": RULES["Deny"]}}, **per_team_limits(MODES.index(mode))}
    for target in (reference, proxy):
        target.apply(policy(mode, None, **later))
    compare(reference, proxy, metadata_requests(), TALLY[(mode, "rate limit")])


# --- a second opinion: the proxy from a configuration written by hand -------------------------

HAND_WRITTEN = """
config: {{adminAddr: "127.0.0.1:{admin}", statsAddr: "127.0.0.1:{stats}", readinessAddr: "127.0.0.1:{ready}"}}
binds:
- port: {port}
  listeners:
  - routes:
    - backends:
      - host: 127.0.0.1:{echo}
      policies:
        apiKey:
          mode: strict
          keys:
          - key: {raw}
          - key: {json_key}
            metadata: {{team: a}}
          location:
            cookie:
              name: session
"""


def test_a_configuration_written_by_hand_agrees_with_the_translation(gateways, tmp_path):
    reference, proxy = gateways
    for target in (reference, proxy):
        target.apply(policy("Strict", LOCATIONS["cookie"]))
    port, admin = free_port("0.0.0.0"), free_port()
    config = tmp_path / "config.yaml"
    config.write_text(HAND_WRITTEN.format(admin=admin, stats=free_port(), ready=free_port(), port=port, echo=proxy.backend[1],
                                          raw=RAW_KEY, json_key=JSON_KEY))
    hand = Program("agentgateway-by-hand", [BINARY, "-f", str(config)], tmp_path)
    try:
        hand.wait_until(lambda: answers(f"http://127.0.0.1:{admin}/config_dump"), 30, "ready")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and send(("127.0.0.1", port), Shape(b"/anything", ()))[0] != 401:
            time.sleep(0.1)
        differ = []

        @settings(max_examples=min(PAIRS, 300), derandomize=True, database=None, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(shape=requests("cookie"))
        def triple(shape: Shape) -> None:
            if HASHED_KEY.encode() in shape.wire():
                return  # the hand-written file holds only the raw and the JSON key
            answers_ = [outcome(send(a, shape)) for a in (address(reference), address(proxy), ("127.0.0.1", port))]
            if not answers_[0] == answers_[1] == answers_[2]:
                differ.append(shape.shown())

        triple()
        assert not differ, "the hand-written configuration, the translation and the reference differ:\n" + "\n".join(differ[:5])
    finally:
        hand.stop()
