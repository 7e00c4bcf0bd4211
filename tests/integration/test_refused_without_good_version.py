"""`agw-reference serve` with a manifest file refused before any version of it was good.

Such a file has no last good version to keep in force, and what it held may be what
protects a route. Started on a directory that holds one, the gateway is not ready, its
readiness answer names the file and why, and every request is answered 503 until a good
version loads; then it is ready and enforces it. A policy that sets what the gateway does
not implement (an authorization rule) is refused the same way, instead of being served
without it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import pytest
from helpers import RULE, secret, strict_policy

from conformance.convergence import steady
from conformance.targets.base import base_manifest
from conformance.processes import Program, answers, listening, stop_all

KEY = "refused-first-key-41d2"
ADMIN_KEY, USER_KEY = "admin-key-7c1e", "user-key-0b9f"
BEARER = {"authorization": f"Bearer {KEY}"}
REFUSED_BODY = "configuration refused"


class Gateway:
    """The reference gateway started on a directory filled beforehand, with an echo backend."""

    def __init__(self, workdir: Path, files: dict[str, str]):
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        echo_socket, traffic, admin = listening(), listening(), listening()
        echo_port = echo_socket.getsockname()[1]
        self.url, self.admin = f"http://127.0.0.1:{traffic.getsockname()[1]}", f"http://127.0.0.1:{admin.getsockname()[1]}"
        self.manifests = workdir / "manifests"
        self.manifests.mkdir()
        files = {"base.yaml": base_manifest("base.yaml"),
                 "endpointslice.yaml": base_manifest("endpointslice.yaml", address="127.0.0.1", port=str(echo_port)), **files}
        for name, text in files.items():
            (self.manifests / name).write_text(text)
        command = [sys.executable, "-m", "reference"]
        echo = Program("echo", [*command, "echo", "--listen", f"fd:{echo_socket.fileno()}"], workdir, env, sockets=(echo_socket,))
        self.programs = [echo]
        serve = [*command, "serve", "--manifests", str(self.manifests), "--listen", f"fd:{traffic.fileno()}",
                 "--admin", f"fd:{admin.fileno()}", "--poll-interval", "0.02"]
        self.gateway = Program("gateway", serve, workdir, env, sockets=(traffic, admin))
        self.programs.append(self.gateway)
        echo.wait_until(lambda: answers(f"http://127.0.0.1:{echo_port}/status/200"), 30, "ready")
        # Whether the gateway is ready is what the tests check: wait only until it answers.
        self.gateway.wait_until(lambda: self.ready().status_code in (200, 503), 30, "answering on its admin address")

    def ready(self) -> httpx.Response:
        try:
            return httpx.get(self.admin + "/healthz/ready", timeout=5)
        except httpx.HTTPError:
            return httpx.Response(0)

    def get(self, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.get(self.url + "/headers", headers={"host": "www.example.com", **(headers or {})}, timeout=10)

    def write(self, name: str, text: str) -> None:
        tmp = self.manifests / f".{name}.tmp"  # the gateway skips dot files: it never sees half a file
        tmp.write_text(text)
        os.replace(tmp, self.manifests / name)

    def admin_texts(self) -> str:
        return "\n".join(httpx.get(self.admin + path, timeout=10).text for path in ("/healthz/ready", "/config_dump", "/status/policies"))

    def log(self) -> str:
        return self.gateway.log.read_text(errors="replace")


@pytest.fixture
def started(tmp_path):
    gateways: list[Gateway] = []

    def start(files: dict[str, str]) -> Gateway:
        gateways.append(Gateway(tmp_path, files))
        return gateways[-1]

    yield start
    for gateway in gateways:
        stop_all(gateway.programs)


def holds(attempt, expected: int, what: str, contains: str = "") -> httpx.Response:
    """`attempt` answers `expected` (with `contains` in its body) as many times in a row as the convergence rule asks."""
    def check(response: httpx.Response) -> str | None:
        if response.status_code != expected or contains not in response.text:
            return f"status {response.status_code}: {response.text[:300]!r}"
        return None

    result = steady(attempt, check, RULE)
    assert isinstance(result, list), f"expected {what}; last answer: {result.last_problem}"
    return result[-1]


def refused_until_good(gateway: Gateway, name: str, why: str, good: str) -> None:
    not_ready = holds(gateway.ready, 503, f"not ready, naming {name}", contains=name)
    assert why in not_ready.text, not_ready.text
    holds(gateway.get, 503, "503 without a key while the file is refused", contains=REFUSED_BODY)
    holds(lambda: gateway.get(BEARER), 503, "503 with the key while the file is refused", contains=REFUSED_BODY)

    gateway.write(name, good)
    holds(gateway.ready, 200, "ready once a good version loads")
    holds(gateway.get, 401, "401 without a key once the good version is in force")
    holds(lambda: gateway.get(BEARER), 200, "200 with the key once the good version is in force")


def test_started_on_a_policy_file_with_broken_yaml(started):
    # The key is in the broken file itself: no error text may show it.
    good = secret({"api-key": KEY}) + "---" + strict_policy()
    broken = good.replace("namespace: agentgateway-system}\nspec:", "namespace: agentgateway-system\nspec:", 1)
    assert broken != good
    gateway = started({"auth.yaml": broken})
    refused_until_good(gateway, "auth.yaml", "invalid YAML", good)
    assert KEY not in gateway.admin_texts() + gateway.log()


def test_started_on_a_policy_with_a_misspelt_field(started):
    good = strict_policy()
    misspelt = good.replace("apiKeyAuthentication:", "apiKeyAuthentification:")
    gateway = started({"secret.yaml": secret({"api-key": KEY}), "policy.yaml": misspelt})
    refused_until_good(gateway, "policy.yaml", "spec.traffic.apiKeyAuthentification: unknown field", good)
    assert KEY not in gateway.admin_texts() + gateway.log()


def test_a_policy_with_a_rate_limit_is_refused_not_served_without_it(started):
    entries = {"admin": json.dumps({"key": ADMIN_KEY, "metadata": {"group": "admin"}}),
               "user": json.dumps({"key": USER_KEY, "metadata": {"group": "users"}})}
    gateway = started({"secret.yaml": secret(entries)})
    user = {"authorization": f"Bearer {USER_KEY}"}
    holds(gateway.ready, 200, "ready")
    holds(lambda: gateway.get(user), 200, "200 before any policy")

    # One LLM token an hour (a limit the reference does not implement): served without it, its 429s would be 200s.
    policy = strict_policy().rstrip("\n") + """
    rateLimit:
      local: [{tokens: 1, unit: Hours}]
"""
    gateway.write("policy.yaml", policy)
    holds(lambda: gateway.get(user), 503, "no 200 that the rate limit would refuse", contains=REFUSED_BODY)
    not_ready = holds(gateway.ready, 503, "not ready, naming the policy file", contains="policy.yaml")
    assert "spec.traffic.rateLimit.local[0].tokens: not supported by the reference gateway" in not_ready.text, not_ready.text
    [source] = [s for s in httpx.get(gateway.admin + "/config_dump", timeout=10).json()["sources"] if s["file"] == "policy.yaml"]
    assert (source["reason"], source["field"], source["stopsTraffic"]) == ("Unsupported", "spec.traffic.rateLimit.local[0].tokens", True), source

    (gateway.manifests / "policy.yaml").unlink()
    holds(gateway.ready, 200, "ready again once the refused file is removed")
    assert ADMIN_KEY not in gateway.admin_texts() + gateway.log() and USER_KEY not in gateway.admin_texts() + gateway.log()
