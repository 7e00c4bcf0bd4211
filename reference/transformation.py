"""`traffic.transformation.request`: headers set or added from CEL, after authentication and
authorization (crates/agentgateway/src/proxy/httpproxy.rs:189-234).

A value that does not evaluate to a string (an error, a number, no key verified) removes the
header instead, so that a failed expression never lets a client's own header through
(crates/agentgateway/src/http/mod.rs:177-179, :328-334). `add` runs before `set`
(crates/agentgateway/src/http/transformation_cel.rs:348-355).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agwmodel.traffic import RequestTransformation

from .cel import CelError, Program


@dataclass(frozen=True)
class Transformation:
    add: tuple[tuple[bytes, Program], ...]
    set: tuple[tuple[bytes, Program], ...]

    @classmethod
    def of(cls, spec: RequestTransformation) -> Transformation:
        def programs(headers):
            return tuple((h.name.encode("latin-1"), Program(h.expression)) for h in headers)
        return cls(programs(spec.add), programs(spec.set))


def _value(program: Program, variables: Mapping[str, Any]) -> bytes | None:
    try:
        value = program.evaluate(variables)
    except CelError:
        return None
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("utf-8")
    else:
        return None
    # A value no header can carry is no value (HeaderValue::from_bytes fails on it).
    return raw if all(b == 9 or 32 <= b != 127 for b in raw) else None


def apply(transformation: Transformation, headers: list[tuple[bytes, bytes]], variables: Mapping[str, Any]) -> list[tuple[bytes, bytes]]:
    """The request headers after the transformation. Every value is computed from the request as
    authentication left it; in the product a later header's expression sees the headers the
    earlier ones changed (transformation_cel.rs:284-300, an executor per header), which no
    scenario depends on."""
    out = list(headers)
    for name, program in transformation.add:
        value = _value(program, variables)
        out = [h for h in out if h[0] != name] if value is None else [*out, (name, value)]
    for name, program in transformation.set:
        value = _value(program, variables)
        out = [h for h in out if h[0] != name] + ([] if value is None else [(name, value)])
    return out
