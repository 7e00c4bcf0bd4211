"""The reference target reads what the gateway's store holds, not the harness's own record,
and what the gateway loaded from it, not the file the harness wrote."""

import base64
import hashlib

import pytest
from helpers import RULE, secret

from conformance.steps import manifests
from conformance.targets.base import ObjectRef
from conformance.targets.reference import ReferenceTarget, _filename
from conformance.world import World

LOADED, WRITTEN = "key-the-gateway-loaded-5a6b", "key-only-in-the-file-7c8d"


def test_get_reads_the_file_the_gateway_loads(tmp_path):
    target = ReferenceTarget(frozenset())
    target.manifests = tmp_path
    ref = ObjectRef("Secret", "agentgateway-system", "apikey")
    target.objects[ref] = {"kind": "Secret", "metadata": {"name": "apikey"}, "stringData": {"api-key": "what-the-harness-meant"}}
    (tmp_path / _filename(ref)).write_text("kind: Secret\nmetadata: {name: apikey, namespace: agentgateway-system}\nstringData: {api-key: on-disk}\n")
    assert target.get(ref)["data"] == {"api-key": "b24tZGlzaw=="}
    (tmp_path / _filename(ref)).unlink()
    assert target.get(ref) is None


@pytest.fixture(scope="module")
def gateway():
    with ReferenceTarget(frozenset()).running() as target:
        yield target


@pytest.fixture
def file_the_gateway_refused(gateway):
    """The Secret `loaded-check`: loaded with one key, then its file rewritten with another
    key and an entry that is not base64, a version the gateway refuses (it keeps the last
    good one)."""
    ref = ObjectRef("Secret", "agentgateway-system", "loaded-check")
    gateway.apply(secret({"api-key": LOADED}, name="loaded-check"))
    path = gateway.manifests / _filename(ref)
    gateway._write(path, (secret({"api-key": WRITTEN}, name="loaded-check") + "data: {bad: 'not base64!'}\n").encode())
    assert gateway._loaded(path) is not None, "the gateway took the rewritten file"
    yield ref
    gateway.delete(ref)


def test_the_keys_shown_are_the_ones_the_gateway_loaded_not_the_file(gateway, file_the_gateway_refused):
    ref = file_the_gateway_refused
    assert gateway.get(ref)["data"]["api-key"] == base64.b64encode(WRITTEN.encode()).decode()  # the file
    assert gateway.loaded_key_digests(ref) == {"api-key": hashlib.sha256(LOADED.encode()).hexdigest()}  # the gateway
    assert gateway.loaded_key_digests(ObjectRef("Secret", "agentgateway-system", "never-applied")) is None


def test_the_page_secret_step_holds_the_gateway_to_the_key_it_loaded(gateway, file_the_gateway_refused):
    world = World(gateway, RULE)
    world.api_key = LOADED
    manifests.secret_holds_key(world, "loaded-check", "agentgateway-system", "api-key")
    world.api_key = WRITTEN
    with pytest.raises(AssertionError, match="is not the generated API key"):
        manifests.secret_holds_key(world, "loaded-check", "agentgateway-system", "api-key")
    assert world.trace.unchecked == []
