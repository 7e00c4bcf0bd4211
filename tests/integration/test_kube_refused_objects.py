"""The reference gateway watching a real API server (envtest) meets objects it cannot use.

The API server accepts them (they fit the CRDs), the gateway does not: each is reported on
the admin address with its kind, name and field, the last good version of it stays in
force, and the watch goes on, so later changes still arrive.
"""

import sys
import time

import httpx
import pytest
from helpers import NO_KEY, RULE, status, with_key

from conformance import converge
from conformance.targets.envtest import EnvtestTarget

pytestmark = pytest.mark.needs_envtest

KEY = "kube-refused-key-3c4d"
SECRET = f"""
apiVersion: v1
kind: Secret
metadata: {{name: apikey, namespace: agentgateway-system}}
stringData: {{api-key: {KEY}}}
"""
POLICY = """
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: apikey-auth, namespace: agentgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}]
  traffic:
    apiKeyAuthentication: {mode: %s, secretRef: {name: apikey}%s}
"""
# Fits the CRDs, but selects namespaces with matchExpressions, which the gateway does not
# implement (read as matchLabels alone, it would admit routes the product keeps out).
GATEWAY = """
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: elsewhere, namespace: agentgateway-system}
spec:
  gatewayClassName: agentgateway
  listeners:
    - name: http
      port: 8080
      protocol: HTTP
      allowedRoutes:
        namespaces:
          from: Selector
          selector: {matchExpressions: [{key: team, operator: In, values: [a]}]}
"""
WITH_KEY = with_key(KEY)


@pytest.fixture(scope="module")
def cluster():
    with EnvtestTarget([sys.executable, "-m", "reference"], frozenset(), timeout=30).running() as target:
        yield target


def rejected(cluster: EnvtestTarget) -> dict[str, str]:
    gateway = cluster.programs[-1]
    admin = gateway.argv[gateway.argv.index("--admin") + 1]
    return {r["object"]: r["error"] for r in httpx.get(f"http://{admin}/config_dump", timeout=10).json()["sources"]}


def wait_for_rejection(cluster: EnvtestTarget, subject: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = rejected(cluster)
        if subject in found:
            return found[subject]
        time.sleep(0.1)
    raise AssertionError(f"{subject} was not reported as rejected: {found}")


def test_objects_the_api_accepts_and_the_gateway_cannot_use_are_reported_and_the_watch_goes_on(cluster):
    cluster.apply(SECRET)
    cluster.apply(POLICY % ("Strict", ""))
    converge(cluster.send, NO_KEY, status(401), RULE, "401 without a key")
    converge(cluster.send, WITH_KEY, status(200), RULE, "200 with the key")

    cluster.apply(POLICY % ("Optional", ", location: {expression: 'request.headers[\"x-key\"]'}"))
    cluster.apply(GATEWAY)
    error = wait_for_rejection(cluster, "AgentgatewayPolicy agentgateway-system/apikey-auth")
    assert "spec.traffic.apiKeyAuthentication.location.expression" in error, error
    error = wait_for_rejection(cluster, "Gateway agentgateway-system/elsewhere")
    assert "spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions" in error, error
    assert cluster.programs[-1].running
    # The last good policy (Strict) stays in force: the bad update did not make it Optional.
    converge(cluster.send, NO_KEY, status(401), RULE, "the last good policy still refusing a request without a key")
    converge(cluster.send, WITH_KEY, status(200), RULE, "the last good policy still accepting its key")

    # The watch goes on: a good version of the same object is picked up, and the report clears.
    cluster.apply(POLICY % ("Optional", ""))
    converge(cluster.send, NO_KEY, status(200), RULE, "the good Optional version to let a request without a key through")
    assert "AgentgatewayPolicy agentgateway-system/apikey-auth" not in rejected(cluster)
