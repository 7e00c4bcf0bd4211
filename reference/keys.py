"""API key entries and the set of keys a policy accepts.

Only SHA-256 digests of keys are kept. A lookup is one dictionary probe on the digest of
the presented key, so its cost does not depend on how many keys exist, and nothing in
memory after loading (dumps, status, logs) can reveal a key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

_HASH = re.compile(r"sha256:([0-9a-fA-F]{64})")


class InvalidEntry(ValueError):
    """An entry that cannot be turned into a key; the message never contains the entry's value."""


@dataclass(frozen=True)
class KeyEntry:
    digest: bytes
    metadata: dict = field(default_factory=dict, hash=False, compare=False)


def digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def parse_entry(value: bytes, *, hashed_only: bool = False) -> KeyEntry:
    """Interpret one Secret/ConfigMap value: a raw key, or a JSON object with key or keyHash.

    A raw key is used byte for byte (never trimmed); only the JSON test looks at the
    trimmed value.
    """
    if not value:
        raise InvalidEntry("empty value")
    if not value.strip().startswith(b"{"):
        if hashed_only:
            raise InvalidEntry("only hashed keys (keyHash) are allowed here")
        return KeyEntry(digest(value))
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError):
        raise InvalidEntry("not valid JSON") from None
    if not isinstance(obj, dict):
        raise InvalidEntry("not a JSON object")
    metadata = obj.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidEntry("metadata must be an object")
    has_key, has_hash = "key" in obj, "keyHash" in obj
    if has_key == has_hash:
        raise InvalidEntry("exactly one of key and keyHash must be set")
    if has_key:
        if hashed_only:
            raise InvalidEntry("only hashed keys (keyHash) are allowed here")
        key = obj["key"]
        if not isinstance(key, str) or not key:
            raise InvalidEntry("key must be a non-empty string")
        return KeyEntry(digest(key.encode()), metadata)
    match = _HASH.fullmatch(obj["keyHash"]) if isinstance(obj["keyHash"], str) else None
    if not match:
        raise InvalidEntry("keyHash must be sha256:<64 hex digits>")
    return KeyEntry(bytes.fromhex(match.group(1)), metadata)


@dataclass(frozen=True)
class KeySet:
    """The accepted keys of one policy, by digest."""

    entries: Mapping[bytes, KeyEntry] = field(default_factory=dict)

    @classmethod
    def merge(cls, entries: Iterable[KeyEntry]) -> KeySet:
        # The same key from two sources is fine; which metadata wins is not defined.
        return cls({e.digest: e for e in entries})

    def __len__(self) -> int:
        return len(self.entries)

    def lookup(self, presented: bytes) -> KeyEntry | None:
        return self.entries.get(digest(presented))
