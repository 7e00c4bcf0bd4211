"""Requests the suite sends and the responses it judges, independent of any target."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import httpx

# Header values the suite shows in failure messages; every other value (credentials
# above all) is redacted, so a failing run never prints a key.
SHOWN_HEADERS = {"host", "accept", "user-agent", "content-type", "content-length"}


@dataclass(frozen=True)
class Request:
    method: str = "GET"
    path: str = "/headers"
    host: str = "www.example.com"
    headers: tuple[tuple[str | bytes, str | bytes], ...] = ()
    body: bytes = b""

    def with_header(self, name: str | bytes, value: str | bytes) -> Request:
        return replace(self, headers=(*self.headers, (name, value)))

    def without_header(self, name: str) -> Request:
        lowered = name.lower()
        return replace(self, headers=tuple(h for h in self.headers if _text(h[0]).lower() != lowered))

    def describe(self) -> str:
        """The request for a failure message: every value that may be a credential redacted.

        Query parameter values and cookie values are redacted (their names are shown), and
        so is every header value but those of a few harmless headers.
        """
        lines = [f"{self.method} {redact_query(self.path)} (Host: {self.host})"]
        for name, value in self.headers:
            lowered = _text(name).lower()
            if lowered in SHOWN_HEADERS:
                shown = _text(value)
            elif lowered == "cookie":
                shown = redact_cookies(_text(value))
            else:
                shown = _redacted(value)
            lines.append(f"  {_text(name)}: {shown}")
        return "\n".join(lines)


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _redacted(value: str | bytes) -> str:
    return f"<redacted, {len(value)} bytes>"


def redact_query(target: str) -> str:
    """A path with its query: each parameter's value redacted, its name and position kept."""
    path, sep, query = target.partition("?")
    if not sep:
        return path
    parts = []
    for part in query.split("&"):
        name, eq, value = part.partition("=")
        parts.append(f"{name}={_redacted(value)}" if eq else name)
    return f"{path}?{'&'.join(parts)}"


def redact_cookies(header: str) -> str:
    """A Cookie header with every cookie's value redacted, the names kept."""
    items = []
    for item in header.split(";"):
        name, eq, value = item.strip().partition("=")
        items.append(f"{name}={_redacted(value)}" if eq else _redacted(item.strip()))
    return "; ".join(items)


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str | None = field(default=None)  # set when no HTTP response arrived at all

    def header(self, name: str) -> list[str]:
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def upstream_headers(self) -> dict[str, list[str]] | None:
        """What an httpbin-style backend says it received (its `headers` field), if this is one."""
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        headers = data.get("headers") if isinstance(data, dict) else None
        return headers if isinstance(headers, dict) else None

    def upstream_header(self, name: str) -> list[str] | None:
        headers = self.upstream_headers()
        if headers is None:
            return None
        lowered = name.lower()
        for key, values in headers.items():
            if key.lower() == lowered:
                return list(values) if isinstance(values, list) else [values]
        return []

    def describe(self, limit: int = 600) -> str:
        if self.error:
            return f"no response: {self.error}"
        upstream = self.upstream_headers()
        head = f"status {self.status}"
        ctype = self.header("content-type")
        if ctype:
            head += f", content-type {ctype[0]}"
        if upstream is not None:
            names = ", ".join(sorted(upstream))
            return f"{head}; the backend answered and saw the headers: {names}"
        body = self.text
        body = body if len(body) <= limit else body[:limit] + "..."
        return f"{head}; body {body!r}"


def control_get(transport: httpx.BaseTransport, url: str, timeout: float) -> httpx.Response:
    """A GET to a program's own endpoint (readiness, admin), read whole, over `transport`.

    Whoever asks holds the connections and closes them: a target its own pool, which also
    carries its traffic (`Target.control_get`; the harness polls an admin endpoint every few
    milliseconds while a change loads, so no connection or TLS context is built per call),
    a one-off readiness probe a transport of its own (`processes.answers`).
    """
    request = httpx.Request("GET", url, extensions={"timeout": httpx.Timeout(timeout).as_dict()})
    response = transport.handle_request(request)
    try:
        response.read()
    finally:
        response.close()
    response.request = request  # so that raise_for_status can say what was asked
    return response
