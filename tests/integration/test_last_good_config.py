"""`agw-reference serve` itself, as a program: malformed manifests in its directory are
reported, the process keeps running, and traffic keeps the last good behaviour; a file
with no good version yet stops traffic until it has one or is gone."""

from __future__ import annotations

import os
import time

import httpx
import pytest
from helpers import NO_KEY, RULE, secret, status, strict_policy, with_key

from conformance import converge
from conformance.targets.reference import ReferenceTarget

KEY = "last-good-key-5e6f"
POLICY = secret({"api-key": KEY}) + "---" + strict_policy()
ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: odd, namespace: httpbin}
spec:
  parentRefs: [{name: agentgateway-proxy, namespace: agentgateway-system}]
  %s
"""
# The shapes that used to stop the process, each in a file of its own.
BAD = {
    "hostnames.yaml": (ROUTE % "hostnames: [5]", "HTTPRoute httpbin/odd: spec.hostnames[0]: must be a string"),
    "rules.yaml": (ROUTE % 'rules: ["x"]', "HTTPRoute httpbin/odd: spec.rules[0]: must be a mapping"),
    "ports.yaml": (
        "apiVersion: v1\nkind: Service\nmetadata: {name: odd, namespace: httpbin}\nspec: {ports: [80]}\n",
        "Service httpbin/odd: spec.ports[0]: must be a mapping",
    ),
    "targets.yaml": (
        "apiVersion: agentgateway.dev/v1alpha1\nkind: AgentgatewayPolicy\nmetadata: {name: odd, namespace: agentgateway-system}\n"
        'spec: {targetRefs: ["gw"], traffic: {apiKeyAuthentication: {secretRef: {name: apikey}}}}\n',
        "AgentgatewayPolicy agentgateway-system/odd: spec.targetRefs[0]: must be a mapping",
    ),
    "date.yaml": ("when: 2001-13-45\n", "date.yaml: invalid YAML"),
    "binary.yaml": (b"\xff\xfe\x00garbage", "binary.yaml: not UTF-8 text"),
}
WITH_KEY = with_key(KEY)


@pytest.fixture(scope="module")
def gateway():
    with ReferenceTarget(frozenset()).running() as target:
        target.apply(POLICY)
        yield target


def sources(target: ReferenceTarget) -> dict[str, dict]:
    return {s["file"]: s for s in httpx.get(target._admin + "/config_dump", timeout=10).json()["sources"]}


def wait_for_errors(target: ReferenceTarget, names) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert target.programs[-1].running, f"the gateway exited:\n{target.programs[-1].tail()}"
        found = sources(target)
        if all(found.get(n, {}).get("error") for n in names):
            return {n: found[n]["error"] for n in names}
        time.sleep(0.05)
    raise AssertionError(f"the admin address did not report errors for {sorted(names)}: {found}")


def wait_until_loaded(target: ReferenceTarget, name: str) -> None:
    """Until the gateway has loaded the file as it is on disk, without an error."""
    st = (target.manifests / name).stat()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = sources(target).get(name, {})
        if found.get("revision") == f"{st.st_ino}-{st.st_mtime_ns}" and found.get("error") is None:
            return
        time.sleep(0.05)
    raise AssertionError(f"the gateway did not load {name} without an error: {sources(target).get(name)}")


def write(target: ReferenceTarget, name: str, content: str | bytes) -> None:
    tmp = target.manifests / f".{name}.tmp"
    tmp.write_bytes(content.encode() if isinstance(content, str) else content)
    os.replace(tmp, target.manifests / name)


def test_malformed_new_files_are_reported_and_the_gateway_keeps_running(gateway):
    converge(gateway.send, NO_KEY, status(401), RULE, "401 without a key")
    for name, (content, _) in BAD.items():
        write(gateway, name, content)
    errors = wait_for_errors(gateway, BAD)
    for name, (_, expected) in BAD.items():
        assert errors[name].startswith(f"{name}"), errors[name]
        assert expected in errors[name], errors[name]
    time.sleep(1.5)  # the old failure: an uncaught error ended the process about a second later
    assert gateway.programs[-1].running, f"the gateway exited:\n{gateway.programs[-1].tail()}"
    # None of them ever had a good version, so none has one to keep in force. Each but the
    # Service could have held what decides routing or policy: until they are gone, nothing is served.
    assert {n: s["stopsTraffic"] for n, s in sources(gateway).items() if n in BAD} == {n: n != "ports.yaml" for n in BAD}
    converge(gateway.send, NO_KEY, status(503), RULE, "503 without a key while the bad files are there")
    converge(gateway.send, WITH_KEY, status(503), RULE, "503 with the key while the bad files are there")
    ready = httpx.get(gateway._admin + "/healthz/ready", timeout=10)
    assert ready.status_code == 503 and all(f"{n}:" in ready.text for n in BAD if n != "ports.yaml"), ready.text
    for name in BAD:
        (gateway.manifests / name).unlink()
    converge(gateway.send, NO_KEY, status(401), RULE, "401 without a key once the bad files are gone")
    converge(gateway.send, WITH_KEY, status(200), RULE, "200 with the key once the bad files are gone")


def test_a_bad_version_of_a_policy_file_keeps_the_good_version_in_force(gateway):
    [policy_file] = [p for p in gateway.manifests.iterdir() if p.name.startswith("agentgatewaypolicy.")]
    good = policy_file.read_bytes()
    bent = good.replace(b"kind: Gateway", b"kind: [Gateway]")
    assert bent != good
    write(gateway, policy_file.name, bent)
    error = wait_for_errors(gateway, [policy_file.name])[policy_file.name]
    assert error.startswith(f"{policy_file.name}: document 1: AgentgatewayPolicy agentgateway-system/apikey-auth: spec.targetRefs[0].kind"), error
    converge(gateway.send, NO_KEY, status(401), RULE, "the last good policy still refusing a request without a key")
    converge(gateway.send, WITH_KEY, status(200), RULE, "the last good policy still accepting its key")
    assert gateway.programs[-1].running
    write(gateway, policy_file.name, good)


@pytest.mark.parametrize("misspelt", [b"apiKeyAuthentification:", b"trafic:"])
def test_a_policy_with_a_misspelt_field_is_refused_naming_it_and_the_good_version_stays(gateway, misspelt):
    # Read without the misspelt field, the policy would protect nothing: every request would pass.
    [policy_file] = [p for p in gateway.manifests.iterdir() if p.name.startswith("agentgatewaypolicy.")]
    wait_until_loaded(gateway, policy_file.name)  # an earlier test's bad version is gone
    good = policy_file.read_bytes()
    right = b"apiKeyAuthentication:" if misspelt.startswith(b"api") else b"traffic:"
    bent = good.replace(right, misspelt)
    assert bent != good
    write(gateway, policy_file.name, bent)
    error = wait_for_errors(gateway, [policy_file.name])[policy_file.name]
    path = "spec.traffic.apiKeyAuthentification" if misspelt.startswith(b"api") else "spec.trafic"
    assert error.startswith(f"{policy_file.name}: document 1: AgentgatewayPolicy agentgateway-system/apikey-auth: {path}: unknown field"), error
    assert sources(gateway)[policy_file.name]["field"] == path
    converge(gateway.send, NO_KEY, status(401), RULE, "the last good policy still refusing a request without a key")
    converge(gateway.send, WITH_KEY, status(200), RULE, "the last good policy still accepting its key")
    policies = httpx.get(gateway._admin + "/status/policies", timeout=10).json()["policies"]
    [entry] = [p for p in policies if (p["namespace"], p["name"]) == ("agentgateway-system", "apikey-auth")]
    assert entry["latestVersion"] == "Refused", entry
    write(gateway, policy_file.name, good)
    wait_until_loaded(gateway, policy_file.name)


def test_a_refused_secret_is_named_in_the_status_of_the_policy_that_reads_it(gateway):
    # The policy's conditions stay the controller's words; beside them, the policy's entry must
    # not let "Accepted" pass for "the new Secret is in force".
    [secret_file] = [p for p in gateway.manifests.iterdir() if p.name.startswith("secret.")]
    wait_until_loaded(gateway, secret_file.name)
    good = secret_file.read_bytes()
    write(gateway, secret_file.name, good + b"data: {other: '***not base64***'}\n")
    wait_for_errors(gateway, [secret_file.name])
    policies = httpx.get(gateway._admin + "/status/policies", timeout=10).json()["policies"]
    [entry] = [p for p in policies if (p["namespace"], p["name"]) == ("agentgateway-system", "apikey-auth")]
    [source] = entry["keySources"]
    assert (source["kind"], source["name"], source["latestVersion"]) == ("Secret", "apikey", "Refused"), entry
    assert entry["keysInForce"] == "LastGoodVersion" and secret_file.name in entry["keysMessage"], entry
    assert KEY not in str(policies)
    converge(gateway.send, WITH_KEY, status(200), RULE, "the last good Secret's key still accepted")
    write(gateway, secret_file.name, good)
    wait_until_loaded(gateway, secret_file.name)
    policies = httpx.get(gateway._admin + "/status/policies", timeout=10).json()["policies"]
    [entry] = [p for p in policies if (p["namespace"], p["name"]) == ("agentgateway-system", "apikey-auth")]
    assert entry["keySources"][0]["latestVersion"] == "Accepted" and "keysInForce" not in entry, entry
