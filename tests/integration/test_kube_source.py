"""The reference gateway watching a real API server (envtest): it keeps enforcing what it
knew while the API server is gone, and picks up changes once it is back."""

import sys
import time

import pytest
from helpers import NO_KEY, RULE, secret, status, strict_policy, with_key

from conformance import converge
from conformance.targets.envtest import EnvtestTarget

pytestmark = pytest.mark.needs_envtest

@pytest.fixture(scope="module")
def cluster():
    with EnvtestTarget([sys.executable, "-m", "reference"], frozenset(), timeout=30).running() as target:
        yield target


def test_keys_survive_the_api_server_going_away(cluster):
    cluster.apply(secret({"api-key": "first-key-1a1a"}))
    cluster.apply(strict_policy())
    converge(cluster.send, NO_KEY, status(401), RULE, "401 without a key")
    converge(cluster.send, with_key("first-key-1a1a"), status(200), RULE, "200 with the key")

    cluster.control_plane.kill_apiserver()
    # Every request while the API server is gone must get exactly its answer: no
    # convergence here, since a single unauthenticated 200 would be a hole.
    deadline = time.monotonic() + 6
    sent = 0
    while time.monotonic() < deadline:
        for request, expected in ((NO_KEY, 401), (with_key("first-key-1a1a"), 200), (with_key("wrong-key"), 401)):
            response = cluster.send(request)
            assert response.status == expected, f"with the API server down: {request.describe()} got {response.describe()}"
            sent += 1
        time.sleep(0.05)
    assert sent > 30

    cluster.control_plane.restart_apiserver()
    # Back again: a change made now must reach the gateway (it relists after reconnecting).
    cluster.apply(secret({"api-key": "second-key-2b2b"}))
    converge(cluster.send, with_key("second-key-2b2b"), status(200), RULE, "the new key to work after the API server returned")
    converge(cluster.send, with_key("first-key-1a1a"), status(401), RULE, "the old key to be refused")
    converge(cluster.send, NO_KEY, status(401), RULE, "401 without a key")
