"""The data plane: an ASGI application that authenticates, routes and forwards requests.

Forwarding goes through the gateway's own HTTP/1.1 client (`upstream`): headers pass
through as sent (duplicates too), minus the hop-by-hop ones, and nothing is added but a
`Host` when the request had none.
"""

from __future__ import annotations

import itertools
import logging
import random
from collections.abc import AsyncIterator, Callable

from agwmodel import routing
from agwmodel.carriers import carrier as carrier_of

from . import authorization, cel, ratelimit, transformation, upstream
from .config import NOTHING_DOWNSTREAM, AuthPolicy, Config, Downstream
from .decision import decide
from .keys import KeyEntry

log = logging.getLogger("agw-reference.proxy")

HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-connection",
    b"proxy-authenticate",
    # Proxy-Authorization is not in this list: it is an ordinary request header here (a key may
    # be read from it, and one no policy reads reaches the backend), as on agentgateway main.
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
}


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


def is_grpc(headers: list[tuple[bytes, bytes]]) -> bool:
    """`application/grpc` or `application/grpc+<subtype>`, ASCII case-insensitively and
    without its parameters; `application/grpc-web` is not gRPC (upstream
    `crates/agentgateway/src/http/mod.rs`, `is_grpc_content_type`)."""
    value = next((v for k, v in headers if k == b"content-type"), None)
    if value is None or not all(32 <= b < 127 or b == 9 for b in value):
        return False
    media = value.split(b";")[0].strip(b" \t").lower()
    return media == b"application/grpc" or media.startswith(b"application/grpc+")


def grpc_message(text: str) -> bytes:
    """`grpc-message` is percent-encoded: controls, space, `%` and every non-ASCII byte
    (the gRPC protocol; upstream `crates/agentgateway/src/proxy/mod.rs`, GRPC_MESSAGE_ENCODE_SET)."""
    return b"".join(b"%%%02X" % b if b < 0x21 or b >= 0x7F or b == 0x25 else bytes([b]) for b in text.encode())


# The HTTP-to-gRPC table of crates/agentgateway/src/proxy/mod.rs:419-433: UNAUTHENTICATED,
# PERMISSION_DENIED, and UNAVAILABLE for a 429.
_GRPC_STATUS = {401: b"16", 403: b"7", 429: b"14"}


async def _refuse(send, reason: str, headers: list[tuple[bytes, bytes]], status: int = 401,
                  extra: list[tuple[bytes, bytes]] = ()) -> None:
    """An authentication refusal (401), or with `status` 403 an authorization one and 429 a rate
    limit's, whose reason is the whole body; `extra` headers go on it either way."""
    message = reason if status != 401 else f"api key authentication failure: {reason}"
    if is_grpc(headers):
        # gRPC clients read the outcome from trailers-only responses.
        grpc = [*extra, (b"content-type", b"application/grpc"), (b"grpc-status", _GRPC_STATUS[status]),
                (b"grpc-message", grpc_message(message))]
        await send({"type": "http.response.start", "status": 200, "headers": grpc})
        await send({"type": "http.response.body", "body": b""})
        return
    if status != 401:
        await _plain(send, status, message.encode(), extra)
        return
    await _plain(send, 401, message.encode())


