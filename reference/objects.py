"""The manifests the reference gateway serves: the project's one reader (`agwmodel`), less
what this gateway does not implement, which it refuses by name instead of serving wrongly."""

from __future__ import annotations

from typing import Any

from agwmodel import manifests
from agwmodel import model as m
from agwmodel.carriers import carrier
from agwmodel.manifests import Ignored, ManifestError, describe, object_key, shown

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
    if policy.unread:
        first, *rest = policy.unread
        others = f" (also not supported: {', '.join(rest)})" if rest else ""
        raise Unsupported(f"not supported by the reference gateway{others}", field=first, where=where, subject=policy.meta.ref)


def parse_object(doc: Any, where: str = "", order: tuple = ()) -> m.Resource | Ignored:
    obj = manifests.parse_object(doc, where, order)
    if isinstance(obj, m.Policy):
        _unsupported(obj, where)
    return obj


def parse_manifest(text: str, where: str) -> list[m.Resource | Ignored]:
    return manifests.parse_manifest(text, where, read=parse_object)
