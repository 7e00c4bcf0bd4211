"""Policy status, read from the target (the API server, or the reference's admin address)."""

from __future__ import annotations

import time

from pytest_bdd import parsers, then

from ..world import World



def _conditions(status: dict | None) -> list[tuple[dict, dict]]:
    return [(a.get("ancestorRef", {}), c) for a in (status or {}).get("ancestors", []) for c in a.get("conditions", [])]


@then(
    parsers.re(
        r'the policy "(?P<name>[^"]+)" in namespace "(?P<namespace>[^"]+)" reports (?P<type>\w+)=(?P<value>True|False) '
        r'with reason (?P<reason>\w+)(?: and a message containing "(?P<text>[^"]*)")?(?: for the (?P<kind>\w+) "(?P<ancestor>[^"]+)")?$'
    )
)
def policy_condition(world: World, name: str, namespace: str, type: str, value: str, reason: str,
                     text: str | None, kind: str | None, ancestor: str | None) -> None:
    """Status is eventually consistent too: poll it within the convergence timeout."""
    deadline = time.monotonic() + world.rule.timeout
    while True:
        status = world.target.policy_status(namespace, name)
        found = [
            c for ref, c in _conditions(status)
            if c.get("type") == type and (ancestor is None or (ref.get("name") == ancestor and ref.get("kind") == kind))
        ]
        if any(c.get("status") == value and c.get("reason") == reason and (text is None or text in c.get("message", "")) for c in found):
            world.last_status = status
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"policy {namespace}/{name}: expected {type}={value} reason {reason}"
                + (f" with a message containing {text!r}" if text else "")
                + (f" for {kind} {ancestor}" if ancestor else "")
                + f" within {world.rule.timeout:g} s; its {type} conditions are {found or 'absent'}"
            )
        time.sleep(world.rule.interval)


@then("no status message contains a key from the scenario's Secrets")
def status_never_shows_key(world: World) -> None:
    assert world.last_status is not None, "no status was read yet"
    messages = " ".join(c.get("message", "") for _, c in _conditions(world.last_status))
    for value in world.secret_values():
        assert value not in messages, "a status message contains a key value from a Secret"