class Proxy:
    """ASGI app serving whatever configuration `current()` returns at request start."""

    def __init__(self, current: Callable[[], Config | None], client: upstream.Upstream | None = None,
                 upstream_timeout: float | None = None):
        self.current = current
        # The read timeout bounds each wait for the backend (its response head, each body chunk).
        self.upstream = client or upstream.Upstream(read_timeout=upstream_timeout or upstream.READ_TIMEOUT)
        self._rotation = itertools.count()

    async def aclose(self) -> None:
        await self.upstream.aclose()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        config = self.current()
        if config is None:
            await _plain(send, 503, b"no configuration loaded yet")
            return
        if config.refused:
            # Which files or objects, and why, is for the operator (readiness, the log), not the client.
            await _plain(send, 503, b"configuration refused: nothing is served until a good version loads")
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        host = next((v for k, v in headers if k == b"host"), b"").decode("latin-1").lower()
        host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        view = config.select_listener(host)
        if view is None:
            await _plain(send, 404, b"route not found")
            return
        query: bytes = scope["query_string"]
        verified: KeyEntry | None = None  # the last key a policy verified, for the policies after it

        if view.pre_policy is not None:
            outcome = await self._authenticate(view.pre_policy, headers, query, send, None)
            if outcome is None:
                return
            headers, query, verified = outcome

        # Decoding every header costs on each request; only header matches need it.
        header_map = {k.decode("latin-1"): v.decode("latin-1") for k, v in reversed(headers)} if view.matches_headers else {}
        candidate = routing.select(view.candidates, host, scope["method"], scope["path"], header_map, query)
        if candidate is None:
            await _plain(send, 404, b"route not found")
            return
        route = candidate.route
        rule_key = (route.meta.namespace, route.meta.name, candidate.rule_index)
        policy = view.post_policy.get(rule_key)
        if policy is not None:
            outcome = await self._authenticate(policy, headers, query, send, route)
            if outcome is None:
                return
            headers, query, entry = outcome
            verified = entry or verified
        later = view.downstream.get(rule_key, NOTHING_DOWNSTREAM)
        if later is not NOTHING_DOWNSTREAM:
            headers = await self._after_authentication(later, scope, host, headers, verified, send)
            if headers is None:
                return

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

    async def _authenticate(self, policy: AuthPolicy, headers, query: bytes, send, route):
        """Returns the (possibly stripped) request parts, or None after sending a refusal.

        `route` is the matched HTTPRoute, or None for a pre-routing policy. At debug level
        each decision is one log line that answers "why did I get a 401?": the matched key
        entry is named by where it is stored, never by its value.
        """
        carrier = carrier_of(policy.auth.location)
        presented = carrier.read(headers, query)
        decision = decide(policy.auth.mode, presented, policy.keys)
        if log.isEnabledFor(logging.DEBUG):
            if decision.entry is not None:
                reason = f"accepted: {policy.entry_names.get(decision.entry.digest, 'a configured key')}"
            else:
                reason = "missing" if presented is None else "invalid"
            meta = policy.policy.meta
            log.debug("authentication: route=%s policy=%s/%s mode=%s result=%s reason=%s",
                      f"{route.meta.namespace}/{route.meta.name}" if route is not None else "(pre-routing)",
                      meta.namespace, meta.name, policy.auth.mode, "allowed" if decision.allowed else "refused", reason)
        if not decision.allowed:
            await _refuse(send, decision.reason, headers)
            return None
        if decision.strip:
            return (*carrier.remove(headers, query), decision.entry)
        return headers, query, decision.entry

    @staticmethod
    async def _after_authentication(later: Downstream, scope, host: str, headers, verified: KeyEntry | None, send):
        """Authorization, the rate limit, then the request transformation, in the product's order
        (crates/agentgateway/src/proxy/httpproxy.rs:189-234). Returns the headers to forward,
        or None after sending a 403 or a 429."""
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        variables = cel.variables(cel.api_key(verified.metadata) if verified is not None else None,
                                  cel.request(scope["method"], path, host, headers))
        if not authorization.allowed(later.rule_sets, variables):
            await _refuse(send, authorization.BODY.decode(), headers, authorization.STATUS)
            return None
        exceeded = later.rate_limit.check(variables) if later.rate_limit is not None else None
        if exceeded is not None:
            await _refuse(send, ratelimit.BODY.decode(), headers, ratelimit.STATUS, exceeded.headers())
            return None
        if later.transformation is not None:
            return transformation.apply(later.transformation, headers, variables)
        return headers

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
        request_target = (scope.get("raw_path") or scope["path"].encode()) + (b"?" + query if query else b"")
        if not upstream.valid_target(request_target):
            await _plain(send, 400, b"bad request target")
            return
        try:
            response = await self.upstream.request(
                target[0], target[1], scope["method"].encode("ascii"), request_target, upstream_headers, _body(receive) if has_body else None
            )
        except upstream.UpstreamTimeout:
            await _plain(send, 504, b"upstream request timeout")
            return
        except upstream.UpstreamError as exc:
            log.info("upstream %s:%d failed: %s", target[0], target[1], exc)
            await _plain(send, 503, b"upstream connect error")
            return
        try:
            drop = _hop_by_hop(response.headers)
            out_headers = [(k, v) for k, v in response.headers if k not in drop]
            await send({"type": "http.response.start", "status": response.status, "headers": out_headers})
            async for chunk in response.body():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except upstream.UpstreamError as exc:
            # Headers are already sent; all we can do is end the response early.
            log.info("upstream %s:%d broke mid-response: %s", target[0], target[1], exc)
        finally:
            response.aclose()


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
