"""The parts of an AgentgatewayPolicy's `traffic` that act on a request after authentication:
`authorization`, `transformation.request` (`set` and `add`) and `rateLimit` (`local`, and
`conditional` entries of `local` limits).

They are read the way the v1.4.1 CRD defines them
(`controller/api/v1alpha1/agentgateway/rbac.go:4-57`,
`controller/api/v1alpha1/agentgateway/agentgateway_policy_types.go:2386-2520`, `:2912-3080`).
CEL expressions are kept as text: checking and running them is the consumer's business. What
these types do not hold (response transformations, `conditional`, `remove`, `body`,
`metadata` transformations; `global` rate limits, `tokens` limits, a second `local` limit) is
listed by `unread` so that a consumer refuses it by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# The CRD's HeaderName (agentgateway_policy_types.go:2467-2476): a token, or one of the pseudo-headers.
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}")
PSEUDO_HEADERS = (":authority", ":method", ":path", ":scheme", ":status")

# For the manifest reader's check of field names (manifests._POLICY_FIELDS).
_HEADERS = [dict.fromkeys(("name", "value"))]
_TRANSFORM = {"set": _HEADERS, "add": _HEADERS, "remove": None, "body": None, "metadata": None}
_LOCAL = [dict.fromkeys(("requests", "tokens", "unit", "burst"))]
FIELDS = {
    "authorization": {"policy": {"matchExpressions": None}, "action": None},
    "transformation": {"request": _TRANSFORM, "response": _TRANSFORM, "conditional": None},
    "rateLimit": {"local": _LOCAL, "global": None, "conditional": [{"condition": None, "policy": {"local": _LOCAL, "global": None}}]},
}
RATE_LIMIT_UNITS = ("Seconds", "Minutes", "Hours")


@dataclass(frozen=True)
class Authorization:
    """`traffic.authorization`: one action for all its expressions. The controller turns each
    expression into a rule of its own (`controller/pkg/agentgateway/plugins/traffic_plugin.go:1567-1586`),
    so any one matching Allow or Deny expression decides, and every Require expression must hold."""

    action: Literal["Allow", "Deny", "Require"]
    expressions: tuple[str, ...]


@dataclass(frozen=True)
class HeaderValue:
    name: str  # lowercased: header names match without regard to case
    expression: str


@dataclass(frozen=True)
class RequestTransformation:
    """`traffic.transformation.request`: headers set (replacing) and added (appended) from CEL."""

    set: tuple[HeaderValue, ...] = ()
    add: tuple[HeaderValue, ...] = ()


@dataclass(frozen=True)
class LocalLimit:
    """One `local` limit counted in requests: `requests` per `unit`, and `burst` more on top."""

    requests: int
    unit: Literal["Seconds", "Minutes", "Hours"]
    burst: int = 0


@dataclass(frozen=True)
class RateLimitEntry:
    condition: str | None  # None: applies to every request that reaches it (the fallback)
    limit: LocalLimit | None  # None when the entry has no `local` requests limit (only `global` or `tokens`)


@dataclass(frozen=True)
class RateLimit:
    """`traffic.rateLimit`: the first entry whose condition holds applies. A plain `local` limit
    is one entry without a condition (the controller's translation,
    `controller/pkg/agentgateway/plugins/traffic_plugin.go:1601-1652`)."""

    entries: tuple[RateLimitEntry, ...]


def authorization(traffic: dict, path: str) -> Authorization | None:
    if traffic.get("authorization") is None:
        return None
    spec = _mapping(traffic, "authorization", path)
    path += "authorization."
    policy = _mapping(spec, "policy", path, required=True)
    expressions = []
    for i, item in enumerate(_list(policy, "matchExpressions", path + "policy.")):
        where = f"{path}policy.matchExpressions[{i}]"
        if not isinstance(item, str):
            raise ManifestError("must be a string", field=where)
        if not 1 <= len(item) <= 16384:
            raise ManifestError("must be between 1 and 16384 characters", field=where)
        expressions.append(item)
    if not 1 <= len(expressions) <= 256:
        raise ManifestError("between 1 and 256 entries are required", field=path + "policy.matchExpressions")
    return Authorization(_enum(spec, "action", path, ("Allow", "Deny", "Require"), "Allow"), tuple(expressions))


def _headers(transform: dict, member: str, path: str) -> tuple[HeaderValue, ...]:
    items = _mappings(transform, member, path)
    if transform.get(member) is not None and not 1 <= len(items) <= 16:
        raise ManifestError("between 1 and 16 entries are required", field=path + member)
    out, seen = [], set()
    for here, item in items:
        name = _str(item, "name", here, required=True)
        if not _HEADER_NAME.fullmatch(name) and name not in PSEUDO_HEADERS:
            raise ManifestError("must be an HTTP header name, or one of " + ", ".join(PSEUDO_HEADERS), field=here + "name")
        if name.lower() in seen:
            raise ManifestError("duplicate name: the list is a map keyed by name", field=here + "name")
        seen.add(name.lower())
        out.append(HeaderValue(name.lower(), _str(item, "value", here, required=True)))
    return tuple(out)


def transformation(traffic: dict, path: str) -> RequestTransformation | None:
    if traffic.get("transformation") is None:
        return None
    spec = _mapping(traffic, "transformation", path)
    request = _mapping(spec, "request", path + "transformation.")
    here = path + "transformation.request."
    return RequestTransformation(_headers(request, "set", here), _headers(request, "add", here))


def _local(limits: dict, path: str) -> LocalLimit | None:
    """The first of `local`, when it counts requests; the CRD's own checks on each."""
    items = _mappings(limits, "local", path)
    if limits.get("local") is not None and not 1 <= len(items) <= 16:
        raise ManifestError("between 1 and 16 entries are required", field=path + "local")
    out = []
    for here, item in items:
        if (item.get("requests") is None) == (item.get("tokens") is None):
            raise ManifestError("exactly one of the fields in [requests tokens] must be set", field=here.rstrip("."))
        for member in ("requests", "tokens"):
            value = _int(item, member, here)
            if value is not None and not 1 <= value <= 2**31 - 1:
                raise ManifestError("must be between 1 and 2147483647", field=here + member)
        burst = _int(item, "burst", here, default=0)
        if not -(2**31) <= burst <= 2**31 - 1:
            raise ManifestError("must be a 32-bit integer", field=here + "burst")
        _str(item, "unit", here, required=True)
        unit = _enum(item, "unit", here, RATE_LIMIT_UNITS, "")
        out.append(None if item.get("requests") is None else LocalLimit(item["requests"], unit, burst))  # type: ignore[arg-type]
    return out[0] if out else None


