"""CEL as the policies after API key authentication see it: the `apiKey` and `request` variables.

Expressions run on `common-expression-language`, the bindings of the Rust `cel` crate that
agentgateway's engine is a fork of (docs/cel-library.md says why, and where they differ).
An expression that fails to evaluate is an error here as in the product; each caller
decides what an error means (a rule that does not match, a header that is removed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cel as _cel

# What `apiKey.key` reads as: the product's secret string materializes redacted
# (crates/agentgateway/src/cel/types.rs:1634-1636; schema/cel.md, `apiKey.key`).
REDACTED = "<redacted>"


class CelError(Exception):
    """An expression that does not compile or does not evaluate. The message never holds a
    variable's value (the library's own messages can; they are not passed on)."""


class Program:
    def __init__(self, text: str):
        try:
            self._program = _cel.compile(text)
        except Exception:  # noqa: BLE001 -- the library raises ValueError, or others on odd input
            raise CelError("not a valid CEL expression") from None

    def evaluate(self, variables: Mapping[str, Any]) -> Any:
        try:
            return self._program.execute(_cel.Context(variables=dict(variables)))
        except Exception:  # noqa: BLE001 -- a missing field, a type mismatch, ...: all mean "no value"
            raise CelError("evaluation failed") from None


def _as_struct(value: Any) -> Any:
    """A JSON value as a protobuf Struct holds it, where every number is a double: the controller
    sends metadata that way (controller/pkg/agentgateway/plugins/traffic_plugin.go:985) and the
    proxy reads it back as JSON (crates/agentgateway/src/types/agent_xds.rs:2780-2786)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_as_struct(v) for v in value]
    return {k: _as_struct(v) for k, v in value.items()}


def api_key(metadata: Mapping | None) -> dict:
    """`apiKey` for a verified key: its metadata's fields at the top level (no `metadata.`), and
    `key`, which is never the key (crates/agentgateway/src/http/apikey.rs:47-57, `#[serde(flatten)]`
    and `#[dynamic(flatten)]` on `metadata`). The struct's own `key` field is looked up before the
    flattened metadata, so a metadata field named `key` cannot replace it."""
    return {**_as_struct(dict(metadata or {})), "key": REDACTED}


def request(method: str, path: str, host: str, headers: list[tuple[bytes, bytes]]) -> dict:
    """`request` (schema/cel.md): a header sent once is a string, one sent several times the list
    of its values (schema/cel-functions.md, "A direct header lookup"); names are lowercase."""
    values: dict[str, list[str]] = {}
    for name, value in headers:
        values.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return {
        "method": method,
        "path": path,
        "host": host,
        "headers": {k: v[0] if len(v) == 1 else v for k, v in values.items()},
    }


def variables(claims: dict | None, request_vars: dict) -> dict:
    """The activation; `apiKey` is null when no key was verified (crates/agentgateway/src/cel/types.rs:1983-1988)."""
    return {"apiKey": claims, "request": request_vars}
