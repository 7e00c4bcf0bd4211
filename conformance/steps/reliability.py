"""Steps of the opt-in APIKEY-RELIABILITY profile: hostile clients and load with key churn
against whatever gateway the run targets, with the figures printed for the vendor.

The cases and the judging live in `conformance.reliability`; the
suite's own tests run the same code against the reference gateway.
"""

from __future__ import annotations

import pytest
import yaml
from pytest_bdd import then, when

from ..reliability import hostile, load
from ..http import Request
from ..world import World


def _say(config: pytest.Config, line: str) -> None:
    """Print the figures now, past output capture: they are what the vendor ran this for."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    if capture is None:
        reporter.write_line(line)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


@when("hostile clients send every malformed request of the suite on raw sockets", target_fixture="hostile_figures")
def hostile_clients(world: World, pytestconfig: pytest.Config) -> dict:
    assert world.api_key is not None, "no API key was generated in this scenario"
    limit = pytestconfig.getoption("hostile_slow_limit")
    outcomes = hostile.run(world.target.gateway_url, world.api_key, host=world.target.deployment.backend_host, slow_limit=limit)
    figures = hostile.summary(outcomes, limit)
    _say(pytestconfig, f"\nhostile HTTP against {world.target.gateway_url}: {figures['inputs tried']} inputs, "
                       f"{figures['responses']} responses, {figures['5xx']} 5xx, {figures['wrongly accepted']} wrongly accepted")
    return figures


@then("no hostile request was answered with a 5xx or forwarded, and every slow client was cut off")
def hostile_verdict(world: World, hostile_figures: dict) -> None:
    if hostile_figures["problems"]:
        raise world.fail("\n".join(hostile_figures["problems"]))


@when("clients send requests for the load duration while keys are added, rotated and revoked", target_fixture="load_figures")
def load_with_churn(world: World, pytestconfig: pytest.Config) -> load.Figures:
    # The keys replace those of the scenario's Secret "apikey", behind its Strict policy.
    [secret] = [d for d in world.stores if d.get("kind") == "Secret" and (d.get("metadata") or {}).get("name") == "apikey"][:1]
    meta = secret["metadata"]

    def apply_keys(keys: list[str]) -> None:
        doc = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
               "stringData": {f"churn-{i}": key for i, key in enumerate(keys)}}
        world.apply(yaml.safe_dump(doc))

    seconds = pytestconfig.getoption("load_seconds")
    figures, failure = load.run(world.target.gateway_url, apply_keys, seconds=seconds, clients=pytestconfig.getoption("load_clients"),
                                host=world.target.deployment.backend_host, path=Request().path)
    _say(pytestconfig, f"\nload with key churn against {world.target.gateway_url}, {seconds:g} s: {figures.line()}")
    if failure:
        raise world.fail(f"{failure}; so far: {figures.line()}")
    return figures


@then("no request was answered with a 5xx, wrongly accepted or wrongly refused")
def load_verdict(world: World, load_figures: load.Figures) -> None:
    if not load_figures.ok:
        raise world.fail(f"{load_figures.line()}\nfirst problems: {'; '.join(load_figures.examples)}")
    if not (load_figures.by_kind["revoked"] and load_figures.by_kind["live"]):
        raise world.fail(f"too short to judge rotation and revocation: {load_figures.line()}")
