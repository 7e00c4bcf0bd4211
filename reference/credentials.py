"""Finding the presented API key in a request, and removing it before forwarding.

Requests are handled in their ASGI form: headers as a list of (lowercase name, value)
byte pairs, and the raw query string. Nothing here decodes more than it must.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from agwmodel.model import KeyLocation

Headers = list[tuple[bytes, bytes]]


def _visible_ascii(value: bytes) -> bool:
    # What HTTP libraries accept as a textual header value: printable ASCII, space and tab.
    return all(32 <= b < 127 or b == 9 for b in value)


def _first_header(headers: Headers, name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _query_pairs(query: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in query.split(b"&"):
        name, _, value = part.partition(b"=")
        pairs.append((name, value))
    return pairs


def _decode(component: bytes) -> bytes:
    return unquote_to_bytes(component.replace(b"+", b" "))


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


def extract(location: KeyLocation, headers: Headers, query: bytes) -> bytes | None:
    """The presented key, or None when the request carries none (the key is *missing*)."""
    if location.kind == "header":
        # Header names arrive lowercased; the manifest's may have any case.
        value = _first_header(headers, location.name.lower().encode("latin-1"))
        if value is None or not _visible_ascii(value):
            return None
        prefix = location.prefix.encode("latin-1")
        if prefix:
            # The prefix is matched ASCII case-insensitively; the rest is taken untrimmed.
            if value[: len(prefix)].lower() != prefix.lower():
                return None
            return value[len(prefix) :]
        return value
    if location.kind == "queryParameter":
        if not query:
            return None
        name = location.name.encode()
        for key, value in _query_pairs(query):
            if _decode(key) == name:
                return _decode(value)
        return None
    name = location.name.encode()
    for key, value in _cookies(headers):
        if key == name:
            return value
    return None


def strip(location: KeyLocation, headers: Headers, query: bytes) -> tuple[Headers, bytes]:
    """Remove the credential: the whole header, or just the named parameter or cookie."""
    if location.kind == "header":
        name = location.name.lower().encode("latin-1")
        return [(k, v) for k, v in headers if k != name], query
    name = location.name.encode()
    if location.kind == "queryParameter":
        kept = [part for part in query.split(b"&") if _decode(part.partition(b"=")[0]) != name]
        return headers, b"&".join(kept)
    # As the proxy does when it removes a cookie: every `Cookie` header is replaced by one,
    # holding the other cookies as parsed (`name=value`, joined by "; ").
    kept = [b"%s=%s" % (key, value) for key, value in _cookies(headers) if key != name]
    out: Headers = [(k, v) for k, v in headers if k != b"cookie"]
    if kept:
        out.append((b"cookie", b"; ".join(kept)))
    return out, query
