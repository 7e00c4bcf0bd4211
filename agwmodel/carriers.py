"""Where a request carries its API key: one carrier class per kind of `location`.

A policy's `location` sets one member: `header`, `queryParameter`, `cookie` or
`expression`. `CARRIERS` maps that word to the class that knows everything about its kind,
so adding a kind of location is adding one class here:

- its manifest form: the fields the CRD gives it (`fields`);
- the gateway's side: `read` the presented key from a request, and `remove` it before the
  request is forwarded. Requests are seen in their ASGI form: headers as (lowercase name,
  value) byte pairs and the raw query string; nothing decodes more than it must;
- its proxy-config form (`proxy_config`), for the standalone proxy's `apiKey.location`;
- the client's side: `put` a key in a request, and read what an httpbin-style echo
  (`/anything`) says it `received` there;
- its words (`describe`), and, for any location of its kind, what a recorded request shows
  of it (`hide`) and which of its values may be keys (`exposed`): a failure message or a
  report never prints a key.

The client's side works on any frozen dataclass with `path`, `headers` and `with_header`
(the suite's request), so this module stays free of HTTP libraries.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar, Protocol, TypeVar
from urllib.parse import quote, unquote_plus, unquote_to_bytes

from .model import KeyLocation

Headers = list[tuple[bytes, bytes]]

# Header values shown in failure messages and reports; every other value (credentials
# above all) is redacted, so a failing run never prints a key.
SHOWN_HEADERS = frozenset({"host", "accept", "user-agent", "content-type", "content-length"})


class ClientRequest(Protocol):
    path: str  # with the query
    headers: tuple[tuple[str | bytes, str | bytes], ...]

    def with_header(self, name: str, value: str) -> ClientRequest: ...


R = TypeVar("R", bound=ClientRequest)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """A request as a report shows it: its target (path and query) and its headers, as text."""

    target: str
    headers: tuple[tuple[str, str], ...]


def redacted(value: str | bytes) -> str:
    return f"<redacted, {len(value)} bytes>"


class Carrier:
    """One `location` of a policy. Subclasses set `word` (the manifest's member) and `fields`."""

    word: ClassVar[str]
    # The fields of its manifest member, as the CRD has them; None when the member is a plain
    # string (an expression) rather than a mapping with a required `name`.
    fields: ClassVar[tuple[str, ...] | None] = ("name",)
    # A header that belongs to this kind whole (`Cookie`): other kinds leave it to it.
    owned_header: ClassVar[str | None] = None
    # Selected by a CEL expression, which the reference gateway does not evaluate.
    needs_cel: ClassVar[bool] = False

    def __init__(self, location: KeyLocation) -> None:
        self.location = location
        self.name = location.name
        self.prefix = location.prefix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.location == self.location

    def __hash__(self) -> int:
        return hash(self.location)

    # --- the gateway's side -------------------------------------------------------------

    def read(self, headers: Headers, query: bytes) -> bytes | None:
        """The presented key, or None when the request carries none (the key is *missing*)."""
        raise NotImplementedError

    def remove(self, headers: Headers, query: bytes) -> tuple[Headers, bytes]:
        """The request without its credential, as it is forwarded."""
        raise NotImplementedError

    def proxy_config(self) -> dict:
        return {self.word: {"name": self.name}}

    # --- the client's side --------------------------------------------------------------

    def written(self, key: str) -> str:
        """The key as this place holds it (after the prefix of a header)."""
        return key

    def put(self, request: R, key: str) -> R:
        raise NotImplementedError

    def received(self, echo: object) -> list[str] | None:
        """The values an httpbin-style echo says arrived here; None if `echo` is not one."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # --- any location of this kind, in a recorded request -------------------------------

    @classmethod
    def hide(cls, request: Recorded) -> Recorded:
        """`request` with the values this kind could carry a key in redacted, names kept."""
        return request

    @classmethod
    def exposed(cls, request: Recorded) -> list[str]:
        """The values of `request` this kind could carry a key in, in every form a key may take."""
        return []

    @classmethod
    def hide_echo(cls, echo: dict, mask: str) -> dict:
        """An httpbin-style echo with the values this kind could carry a key in replaced by `mask`."""
        return echo


def _visible_ascii(value: bytes) -> bool:
    # What HTTP libraries accept as a textual header value: printable ASCII, space and tab.
    return all(32 <= b < 127 or b == 9 for b in value)


def _first_header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def echo_header(echo: object, name: str) -> list[str] | None:
    """The values of header `name` an httpbin-style echo says arrived; None if `echo` is not one."""
    headers = echo.get("headers") if isinstance(echo, dict) else None
    if not isinstance(headers, dict):
        return None
    lowered = name.lower()
    for key, values in headers.items():
        if key.lower() == lowered:
            return list(values) if isinstance(values, list) else [values]
    return []


def _owned_by_others(kind: type[Carrier]) -> set[str]:
    return {c.owned_header for c in CARRIERS.values() if c is not kind and c.owned_header}


class Header(Carrier):
    word = "header"
    fields = ("name", "prefix")
    # Prefixes a credential header commonly has: the value after one may be the key.
    _PREFIXES = ("bearer ", "token ")

    def read(self, headers: Headers, query: bytes) -> bytes | None:
        # Header names arrive lowercased; the manifest's may have any case.
        value = _first_header(headers, self.name.lower().encode("latin-1"))
        if value is None or not _visible_ascii(value):
            return None
        prefix = self.prefix.encode("latin-1")
        if prefix:
            # The prefix is matched ASCII case-insensitively; the rest is taken untrimmed.
            if value[: len(prefix)].lower() != prefix.lower():
                return None
            return value[len(prefix) :]
        return value

    def remove(self, headers: Headers, query: bytes) -> tuple[Headers, bytes]:
        # Every value of the header goes, not only the one read.
        name = self.name.lower().encode("latin-1")
        return [(k, v) for k, v in headers if k != name], query

    def proxy_config(self) -> dict:
        return {"header": {"name": self.name, **({"prefix": self.prefix} if self.prefix else {})}}

    def written(self, key: str) -> str:
        return self.prefix + key

    def put(self, request: R, key: str) -> R:
        return request.with_header(self.name, self.written(key))

    def received(self, echo: object) -> list[str] | None:
        return echo_header(echo, self.name)

    def describe(self) -> str:
        after = f" after the prefix {self.prefix.strip()}" if self.prefix else ""
        return f"the {self.name} header{after}"

    # A key may be sent in any header, so every value but the few harmless ones counts.

    @classmethod
    def hide(cls, request: Recorded) -> Recorded:
        others = _owned_by_others(cls)
        return dataclasses.replace(request, headers=tuple(
            (n, v if n.lower() in SHOWN_HEADERS or n.lower() in others else redacted(v)) for n, v in request.headers))

    @classmethod
    def exposed(cls, request: Recorded) -> list[str]:
        values = []
        for name, text in request.headers:
            if name.lower() in SHOWN_HEADERS:
                continue
            values.append(text)
            values += [text[len(p):] for p in cls._PREFIXES if text[: len(p)].lower() == p]
        return values

    @classmethod
    def hide_echo(cls, echo: dict, mask: str) -> dict:
        if not isinstance(echo.get("headers"), dict):
            return echo
        return {**echo, "headers": {k: (v if k.lower() in SHOWN_HEADERS else mask) for k, v in echo["headers"].items()}}


def _query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        pairs.append((name, value))
    return pairs


def _decode(component: bytes) -> bytes:
    return unquote_to_bytes(component.replace(b"+", b" "))


class QueryParameter(Carrier):
    word = "queryParameter"

    def read(self, headers: Headers, query: bytes) -> bytes | None:
        if not query:
            return None
        name = self.name.encode()
        for key, value in _query_pairs(query):
            if _decode(key) == name:
                return _decode(value)
        return None

    def remove(self, headers: Headers, query: bytes) -> tuple[Headers, bytes]:
        # Just the named parameter: the others stay, in their order and spelling.
        name = self.name.encode()
        kept = [part for part in query.split(b"&") if _decode(part.partition(b"=")[0]) != name]
        return headers, b"&".join(kept)

    def put(self, request: R, key: str) -> R:
        sep = "&" if "?" in request.path else "?"
        return dataclasses.replace(request, path=f"{request.path}{sep}{self.name}={quote(key, safe='')}")

    def received(self, echo: object) -> list[str] | None:
        args = echo.get("args") if isinstance(echo, dict) else None
        if not isinstance(args, dict):
            return None
        value = args.get(self.name, [])
        return value if isinstance(value, list) else [value]

    def describe(self) -> str:
        return f"the {self.name} query parameter"

    @classmethod
    def hide(cls, request: Recorded) -> Recorded:
        return dataclasses.replace(request, target=redact_query(request.target))

    @classmethod
    def exposed(cls, request: Recorded) -> list[str]:
        query = request.target.partition("?")[2]
        values = []
        for part in query.split("&") if query else ():
            raw = part.partition("=")[2]
            values += [raw, unquote_plus(raw)]
        return values


def redact_query(target: str) -> str:
    """A path with its query: each parameter's value redacted, its name and position kept."""
    path, sep, query = target.partition("?")
    if not sep:
        return path
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        parts.append(f"{name}={redacted(value)}" if eq else name)
    return f"{path}?{'&'.join(parts)}"


def _cookies(headers: Headers) -> list[tuple[bytes, bytes]]:
    """The cookies of every `Cookie` header, as the proxy's cookie parser reads them.

    A header that is not visible ASCII yields no cookie at all; in the others, items are
    split at `;`, an item without `=` or without a name is no cookie, and names and values
    are trimmed around `=` (upstream `crates/agentgateway/src/http/mod.rs`,
    `iter_request_cookies`: `to_str()` then the `cookie` crate's `split_parse`; seen on the
    real v1.4.1 proxy).
    """
    found = []
    for key, value in headers:
        if key != b"cookie" or not _visible_ascii(value):
            continue
        for item in value.split(b";"):
            name, sep, val = item.partition(b"=")
            name = name.strip(b" \t")
            if sep and name:
                found.append((name, val.strip(b" \t")))
    return found


class Cookie(Carrier):
    word = "cookie"
    owned_header = "cookie"

    def read(self, headers: Headers, query: bytes) -> bytes | None:
        name = self.name.encode()
        for key, value in _cookies(headers):
            if key == name:
                return value
        return None

    def remove(self, headers: Headers, query: bytes) -> tuple[Headers, bytes]:
        # As the proxy does when it removes a cookie: every `Cookie` header is replaced by one,
        # holding the other cookies as parsed (`name=value`, joined by "; ").
        name = self.name.encode()
        kept = [b"%s=%s" % (key, value) for key, value in _cookies(headers) if key != name]
        out: Headers = [(k, v) for k, v in headers if k != b"cookie"]
        if kept:
            out.append((b"cookie", b"; ".join(kept)))
        return out, query

    def put(self, request: R, key: str) -> R:
        return request.with_header("Cookie", f"{self.name}={key}")

    def received(self, echo: object) -> list[str] | None:
        cookies = echo_header(echo, "Cookie")
        if cookies is None:
            return None
        found = []
        for header in cookies:
            for item in header.split(";"):
                name, sep, value = item.strip().partition("=")
                if sep and name == self.name:
                    found.append(value)
        return found

    def describe(self) -> str:
        return f"the {self.name} cookie"

    @classmethod
    def hide(cls, request: Recorded) -> Recorded:
        return dataclasses.replace(request, headers=tuple(
            (n, redact_cookies(v) if n.lower() == "cookie" else v) for n, v in request.headers))

    @classmethod
    def exposed(cls, request: Recorded) -> list[str]:
        return [item.strip().partition("=")[2] for n, v in request.headers if n.lower() == "cookie" for item in v.split(";")]


def redact_cookies(header: str) -> str:
    """A Cookie header with every cookie's value redacted, the names kept."""
    items = []
    for item in header.split(";"):
        name, eq, value = item.strip().partition("=")
        items.append(f"{name}={redacted(value)}" if eq else redacted(item.strip()))
    return "; ".join(items)


class Expression(Carrier):
    """A CEL expression over the request selects the key; `name` holds its text."""

    word = "expression"
    fields = None
    needs_cel = True

    def proxy_config(self) -> dict:
        return {"expression": self.name}

    def describe(self) -> str:
        return f"the value of the CEL expression {self.name!r}"


# The manifest's word -> its carrier class, in the order the controller tries the members.
CARRIERS: dict[str, type[Carrier]] = {c.word: c for c in (Header, QueryParameter, Cookie, Expression)}


def carrier(location: KeyLocation) -> Carrier:
    return CARRIERS[location.kind](location)


def hide(request: Recorded) -> Recorded:
    """A recorded request with every value that may hold a key redacted, whatever the policy's location."""
    for kind in CARRIERS.values():
        request = kind.hide(request)
    return request


def exposed(request: Recorded) -> list[str]:
    """Every value of a recorded request that may be a key, whatever the policy's location."""
    return [v for kind in CARRIERS.values() for v in kind.exposed(request)]


def hide_echo(echo: dict, mask: str) -> dict:
    """What an httpbin-style echo says it received, with every value that may hold a key masked."""
    for kind in CARRIERS.values():
        echo = kind.hide_echo(echo, mask)
    return echo
