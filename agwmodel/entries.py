"""API key entries of Secrets and ConfigMaps, read as agentgateway's controller reads them.

The one key reader of the project (upstream `processAPIKeyAuthenticationPolicy`, v1.4.1;
the spec's section on key entries). Each entry of a store is one key:

- empty after trimming (Go's `bytes.TrimSpace`: Unicode spaces, so a lone no-break space
  too): invalid;
- a trimmed value that does not start with `{`: a raw key, used exactly as stored,
  untrimmed;
- otherwise a JSON object decoded as Go's encoding/json decodes into the controller's
  struct: member names match `key`, `keyHash` and `metadata` regardless of case, every
  matching member is applied in document order (so the last one wins), `null` leaves a
  string field as it was, other members are ignored;
- exactly one of `key` and `keyHash` must be non-empty; `keyHash` is `sha256:` and 64 hex
  digits; `metadata` is an object or null; ConfigMap entries must use `keyHash`;
- bytes that are not UTF-8 are invalid: the controller sends keys to the proxy as protobuf
  strings, which must be UTF-8.

Messages say why an entry was skipped and never contain its value.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from . import model as m

_HASH = re.compile(r"sha256:[0-9a-fA-F]{64}")


class InvalidEntry(ValueError):
    """An entry that gives no key; the message never contains the entry's value."""


@dataclass(frozen=True)
class Entry:
    key: str  # "" for a hashed entry
    key_hash: str  # "sha256:<hex>", or "" for a raw or JSON `key`
    metadata: dict | None = None


def _go_space(c: str) -> bool:
    # Go's unicode.IsSpace, which bytes.TrimSpace applies to each decoded rune.
    return c in "\t\n\v\f\r \x85\xa0\u2028\u2029" or unicodedata.category(c) == "Zs"


def go_trim(value: str) -> str:
    start, end = 0, len(value)
    while start < end and _go_space(value[start]):
        start += 1
    while end > start and _go_space(value[end - 1]):
        end -= 1
    return value[start:end]


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity; Go refuses them


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _go_string(value: str) -> str:
    # Go decodes an escaped lone surrogate ("\ud800") as U+FFFD; Python keeps it, and could not encode it.
    return _LONE_SURROGATE.sub("\ufffd", value)


class _Members(list):
    """A JSON object as its members in document order, duplicates kept (Go applies each one)."""


def _plain(value: object) -> object:
    if isinstance(value, _Members):
        return {name: _plain(item) for name, item in value}  # a repeated name: the last one, as Go keeps it
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


# The controller's struct fields, by member name folded as Go's decoder folds it.
_FIELDS = {"key": "key", "keyhash": "keyHash", "metadata": "metadata"}


def json_members(text: str) -> list[tuple[str | None, str, object]]:
    """A JSON entry's members in document order, duplicates kept, as Go's decoder meets them.

    Each is (the struct field it sets: `key`, `keyHash` or `metadata`, or None when it sets
    none; its name as written; its value). ValueError (or RecursionError) when `text` is not
    a JSON object. Besides `read_entry`, the reports read entries with it to mask every
    member that sets `key`, however its name is written.
    """
    members = json.loads(text, object_pairs_hook=_Members, parse_constant=_no_constant)
    if not isinstance(members, _Members):
        raise ValueError("not a JSON object")
    return [(_FIELDS.get(name.lower()), name, _plain(value)) for name, value in members]


def _json_fields(text: str) -> tuple[str, str, object]:
    """(key, keyHash, metadata) as Go decodes them; ValueError when not a JSON object."""
    key, key_hash, metadata = "", "", None
    for field, _, value in json_members(text):
        if field in ("key", "keyHash"):
            if value is None:
                continue
            if not isinstance(value, str):
                raise ValueError(f"{field} must be a string")
            if field == "key":
                key = _go_string(value)
            else:
                key_hash = _go_string(value)
        elif field == "metadata":
            metadata = value
    return key, key_hash, metadata


def read_entry(raw: bytes, *, from_config_map: bool = False) -> Entry:
    """The key one Secret or ConfigMap entry holds, or InvalidEntry saying why there is none."""
    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEntry("not UTF-8") from None
    trimmed = go_trim(value)
    if not trimmed:
        raise InvalidEntry("empty value")
    if not trimmed.startswith("{"):
        key, key_hash, metadata = value, "", None
    else:
        try:
            key, key_hash, metadata = _json_fields(trimmed)
        except (ValueError, RecursionError) as exc:
            reason = str(exc) if str(exc).endswith(("must be a string", "not a JSON object")) else "not valid JSON"
            raise InvalidEntry(reason) from None
    if (key == "") == (key_hash == ""):
        raise InvalidEntry("exactly one of key or keyHash must be set")
    if from_config_map and key:
        raise InvalidEntry("keys sourced from a ConfigMap must use keyHash, not a raw key, since ConfigMaps are not confidential")
    if key_hash and not _HASH.fullmatch(key_hash):
        raise InvalidEntry("keyHash must be sha256:<64 hex digits>")
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidEntry("metadata must be an object")
    return Entry(key, key_hash, metadata or None)


@dataclass(frozen=True)
class Found:
    """One key a policy accepts, and the entry it came from (for logs: never the key)."""

    entry: Entry
    store: m.Secret | m.ConfigMap
    name: str

    @property
    def origin(self) -> str:
        return f"{_kind(self.store)} {self.store.meta.name}, entry {self.name}"


def _kind(store: m.Secret | m.ConfigMap) -> str:
    return "configMap" if store.meta.kind == "ConfigMap" else "secret"


def _labels_match(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def stores(auth: m.ApiKeyAuth, namespace: str, objects: Iterable[m.Resource]) -> tuple[list[m.Secret | m.ConfigMap], list[str]]:
    """The Secrets or ConfigMaps a policy's keys come from (its own namespace only), and problems."""
    source = auth.source
    if source.kind == "secretRef":
        found = [o for o in objects if isinstance(o, m.Secret) and o.meta.namespace == namespace and o.meta.name == source.name]
        return found, [] if found else [f"secret {namespace}/{source.name} not found"]
    wanted = m.ConfigMap if source.kind == "configMapSelector" else m.Secret
    # A selector that matches nothing is no error: the policy is in force with zero keys.
    selected = [o for o in objects if isinstance(o, wanted) and o.meta.namespace == namespace and _labels_match(source.match_labels, o.meta.labels)]
    return selected, []


def policy_keys(auth: m.ApiKeyAuth, namespace: str, objects: Iterable[m.Resource]) -> tuple[list[Found], list[str]]:
    """Every key a policy accepts, and a line per skipped entry or missing Secret (the status's words)."""
    selected, problems = stores(auth, namespace, objects)
    keys = []
    for store in selected:
        for name in sorted(store.data):
            value = store.data[name]
            try:
                entry = read_entry(value if isinstance(value, bytes) else value.encode(), from_config_map=store.meta.kind == "ConfigMap")
            except InvalidEntry as exc:
                problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name}: {exc}")
            else:
                keys.append(Found(entry, store, name))
    return keys, problems
