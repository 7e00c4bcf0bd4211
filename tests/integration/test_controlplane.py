"""The envtest control plane: a real kube-apiserver with the Gateway API and
agentgateway CRDs, checked with plain httpx through the written kubeconfig.

The first run on a machine builds the binaries (clusters/envtest/build.sh).
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from conformance.controlplane import ControlPlane

pytestmark = pytest.mark.needs_envtest

NAMESPACE = "agentgateway-system"
POLICY_CRD = "agentgatewaypolicies.agentgateway.dev"
POLICIES = f"/apis/agentgateway.dev/v1alpha1/namespaces/{NAMESPACE}/agentgatewaypolicies"
EXACTLY_ONE = "exactly one of the fields in [secretRef secretSelector configMapSelector] must be set"


@pytest.fixture(scope="module")
def cp() -> Iterator[ControlPlane]:
    with ControlPlane() as plane:
        yield plane


@pytest.fixture(scope="module")
def api(cp: ControlPlane) -> Iterator[httpx.Client]:
    """A client configured only from the kubeconfig file (server, CA data, token)."""
    config = yaml.safe_load(cp.kubeconfig.read_text())
    context = next(c["context"] for c in config["contexts"] if c["name"] == config["current-context"])
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in config["users"] if u["name"] == context["user"])
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    with httpx.Client(
        base_url=cluster["server"],
        verify=ssl.create_default_context(cadata=ca),
        headers={"Authorization": f"Bearer {user['token']}"},
        timeout=30.0,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def policy_crd(cp: ControlPlane) -> None:
    if POLICY_CRD not in cp.installed_crds:
        assert cp.crds_dir is not None
        sources = cp.crds_dir / "SOURCES"
        lines = sources.read_text().splitlines() if sources.exists() else []
        why = next((line for line in lines if line.startswith("agentgateway:")), f"no {POLICY_CRD} in {cp.crds_dir}")
        pytest.skip(f"AgentgatewayPolicy CRD not available ({why})")


@pytest.fixture(scope="module")
def namespace(api: httpx.Client) -> str:
    r = api.post("/api/v1/namespaces", json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    assert r.status_code in (201, 409), r.text
    return NAMESPACE


def policy(name: str, api_key_authentication: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "agentgateway.dev/v1alpha1",
        "kind": "AgentgatewayPolicy",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "agentgateway-proxy"}],
            "traffic": {"apiKeyAuthentication": api_key_authentication},
        },
    }


def resources(api: httpx.Client, group_version: str) -> set[str]:
    r = api.get(f"/apis/{group_version}")
    assert r.status_code == 200, r.text
    return {res["name"] for res in r.json()["resources"]}


def test_version(api: httpx.Client) -> None:
    r = api.get("/version")
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["major"] == "1"
    assert info["gitVersion"].startswith("v1.")


def test_kubeconfig_token_is_required(cp: ControlPlane) -> None:
    with httpx.Client(verify=ssl.create_default_context(cafile=str(cp.ca_file))) as anonymous:
        r = anonymous.get(f"{cp.server}/api/v1/namespaces")
    assert r.status_code in (401, 403)


def test_gateway_api_crds_served(api: httpx.Client) -> None:
    assert {"gateways", "httproutes", "gatewayclasses"} <= resources(api, "gateway.networking.k8s.io/v1")


def test_agentgateway_policy_crd_served(api: httpx.Client, policy_crd: None) -> None:
    assert "agentgatewaypolicies" in resources(api, "agentgateway.dev/v1alpha1")


def test_policy_with_two_key_sources_is_refused(api: httpx.Client, policy_crd: None, namespace: str) -> None:
    body = policy(
        "apikey-two-sources",
        {"mode": "Strict", "secretRef": {"name": "apikey"}, "secretSelector": {"matchLabels": {"app": "apikey"}}},
    )
    r = api.post(POLICIES, json=body)
    assert r.status_code == 422, r.text
    assert EXACTLY_ONE in r.json()["message"]


def test_valid_policy_is_accepted(api: httpx.Client, policy_crd: None, namespace: str) -> None:
    body = policy("apikey", {"mode": "Strict", "secretRef": {"name": "apikey"}})
    r = api.post(POLICIES, json=body)
    assert r.status_code == 201, r.text
    got = api.get(f"{POLICIES}/apikey")
    assert got.status_code == 200, got.text
    assert got.json()["spec"]["traffic"]["apiKeyAuthentication"]["secretRef"]["name"] == "apikey"
