"""The parts of an AgentgatewayPolicy's `traffic` that act on a request after authentication:
`authorization` and `transformation.request` (`set` and `add`).

Both are read the way the v1.4.1 CRD defines them
(`controller/api/v1alpha1/agentgateway/rbac.go:4-57`,
`controller/api/v1alpha1/agentgateway/agentgateway_policy_types.go:2386-2520`). CEL
expressions are kept as text: checking and running them is the consumer's business. What
these types do not hold (response transformations, `conditional`, `remove`, `body`,
`metadata`) is listed by `unread` so that a consumer refuses it by name.
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
FIELDS = {
    "authorization": {"policy": {"matchExpressions": None}, "action": None},
    "transformation": {"request": _TRANSFORM, "response": _TRANSFORM, "conditional": None},
}


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


def unread(traffic: dict, path: str) -> list[str]:
    """The parts of `authorization` and `transformation` the types above do not hold."""
    spec = traffic.get("transformation")
    if not isinstance(spec, dict):
        return []
    out = [f"{path}transformation.{k}" for k in ("response", "conditional") if spec.get(k) is not None]
    request = spec.get("request")
    if isinstance(request, dict):
        out += [f"{path}transformation.request.{k}" for k in ("remove", "body", "metadata") if request.get(k) is not None]
        # Pseudo-headers rewrite the request line, not a header.
        out += [f"{path}transformation.request.{member}[{i}].name" for member in ("set", "add")
                for i, item in enumerate(request.get(member) or []) if isinstance(item, dict) and item.get("name") in PSEUDO_HEADERS]
    return out


# At the end: `manifests` imports this module while it is being built, and needs only FIELDS
# from it then; these functions are defined before that point of `manifests`.
from .manifests import ManifestError, _enum, _list, _mapping, _mappings, _str  # noqa: E402
