"""API keys for the benchmarks, written as Secrets that an API server would accept.

Half of the keys are stored raw, half as `keyHash` JSON entries. Secrets are split so that
each stays under Kubernetes' size limit for one Secret's data (1 MiB), counted on the
serialized manifest with base64 `data`, which is larger than the data itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets as _random

SECRET_LIMIT = 1024 * 1024
LABEL = "bench-keys"


def make_keys(count: int, seed: str = "") -> list[str]:
    """`count` distinct keys; a `seed` gives another distinct set of the same size."""
    return [f"bench{seed}-{i:07d}-{_random.token_hex(8)}" for i in range(count)]


def entry(key: str, hashed: bool) -> bytes:
    if hashed:
        return json.dumps({"keyHash": "sha256:" + hashlib.sha256(key.encode()).hexdigest()}).encode()
    return key.encode()


def _secret(name: str, lines: list[str]) -> str:
    head = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n"
        f"  name: {name}\n  namespace: agentgateway-system\n  labels:\n    app: {LABEL}\n"
        "type: extauth.solo.io/apikey\ndata:\n"
    )
    return head + "".join(lines)


def secrets(keys: list[str], prefix: str = "bench-keys") -> dict[str, str]:
    """Manifests by Secret name: the first half of `keys` raw, the second half as keyHash."""
    out: dict[str, str] = {}
    lines: list[str] = []
    size = 0
    budget = SECRET_LIMIT - 4096  # room for the head
    half = len(keys) // 2
    for i, key in enumerate(keys):
        line = f"  k{i:07d}: {base64.b64encode(entry(key, hashed=i >= half)).decode()}\n"
        if size + len(line) > budget:
            out[f"{prefix}-{len(out):03d}"] = _secret(f"{prefix}-{len(out):03d}", lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines or not out:
        out[f"{prefix}-{len(out):03d}"] = _secret(f"{prefix}-{len(out):03d}", lines)
    return out


POLICY = f"""apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata:
  name: bench-auth
  namespace: agentgateway-system
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: Gateway
      name: agentgateway-proxy
  traffic:
    apiKeyAuthentication:
      mode: Strict
      secretSelector:
        matchLabels:
          app: {LABEL}
"""
