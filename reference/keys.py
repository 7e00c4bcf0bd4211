"""The set of keys a policy accepts, kept as digests.

Which entries are keys is decided by the project's one key reader (`agwmodel.entries`);
this module only keeps what it found in the form the gateway looks up.

Only SHA-256 digests of keys are kept. A lookup is one dictionary probe on the digest of
the presented key, so its cost does not depend on how many keys exist, and nothing in
memory after loading (dumps, status, logs) can reveal a key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from agwmodel.entries import Entry, InvalidEntry, read_entry

__all__ = ["InvalidEntry", "KeyEntry", "KeySet", "digest", "key_entry", "parse_entry"]

# Entries without metadata share one empty mapping: a gateway may hold 100,000 of them.
NO_METADATA: Mapping = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class KeyEntry:
    digest: bytes
    metadata: Mapping = field(default_factory=lambda: NO_METADATA, hash=False, compare=False)


def digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()


def key_entry(entry: Entry) -> KeyEntry:
    """The digest form of a key the project's key reader found."""
    metadata = entry.metadata or NO_METADATA
    if entry.key:
        return KeyEntry(digest(entry.key.encode()), metadata)
    return KeyEntry(bytes.fromhex(entry.key_hash.removeprefix("sha256:")), metadata)


def parse_entry(value: bytes, *, hashed_only: bool = False) -> KeyEntry:
    """One stored value as a key (`hashed_only`: as a ConfigMap's), or InvalidEntry."""
    return key_entry(read_entry(value, from_config_map=hashed_only))


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
