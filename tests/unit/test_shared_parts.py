"""What pytest-xdist workers share (Target.share): started once before the workers, handed to
each of them, stopped after them, and a failed start reported once.

The hooks are called as pytest-xdist calls them, with a target that records what it is
asked; the run with the real controller is tests/integration/test_envtest_agentgateway_workers.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from conformance.deployment import DOCS
from conformance.plugin import _SharedParts
from conformance.targets import SHARED
from conformance.targets.agentgateway.envtest import AgentgatewayEnvtestTarget


class Recording:
    """The part of a target that _SharedParts asks for; anything else it asked would fail."""

    name = "recording"
    shares = True

    def __init__(self, fail: Exception | None = None):
        self.calls: list[str] = []
        self.fail = fail

    def share(self) -> dict:
        self.calls.append("share")
        if self.fail is not None:
            raise self.fail
        return {"server": "https://127.0.0.1:6443"}

    def share_with(self, worker: str) -> dict:
        return {"port": {"gw0": 1, "gw1": 2}[worker]}

    def unshare(self) -> None:
        self.calls.append("unshare")


def node(worker: str) -> SimpleNamespace:
    return SimpleNamespace(workerinput={"workerid": worker}, gateway=SimpleNamespace(id=worker))


def test_each_worker_is_told_what_is_shared_and_what_is_its_own():
    target = Recording()
    parts = _SharedParts(target)
    parts.pytest_sessionstart(session=None)
    nodes = [node("gw0"), node("gw1")]
    for n in nodes:
        parts.pytest_configure_node(n)
    assert [n.workerinput[SHARED] for n in nodes] == [{"server": "https://127.0.0.1:6443", "port": 1},
                                                     {"server": "https://127.0.0.1:6443", "port": 2}]
    parts.pytest_unconfigure(config=None)
    assert target.calls == ["share", "unshare"]


def test_a_shared_start_that_fails_ends_the_run_once_with_its_reason():
    parts = _SharedParts(Recording(fail=RuntimeError("port 9093 is in use")))
    with pytest.raises(pytest.exit.Exception) as ended:
        parts.pytest_sessionstart(session=None)
    assert ended.value.returncode == pytest.ExitCode.INTERNAL_ERROR
    assert str(ended.value.msg) == ("the parts of the recording target that every worker shares could not be set up, "
                                    "so no scenario can run: RuntimeError: port 9093 is in use")


def test_a_controller_worker_listens_on_a_port_of_its_own():
    # Proxies of several workers on one machine cannot all bind the page's port 80.
    target = AgentgatewayEnvtestTarget("/nowhere")
    target.deployment = DOCS.for_worker("gw1")
    ports = {target.share_with(w)["listenerPort"] for w in ("gw0", "gw1", "gw2")}
    assert len(ports) == 3 and 80 not in ports
    target.attach({"listenerPort": 31234})
    assert target.deployment.listener_port == 31234 and target.deployment.gateway_name == "agentgateway-proxy-gw1"
    assert target.shared == {"listenerPort": 31234}
