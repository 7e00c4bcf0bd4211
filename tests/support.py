"""Small helpers shared by the tests that send traffic through a started target."""

import contextlib
import json

from conformance import Request, Rule

RULE = Rule(threshold=3, timeout=30, interval=0.1)
NO_KEY = Request(path="/headers")


def with_key(key: str, request: Request = NO_KEY) -> Request:
    return request.with_header("Authorization", f"Bearer {key}")


def status(code: int):
    """A convergence check: the response has this status."""
    return lambda r: None if r.status == code else f"status {code}, got {r.error or r.status}"


def secret(keys: dict[str, str], name: str = "apikey") -> str:
    data = "\n".join(f"  {entry}: {json.dumps(value)}" for entry, value in keys.items())
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: {name}, namespace: agentgateway-system}}
stringData:{" {}" if not keys else ""}
{data}
"""


def strict_policy(secret_name: str = "apikey") -> str:
    return f"""
apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {{name: apikey-auth, namespace: agentgateway-system}}
spec:
  targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}}]
  traffic:
    apiKeyAuthentication: {{mode: Strict, secretRef: {{name: {secret_name}}}}}
"""


@contextlib.contextmanager
def kubernetes_target():
    """The kubernetes target on an API server of its own (envtest), with no gateway behind it."""
    from conformance.controlplane import ControlPlane
    from conformance.targets.kubernetes import KubernetesTarget

    with ControlPlane() as plane:
        target = KubernetesTarget(str(plane.kubeconfig), "http://127.0.0.1:1", frozenset(), timeout=10)
        target.start()
        try:
            yield target
        finally:
            target.stop()
