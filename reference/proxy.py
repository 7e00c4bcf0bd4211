"""The data plane: an ASGI application that authenticates, routes and forwards requests.

Forwarding goes straight to a shared httpx transport: no client object, so no cookie jar
and no default headers are added, and headers pass through as sent (duplicates too),
minus the hop-by-hop ones.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable

import httpx

from . import credentials, routing
from .config import AuthPolicy, Config
from .decision import decide

log = logging.getLogger("agw-reference.proxy")

HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"proxy-authenticate",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}
TIMEOUTS = {"connect": 5.0, "read": 300.0, "write": 300.0, "pool": 10.0}


def _hop_by_hop(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    names = set(HOP_BY_HOP)
    for key, value in headers:
        if key == b"connection":
            names.update(token.strip().lower() for token in value.split(b","))
    return names


async def _plain(send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] = ()) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(send, reason: str, headers: list[tuple[bytes, bytes]]) -> None:
    message = f"api key authentication failure: {reason}"
    content_type = next((v for k, v in headers if k == b"content-type"), b"")
    if content_type.startswith(b"application/grpc"):
        # gRPC clients read the outcome from trailers-only responses: UNAUTHENTICATED is 16.
        grpc = [(b"content-type", b"application/grpc"), (b"grpc-status", b"16"), (b"grpc-message", message.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": grpc})
        await send({"type": "http.response.body", "body": b""})
        return
    await _plain(send, 401, message.encode())


class Proxy:
    """ASGI app serving whatever configuration `current()` returns at request start."""

    def __init__(self, current: Callable[[], Config | None], transport: httpx.AsyncBaseTransport | None = None,
                 upstream_timeout: float | None = None):
        self.current = current
        # The read timeout bounds each wait for the backend (its headers, each body chunk).
        self.timeouts = {**TIMEOUTS, "read": upstream_timeout} if upstream_timeout else TIMEOUTS
        self.transport = transport or httpx.AsyncHTTPTransport(
            retries=0, limits=httpx.Limits(max_connections=512, max_keepalive_connections=128)
        )
        self._rotation = itertools.count()

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        config = self.current()
        if config is None:
            await _plain(send, 503, b"no configuration loaded yet")
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        host = next((v for k, v in headers if k == b"host"), b"").decode("latin-1").lower()
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        view = config.select_listener(host)
        if view is None:
            await _plain(send, 404, b"route not found")
            return
        query: bytes = scope["query_string"]

        if view.pre_policy is not None:
            outcome = await self._authenticate(view.pre_policy, headers, query, send)
            if outcome is None:
                return
            headers, query = outcome

        # Decoding every header costs on each request; only header matches need it.
        header_map = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(headers)} if view.matches_headers else {}
        candidate = routing.select(view.candidates, host, scope["method"], scope["path"], header_map)
        if candidate is None:
            await _plain(send, 404, b"route not found")
            return
        route = candidate.route
        policy = view.post_policy.get((route.meta.namespace, route.meta.name, candidate.rule_index))
        if policy is not None:
            outcome = await self._authenticate(policy, headers, query, send)
            if outcome is None:
                return
            headers, query = outcome

        target = self._endpoint(config, candidate)
        if isinstance(target, str):
            # An invalid backend reference is a 500, as the Gateway API asks; a valid one
            # without ready endpoints is a 503.
            await _plain(send, 500, target.encode())
            return
        if target is None:
            await _plain(send, 503, b"no healthy upstream")
            return
        await self._forward(scope, receive, send, target, headers, query)

    async def _authenticate(self, policy: AuthPolicy, headers, query: bytes, send):
        """Returns the (possibly stripped) request parts, or None after sending a refusal."""
        location = policy.auth.location
        decision = decide(policy.auth.mode, credentials.extract(location, headers, query), policy.keys)
        if not decision.allowed:
            await _refuse(send, decision.reason, headers)
            return None
        if decision.strip:
            return credentials.strip(location, headers, query)
        return headers, query

    def _endpoint(self, config: Config, candidate: routing.Candidate) -> tuple[str, int] | str | None:
        """An endpoint of a backend picked by weight; why that backend is invalid; or None."""
        backends = [b for b in candidate.rule.backends if b.weight > 0]
        if not backends:
            return None
        ref = backends[0] if len(backends) == 1 else random.choices(backends, [b.weight for b in backends])[0]
        invalid = config.invalid(candidate.route, ref)
        if invalid is not None:
            return invalid
        endpoints = config.endpoints(ref)
        if not endpoints:
            return None
        return endpoints[next(self._rotation) % len(endpoints)]

    async def _forward(self, scope, receive, send, target: tuple[str, int], headers, query: bytes) -> None:
        drop = _hop_by_hop(headers)
        upstream_headers = [(k, v) for k, v in headers if k not in drop]
        has_body = any(k in (b"content-length", b"transfer-encoding") for k, _ in headers)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        try:
            url = httpx.URL(scheme="http", host=target[0], port=target[1], raw_path=raw_path + (b"?" + query if query else b""))
        except (UnicodeDecodeError, httpx.InvalidURL):
            await _plain(send, 400, b"bad request target")
            return
        request = httpx.Request(
            scope["method"],
            url,
            headers=upstream_headers,
            content=_body(receive) if has_body else b"",
            extensions={"timeout": self.timeouts},
        )
        try:
            response = await self.transport.handle_async_request(request)
        except httpx.TimeoutException:
            await _plain(send, 504, b"upstream request timeout")
            return
        except httpx.TransportError as exc:
            log.info("upstream %s:%d failed: %s", target[0], target[1], type(exc).__name__)
            await _plain(send, 503, b"upstream connect error")
            return
        try:
            drop = _hop_by_hop(response.headers.raw)
            out_headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in drop]
            await send({"type": "http.response.start", "status": response.status_code, "headers": out_headers})
            async for chunk in response.stream:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except httpx.TransportError as exc:
            # Headers are already sent; all we can do is end the response early.
            log.info("upstream %s:%d broke mid-response: %s", target[0], target[1], type(exc).__name__)
        finally:
            await response.aclose()


async def _body(receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
