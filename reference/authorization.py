"""`traffic.authorization`: CEL rules over the request and the verified key, after authentication.

As the product evaluates them (crates/agentgateway/src/http/authorization.rs:255-277): a
matching Deny refuses; every Require must match; then a matching Allow allows; with no
Allow matching, the request is refused if there are Allow rules and allowed if there are
none. An expression that errors matches nothing (`eval_bool`, crates/agentgateway/src/cel/types.rs:746-758),
so an Allow or Require on a field a key does not have refuses, and a Deny on it does not.
The rules of every policy in force apply together (crates/agentgateway/src/store/binds.rs:1002-1077).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from agwmodel.traffic import Authorization

from .cel import CelError, Program

# The product's refusal: ProxyError::AuthorizationFailed, a 403 with its message as a plain-text
# body (crates/agentgateway/src/proxy/mod.rs:180-181, :283, :404-406).
STATUS = 403
BODY = b"authorization failed"


@dataclass(frozen=True)
class RuleSet:
    action: str
    programs: tuple[Program, ...]

    @classmethod
    def of(cls, spec: Authorization) -> RuleSet:
        return cls(spec.action, tuple(Program(e) for e in spec.expressions))


def _matches(program: Program, variables: Mapping[str, Any]) -> bool:
    try:
        return program.evaluate(variables) is True
    except CelError:
        return False


def allowed(rule_sets: Iterable[RuleSet], variables: Mapping[str, Any]) -> bool:
    rule_sets = [r for r in rule_sets if r.programs]
    if not rule_sets:
        return True
    of = {action: [p for r in rule_sets if r.action == action for p in r.programs] for action in ("Allow", "Deny", "Require")}
    if any(_matches(p, variables) for p in of["Deny"]):
        return False
    if not all(_matches(p, variables) for p in of["Require"]):
        return False
    if any(_matches(p, variables) for p in of["Allow"]):
        return True
    return not of["Allow"]
