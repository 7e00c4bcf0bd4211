"""The manifests the reference gateway serves: the project's one reader (`agwmodel`), less
what this gateway does not implement, which it refuses by name instead of serving wrongly."""

from __future__ import annotations

from typing import Any

from agwmodel import manifests
from agwmodel import model as m
from agwmodel.manifests import Ignored, ManifestError, describe, object_key, shown

__all__ = ["Ignored", "ManifestError", "describe", "object_key", "parse_manifest", "parse_object", "shown"]


def parse_object(doc: Any, where: str = "", order: tuple = ()) -> m.Resource | Ignored:
    obj = manifests.parse_object(doc, where, order)
    if isinstance(obj, m.Policy) and obj.api_key is not None and obj.api_key.location.kind == "expression":
        raise ManifestError("CEL expressions are not supported by the reference gateway",
                            field="spec.traffic.apiKeyAuthentication.location.expression", where=where, subject=obj.meta.ref)
    return obj


def parse_manifest(text: str, where: str) -> list[m.Resource | Ignored]:
    return manifests.parse_manifest(text, where, read=parse_object)
