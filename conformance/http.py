"""Requests the suite sends and the responses it judges, independent of any target."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import httpx

from agwmodel import carriers


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
        """The request for a failure message: every value that may be a credential redacted,
        as each kind of key location redacts its own (agwmodel.carriers; names are shown)."""
        shown = carriers.hide(self.recorded())
        lines = [f"{self.method} {shown.target} (Host: {self.host})"]
        lines += [f"  {name}: {value}" for name, value in shown.headers]
        return "\n".join(lines)

    def recorded(self) -> carriers.Recorded:
        return carriers.Recorded(self.path, tuple((_text(n), _text(v)) for n, v in self.headers))


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


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
        try:
            return carriers.echo_header(json.loads(self.body), name)
        except ValueError:
            return None

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
