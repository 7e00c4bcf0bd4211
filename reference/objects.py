"""The manifests the reference gateway serves: the project's one reader (`agwmodel`), less
what this gateway does not implement, which it refuses by name instead of serving wrongly."""

from __future__ import annotations

from typing import Any

from agwmodel import manifests
from agwmodel import model as m
from agwmodel.carriers import carrier
from agwmodel.manifests import Ignored, ManifestError, describe, object_key, shown

from .cel import CelError, Program

__all__ = ["Ignored", "ManifestError", "Unsupported", "describe", "object_key", "parse_manifest", "parse_object", "shown"]


class Unsupported(ManifestError):
    """A setting the CRD defines and this gateway does not implement.

    Not `Invalid`: an API server would accept the object. It is refused all the same,
    because a policy served without a setting it asks for (an authorization rule, say)
    lets through what the policy would refuse.
    """


def _unsupported(policy: m.Policy, where: str) -> None:
    if policy.api_key is not None and carrier(policy.api_key.location).needs_cel:
        raise Unsupported("CEL expressions are not supported by the reference gateway",
                          field="spec.traffic.apiKeyAuthentication.location.expression", where=where, subject=policy.meta.ref)
    later = [f"spec.traffic.{name}" for name in ("authorization", "transformation") if getattr(policy, name) is not None]
    later += ["spec.traffic.rateLimit"] if policy.rate_limit is not None else []
    if later and policy.phase == "PreRouting":
        raise Unsupported("not supported by the reference gateway in a PreRouting policy", field=later[0], where=where, subject=policy.meta.ref)
    if policy.authorization is not None and policy.inheritance == "Override":
        # Override stops less specific rule sets from adding to this one; the reference does not model that.
        raise Unsupported("not supported by the reference gateway with strategy.inheritance: Override",
                          field="spec.traffic.authorization", where=where, subject=policy.meta.ref)
    if policy.rate_limit is not None and any(e.limit is not None and e.limit.burst < 0 for e in policy.rate_limit.entries):
        # The CRD allows it, but a bucket smaller than its refill is one the proxy refuses to build
        # (crates/agentgateway/src/http/localratelimit.rs:425-428): what it then serves is not modelled.
        raise Unsupported("a negative burst is not supported by the reference gateway", field="spec.traffic.rateLimit", where=where,
                          subject=policy.meta.ref)
    if policy.unread:
        first, *rest = policy.unread
        others = f" (also not supported: {', '.join(rest)})" if rest else ""
        raise Unsupported(f"not supported by the reference gateway{others}", field=first, where=where, subject=policy.meta.ref)


def _expressions(policy: m.Policy) -> list[tuple[str, str]]:
    """Each CEL expression of the policy's authorization, transformation and rate limit conditions, with its field."""
    out = []
    if policy.authorization is not None:
        out += [(f"spec.traffic.authorization.policy.matchExpressions[{i}]", e) for i, e in enumerate(policy.authorization.expressions)]
    if policy.transformation is not None:
        for member in ("set", "add"):
            out += [(f"spec.traffic.transformation.request.{member}[{i}].value", h.expression)
                    for i, h in enumerate(getattr(policy.transformation, member))]
    if policy.rate_limit is not None:
        out += [(f"spec.traffic.rateLimit.conditional[{i}].condition", e.condition)
                for i, e in enumerate(policy.rate_limit.entries) if e.condition is not None]
    return out


def _compiles(policy: m.Policy, where: str) -> None:
    # The controller checks that each parses (traffic_plugin.go:1570-1572, :2019-2023); a rule that
    # cannot run must not be served as a rule that never matches.
    for field, text in _expressions(policy):
        try:
            Program(text)
        except CelError as exc:
            raise ManifestError(str(exc), field=field, where=where, subject=policy.meta.ref) from None


def parse_object(doc: Any, where: str = "", order: tuple = ()) -> m.Resource | Ignored:
    obj = manifests.parse_object(doc, where, order)
    if isinstance(obj, m.Policy):
        _compiles(obj, where)
        _unsupported(obj, where)
    return obj


def parse_manifest(text: str, where: str) -> list[m.Resource | Ignored]:
    return manifests.parse_manifest(text, where, read=parse_object)
