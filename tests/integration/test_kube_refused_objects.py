"""The reference gateway watching a real API server (envtest) meets objects it cannot use.

The API server accepts them (they fit the CRDs), the gateway does not: each is reported on
the admin address with its kind, name and field, and the watch goes on, so later changes
still arrive. A refused update leaves the last good version in force; an object refused at
its first sight has none, and unless it can only hold keys or backends nothing is served
until it is fixed or gone. A refused policy's status says it is not accepted, and why.
"""

import sys
import time

import httpx
import pytest
from helpers import NO_KEY, RULE, status, with_key

from conformance import converge
from conformance.targets.envtest import EnvtestTarget
from reference.config import CONTROLLER

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
# One LLM token an hour. Fits the CRD; not implemented here (token limits are refused by name).
RATE_LIMIT = """
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: limit, namespace: agentgateway-system}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}]
  traffic:
    rateLimit:
      local: [{tokens: 1, unit: Hours}]
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


def admin_get(cluster: EnvtestTarget, path: str) -> httpx.Response:
    gateway = cluster.programs[-1]
    return httpx.get(f"http://{gateway.argv[gateway.argv.index('--admin') + 1]}{path}", timeout=10)


def our_conditions(cluster: EnvtestTarget, namespace: str, name: str) -> dict[str, dict]:
    """The conditions the gateway wrote in the policy's status, by type, once it wrote a not-accepted status."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ancestors = (cluster.policy_status(namespace, name) or {}).get("ancestors", [])
        for ancestor in ancestors:
            if ancestor.get("controllerName") == CONTROLLER:
                conditions = {c["type"]: c for c in ancestor["conditions"]}
                if conditions.get("Accepted", {}).get("status") == "False":
                    return conditions
        time.sleep(0.1)
    raise AssertionError(f"no status saying policy {namespace}/{name} is not accepted: {ancestors}")


def test_a_refused_update_keeps_the_last_good_version_and_the_watch_goes_on(cluster):
    cluster.apply(SECRET)
    cluster.apply(POLICY % ("Strict", ""))
    converge(cluster.send, NO_KEY, status(401), RULE, "401 without a key")
    converge(cluster.send, WITH_KEY, status(200), RULE, "200 with the key")

    cluster.apply(POLICY % ("Optional", ", location: {expression: 'request.headers[\"x-key\"]'}"))
    error = wait_for_rejection(cluster, "AgentgatewayPolicy agentgateway-system/apikey-auth")
    assert "spec.traffic.apiKeyAuthentication.location.expression" in error, error
    assert cluster.programs[-1].running
    # The last good policy (Strict) stays in force: the bad update did not make it Optional.
    converge(cluster.send, NO_KEY, status(401), RULE, "the last good policy still refusing a request without a key")
    converge(cluster.send, WITH_KEY, status(200), RULE, "the last good policy still accepting its key")
    # Its status says that its latest version is not accepted, and why.
    accepted = our_conditions(cluster, "agentgateway-system", "apikey-auth")["Accepted"]
    assert accepted["reason"] == "Invalid", accepted
    assert accepted["message"] == ("spec.traffic.apiKeyAuthentication.location.expression: CEL expressions are not supported by the "
                                   "reference gateway; the last good version stays in force"), accepted
    assert admin_get(cluster, "/healthz/ready").status_code == 200

    # The watch goes on: a good version of the same object is picked up, and the report clears.
    cluster.apply(POLICY % ("Optional", ""))
    converge(cluster.send, NO_KEY, status(200), RULE, "the good Optional version to let a request without a key through")
    assert "AgentgatewayPolicy agentgateway-system/apikey-auth" not in rejected(cluster)


def test_objects_refused_at_their_first_sight_stop_traffic_until_they_are_gone(cluster):
    cluster.apply(SECRET)
    cluster.apply(POLICY % ("Strict", ""))
    converge(cluster.send, NO_KEY, status(401), RULE, "401 without a key")

    # A Gateway the API server accepts and the gateway cannot read: its listeners could take
    # requests from the Gateway in force, so nothing is served while it is refused.
    [gateway] = cluster.apply(GATEWAY)
    error = wait_for_rejection(cluster, "Gateway agentgateway-system/elsewhere")
    assert "spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions" in error, error
    converge(cluster.send, NO_KEY, status(503), RULE, "503 while a Gateway is refused at its first sight")
    ready = admin_get(cluster, "/healthz/ready")
    assert ready.status_code == 503 and "Gateway agentgateway-system/elsewhere" in ready.text, ready.text
    cluster.delete(gateway)
    converge(cluster.send, NO_KEY, status(401), RULE, "401 again once the refused Gateway is gone")

    # A policy with a rate limit: served without it, the limit's 429s would be 200s.
    [limit] = cluster.apply(RATE_LIMIT)
    wait_for_rejection(cluster, "AgentgatewayPolicy agentgateway-system/limit")
    converge(cluster.send, WITH_KEY, status(503), RULE, "503, not 200, while a rate limit is refused")
    conditions = our_conditions(cluster, "agentgateway-system", "limit")
    assert conditions["Accepted"]["reason"] == "Invalid", conditions
    assert conditions["Accepted"]["message"] == "spec.traffic.rateLimit.local[0].tokens: not supported by the reference gateway", conditions
    assert conditions["Attached"]["status"] == "False", conditions
    assert KEY not in admin_get(cluster, "/healthz/ready").text + admin_get(cluster, "/config_dump").text
    cluster.delete(limit)
    converge(cluster.send, WITH_KEY, status(200), RULE, "200 again once the refused policy is gone")
