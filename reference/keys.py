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
from types import MappingProxyType

_HASH = re.compile(r"sha256:([0-9a-fA-F]{64})")


class InvalidEntry(ValueError):
    """An entry that cannot be turned into a key; the message never contains the entry's value."""


# Entries without metadata share one empty mapping: a gateway may hold 100,000 of them.
NO_METADATA: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KeyEntry:
    digest: bytes
    metadata: Mapping = field(default_factory=lambda: NO_METADATA, hash=False, compare=False)


def digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def _field(obj: dict, name: str):
    """A JSON field as the controller's Go decoder finds it.

    Go's encoding/json matches an object's names to a struct field without regard to
    case, and when several names match, the last one in the document wins. `null`
    leaves the field unset.
    """
    found = None
    for key, value in obj.items():
        if key.lower() == name.lower():
            found = value
    return found


def parse_entry(value: bytes, *, hashed_only: bool = False) -> KeyEntry:
    """Interpret one Secret/ConfigMap value: a raw key, or a JSON object with key or keyHash.

    A raw key is used byte for byte (never trimmed); only the JSON test and the
    emptiness test look at the trimmed value. JSON entries are read as the
    agentgateway controller reads them (see `_field`): an empty or null `key` or
    `keyHash` counts as unset, and `"metadata": null` means no metadata.
    """
    if not value.strip():
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
    metadata = _field(obj, "metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, dict):
        raise InvalidEntry("metadata must be an object")
    metadata = metadata or NO_METADATA
    key, key_hash = _field(obj, "key"), _field(obj, "keyHash")
    for name, given in (("key", key), ("keyHash", key_hash)):
        if given is not None and not isinstance(given, str):
            raise InvalidEntry(f"{name} must be a string")
    has_key, has_hash = bool(key), bool(key_hash)
    if has_key == has_hash:
        raise InvalidEntry("exactly one of key and keyHash must be set")
    if has_key:
        if hashed_only:
            raise InvalidEntry("only hashed keys (keyHash) are allowed here")
        return KeyEntry(digest(key.encode()), metadata)
    match = _HASH.fullmatch(key_hash)
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
