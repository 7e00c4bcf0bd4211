"""What each target says its gateway loaded from a Secret, or why it cannot say.

The targets that start programs are not started here: the reference target's answer comes
from its running gateway (tests/integration/test_reference_target.py), and the others either read the
API server or say that they cannot show it.
"""

import base64
import hashlib

import pytest

from conformance.targets.agentgateway.local import AgentgatewayLocalTarget
from conformance.targets.base import AddressTarget, NotShown, ObjectRef
from conformance.targets.kubernetes import KubernetesTarget

SECRET = ObjectRef("Secret", "agentgateway-system", "apikey")


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def test_a_target_that_says_nothing_about_it_cannot_show_it():
    with pytest.raises(NotShown, match="cannot show which keys its gateway loaded"):
        AddressTarget("http://gateway.invalid").loaded_key_digests(SECRET)


def test_agentgateway_local_cannot_show_it_and_says_why(tmp_path):
    # Not started: the answer does not depend on the proxy, whose admin address redacts keys.
    target = AgentgatewayLocalTarget(str(tmp_path / "agentgateway"))
    target.objects[SECRET] = {"kind": "Secret", "metadata": {"name": "apikey", "namespace": "agentgateway-system"},
                              "stringData": {"api-key": "what-the-harness-wrote"}}
    with pytest.raises(NotShown) as caught:
        target.loaded_key_digests(SECRET)
    assert "config_dump redacts API keys" in str(caught.value)
    assert "what-the-harness-wrote" not in str(caught.value)


def test_a_cluster_digests_the_secret_the_api_server_holds(monkeypatch):
    target = KubernetesTarget("kubeconfig", "http://gateway.invalid", frozenset())
    held = {SECRET: {"kind": "Secret", "data": {"api-key": b64(b"the-key-1234"), "trailing-newline": b64(b"the-key-1234\n")}}}
    monkeypatch.setattr(target, "get", held.get)
    assert target.loaded_key_digests(SECRET) == {
        "api-key": hashlib.sha256(b"the-key-1234").hexdigest(),
        "trailing-newline": hashlib.sha256(b"the-key-1234\n").hexdigest(),  # bytes as stored, not trimmed
    }
    assert target.loaded_key_digests(ObjectRef("Secret", "agentgateway-system", "absent")) is None
    with pytest.raises(NotShown):
        target.loaded_key_digests(ObjectRef("ConfigMap", "agentgateway-system", "hashed"))
