"""The decision table of API key authentication (mode x credential state)."""

from __future__ import annotations

from dataclasses import dataclass

from .keys import KeyEntry, KeySet

MISSING = "no API Key found"
INVALID = "invalid credentials"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str | None = None  # why a request is refused
    strip: bool = False  # remove the credential before forwarding
    entry: KeyEntry | None = None  # the matched key, for later policies


def decide(mode: str, presented: bytes | None, keys: KeySet) -> Decision:
    """Apply the table:

    | mode       | no key  | invalid key           | valid key        |
    | Strict     | 401     | 401                   | forward, strip   |
    | Optional   | forward | 401                   | forward, strip   |
    | Permissive | forward | forward, left in place| forward, strip   |
    """
    if presented is None:
        if mode == "Strict":
            return Decision(False, MISSING)
        return Decision(True)
    entry = keys.lookup(presented)
    if entry is not None:
        return Decision(True, strip=True, entry=entry)
    if mode == "Permissive":
        return Decision(True)
    return Decision(False, INVALID)
