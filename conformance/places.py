"""Where a scenario puts the key in a request, and where it looks for it at the backend.

The backend is httpbin (or the reference echo): `/anything` reports the headers and the
query arguments it received, which is how a scenario sees whether the gateway removed the
credential or left it in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from urllib.parse import quote

from .http import Request, Response


@dataclass(frozen=True)
class Place:
    kind: str  # header, query or cookie
    name: str
    prefix: str = ""

    def present(self, request: Request, key: str) -> Request:
        if self.kind == "header":
            return request.with_header(self.name, self.prefix + key)
        if self.kind == "query":
            sep = "&" if "?" in request.path else "?"
            return replace(request, path=f"{request.path}{sep}{self.name}={quote(key, safe='')}")
        return request.with_header("Cookie", f"{self.name}={key}")

    def carried(self, response: Response, key: str) -> bool | None:
        """Whether httpbin received this key here, as presented; None if this is not httpbin's answer."""
        values = self._received(response)
        if values is None:
            return None
        return (self.prefix + key if self.kind == "header" else key) in values

    def anything_received(self, response: Response) -> bool | None:
        values = self._received(response)
        return None if values is None else bool(values)

    def _received(self, response: Response) -> list[str] | None:
        if self.kind == "header":
            return response.upstream_header(self.name)
        if self.kind == "query":
            try:
                args = json.loads(response.body).get("args")
            except (ValueError, AttributeError):
                return None
            if not isinstance(args, dict):
                return None
            value = args.get(self.name, [])
            return value if isinstance(value, list) else [value]
        cookies = response.upstream_header("Cookie")
        if cookies is None:
            return None
        found = []
        for header in cookies:
            for item in header.split(";"):
                name, sep, value = item.strip().partition("=")
                if sep and name == self.name:
                    found.append(value)
        return found


PLACES = {
    "the Authorization header": Place("header", "Authorization", "Bearer "),
    "the X-Api-Key header": Place("header", "X-Api-Key"),
    "the Proxy-Authorization header": Place("header", "Proxy-Authorization", "Bearer "),
    "the X-Auth header after the prefix Token": Place("header", "X-Auth", "Token "),
    "the api_key query parameter": Place("query", "api_key"),
    "the session cookie": Place("cookie", "session"),
}


def place(words: str) -> Place:
    try:
        return PLACES[words]
    except KeyError:
        raise AssertionError(f"unknown place {words!r}; the steps know: {', '.join(PLACES)}") from None
