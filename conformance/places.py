"""Where a scenario puts the key in a request, and where it looks for it at the backend.

A place is a key location (`agwmodel.carriers`, the gateway's own model of it) named in
the scenarios' words. The backend is httpbin (or the reference echo): `/anything` reports
what it received, which is how a scenario sees whether the gateway removed the credential
or left it in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agwmodel.carriers import Carrier, Header, carrier
from agwmodel.model import KeyLocation

from .http import Request, Response


@dataclass(frozen=True)
class Place:
    carrier: Carrier

    @property
    def name(self) -> str:
        return self.carrier.name

    @property
    def in_header(self) -> bool:
        return isinstance(self.carrier, Header)

    def describe(self) -> str:
        return self.carrier.describe()

    def present(self, request: Request, key: str) -> Request:
        return self.carrier.put(request, key)

    def carried(self, response: Response, key: str) -> bool | None:
        """Whether httpbin received this key here, as presented; None if this is not httpbin's answer."""
        values = self._received(response)
        if values is None:
            return None
        return self.carrier.written(key) in values

    def anything_received(self, response: Response) -> bool | None:
        values = self._received(response)
        return None if values is None else bool(values)

    def _received(self, response: Response) -> list[str] | None:
        try:
            echo = json.loads(response.body)
        except ValueError:
            return None
        return self.carrier.received(echo)


def _at(kind: str, name: str, prefix: str = "") -> Place:
    return Place(carrier(KeyLocation(kind, name, prefix)))


PLACES = {
    "the Authorization header": _at("header", "Authorization", "Bearer "),
    "the X-Api-Key header": _at("header", "X-Api-Key"),
    "the Proxy-Authorization header": _at("header", "Proxy-Authorization", "Bearer "),
    "the X-Auth header after the prefix Token": _at("header", "X-Auth", "Token "),
    "the api_key query parameter": _at("queryParameter", "api_key"),
    "the session cookie": _at("cookie", "session"),
}


def place(words: str) -> Place:
    try:
        return PLACES[words]
    except KeyError:
        raise AssertionError(f"unknown place {words!r}; the steps know: {', '.join(PLACES)}") from None