def _limits(spec: dict, path: str, members: str = "global local") -> None:
    if spec.get("local") is None and spec.get("global") is None:
        raise ManifestError(f"at least one of the fields in [{members}] must be set", field=path.rstrip("."))


def rate_limit(traffic: dict, path: str) -> RateLimit | None:
    if traffic.get("rateLimit") is None:
        return None
    spec = _mapping(traffic, "rateLimit", path)
    path += "rateLimit."
    if spec.get("conditional") is None:
        _limits(spec, path, "conditional global local")
        return RateLimit((RateLimitEntry(None, _local(spec, path)),))
    if spec.get("local") is not None or spec.get("global") is not None:
        raise ManifestError("conditional cannot be set with any other field", field=path.rstrip("."))
    items = _mappings(spec, "conditional", path)
    if not 1 <= len(items) <= 16:
        raise ManifestError("between 1 and 16 entries are required", field=path + "conditional")
    entries = []
    for here, item in items:
        condition = _str(item, "condition", here)
        if condition is not None and not 1 <= len(condition) <= 16384:
            raise ManifestError("must be between 1 and 16384 characters", field=here + "condition")
        limits = _mapping(item, "policy", here, required=True)
        _limits(limits, here + "policy.")
        entries.append(RateLimitEntry(condition, _local(limits, here + "policy.")))
    if any(e.condition is None for e in entries[:-1]):
        raise ManifestError("conditional entries without condition must be last", field=path + "conditional")
    return RateLimit(tuple(entries))


def _unread_rate_limit(traffic: dict, path: str) -> list[str]:
    """`global` limits (they need a rate limit service), `tokens` limits (LLM tokens), and every
    `local` limit after the first, which the controller drops (it translates `(*limits)[0]` only,
    `traffic_plugin.go:1681-1683`)."""
    spec = traffic.get("rateLimit")
    if not isinstance(spec, dict):
        return []
    path += "rateLimit."
    places = [(path, spec)] + [(f"{path}conditional[{i}].policy.", e.get("policy")) for i, e in enumerate(spec.get("conditional") or [])
                               if isinstance(e, dict)]
    out = []
    for here, limits in places:
        if not isinstance(limits, dict):
            continue
        if limits.get("global") is not None:
            out.append(here + "global")
        for i, item in enumerate(limits.get("local") or []):
            if i > 0:
                out.append(f"{here}local[{i}]")
            elif isinstance(item, dict) and item.get("tokens") is not None:
                out.append(f"{here}local[{i}].tokens")
    return out


def unread(traffic: dict, path: str) -> list[str]:
    """The parts of `authorization`, `transformation` and `rateLimit` the types above do not hold."""
    spec = traffic.get("transformation")
    if not isinstance(spec, dict):
        return _unread_rate_limit(traffic, path)
    out = [f"{path}transformation.{k}" for k in ("response", "conditional") if spec.get(k) is not None]
    request = spec.get("request")
    if isinstance(request, dict):
        out += [f"{path}transformation.request.{k}" for k in ("remove", "body", "metadata") if request.get(k) is not None]
        # Pseudo-headers rewrite the request line, not a header.
        out += [f"{path}transformation.request.{member}[{i}].name" for member in ("set", "add")
                for i, item in enumerate(request.get(member) or []) if isinstance(item, dict) and item.get("name") in PSEUDO_HEADERS]
    return out + _unread_rate_limit(traffic, path)


# At the end: `manifests` imports this module while it is being built, and needs only FIELDS
# from it then; these functions are defined before that point of `manifests`.
from .manifests import ManifestError, _enum, _int, _list, _mapping, _mappings, _str  # noqa: E402
