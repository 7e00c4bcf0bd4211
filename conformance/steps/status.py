"""Policy status, read from the target (the API server, or the reference's admin address)."""

from __future__ import annotations

from pytest_bdd import parsers, then

from ..world import World


def _conditions(status: dict | None) -> list[tuple[dict, dict]]:
    return [(a.get("ancestorRef", {}), c) for a in (status or {}).get("ancestors", []) for c in a.get("conditions", [])]


def _messages(status: dict | None) -> list[str]:
    return [str(c.get("message", "")) for _, c in _conditions(status)]


@then(
    parsers.re(
        r'the policy "(?P<name>[^"]+)" in namespace "(?P<namespace>[^"]+)" reports (?P<type>\w+)=(?P<value>True|False) '
        r'with reason (?P<reason>\w+)(?: and a message containing "(?P<text>[^"]*)")?(?: for the (?P<kind>\w+) "(?P<ancestor>[^"]+)")?$'
    )
)
def policy_condition(world: World, name: str, namespace: str, type: str, value: str, reason: str,
                     text: str | None, kind: str | None, ancestor: str | None) -> None:
    """Status is eventually consistent too: it must match on consecutive reads, by the same
    rule as every HTTP expectation, so neither a stale nor a passing status satisfies it."""
    deployment = world.target.deployment
    if kind == "Gateway" and ancestor is not None:
        ancestor = deployment.gateway(ancestor)
    if text is not None:
        text = deployment.object_names(text)
    wanted = f"{type}={value} reason {reason}" + (f" with a message containing {text!r}" if text else "") + (
        f" for {kind} {ancestor}" if ancestor else "")

    def check(status: dict | None) -> str | None:
        found = [
            c for ref, c in _conditions(status)
            if c.get("type") == type and (ancestor is None or (ref.get("name") == ancestor and ref.get("kind") == kind))
        ]
        if any(c.get("status") == value and c.get("reason") == reason and (text is None or text in c.get("message", "")) for c in found):
            return None
        return f"its {type} conditions are {found or 'absent'}"

    world.last_status = world.hold(lambda: world.target.policy_status(deployment.namespace(namespace), name), check,
                                   f"policy {namespace}/{name} to report {wanted}")


@then("no status message contains a key from the scenario's Secrets")
def status_never_shows_key(world: World) -> None:
    """Every key the scenario configured, in every form it was given, is absent from the
    status messages: raw values, the `key` inside a JSON entry, and the plain key behind a
    `keyHash` whenever the scenario knows it."""
    assert world.last_status is not None, "no status was read yet"
    keys = world.configured_keys()
    assert keys, "the scenario configured no keys, so there is nothing to look for"
    plain = [key.reveal() for key in keys]
    leaked = sum(1 for message in _messages(world.last_status) for key in plain if key.strip() and key in message)
    # The message itself is not shown: it holds a key.
    assert not leaked, f"a status message of the policy contains a key the scenario configured ({leaked} occurrence(s))"
