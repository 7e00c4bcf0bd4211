"""How the real-agentgateway envtest target stands in for what a cluster would run.

Pure unit tests: no build, no API server, no agentgateway source tree. The run against the
real product is the opt-in tox environment `agentgateway-envtest`.
"""

from pathlib import Path

import pytest

from conformance.buildscripts import BuildFailed, last_path
from conformance.profiles import FEATURES
from conformance.targets.agentgateway.envtest import AGENTGATEWAY_FEATURES, AgentgatewayEnvtestTarget, controller_env
from conformance.targets.agentgateway.pod import Mount, local_pod

ROOT = Path("/tmp/proxy-root")


def proxy_deployment(**container_extra) -> dict:
    """A Deployment shaped like the one the controller renders for a Gateway's proxy."""
    container = {
        "name": "agentgateway",
        "image": "cr.agentgateway.dev/agentgateway:v1.4.1",
        "args": ["-f", "/config/config.yaml"],
        "env": [
            {"name": "TERMINATION_GRACE_PERIOD_SECONDS", "value": "60"},
            {"name": "NODE_NAME", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "RUST_LOG", "value": "info"},
            {"name": "XDS_ADDRESS", "value": "https://127.0.0.1:9978"},
            {"name": "XDS_ROOT_CA", "value": "/etc/xds-tls/ca.crt"},
            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "GATEWAY", "value": "agentgateway-proxy"},
            {"name": "CPU_LIMIT", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1"}}},
            {"name": "INSTANCE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "SERVICE_ACCOUNT", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
        ],
        "volumeMounts": [
            {"name": "config-volume", "mountPath": "/config"},
            {"name": "tmp", "mountPath": "/tmp"},
            {"name": "xds-token", "mountPath": "/var/run/secrets/xds-tokens", "readOnly": True},
            {"name": "xds-ca", "mountPath": "/etc/xds-tls", "readOnly": True},
        ],
        **container_extra,
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "agentgateway-proxy", "namespace": "agentgateway-system"},
        "spec": {"template": {"spec": {
            "serviceAccountName": "agentgateway-proxy",
            "containers": [container],
            "volumes": [
                {"name": "config-volume", "configMap": {"name": "agentgateway-proxy"}},
                {"name": "xds-token", "projected": {"sources": [
                    {"serviceAccountToken": {"audience": "agentgateway", "expirationSeconds": 43200, "path": "xds-token"}}]}},
                {"name": "tmp", "emptyDir": {}},
                {"name": "xds-ca", "configMap": {"name": "agentgateway-proxy-xds-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            ],
        }}},
    }


def test_the_container_runs_with_its_arguments_and_volumes_under_the_local_root():
    pod = local_pod(proxy_deployment(), ROOT, container="agentgateway", cpus=2)
    assert pod.command == ["-f", "/tmp/proxy-root/config/config.yaml"]
    assert pod.env["XDS_ROOT_CA"] == "/tmp/proxy-root/etc/xds-tls/ca.crt"
    assert pod.env["XDS_ADDRESS"] == "https://127.0.0.1:9978"  # not a path: unchanged
    assert pod.local("/var/run/secrets/xds-tokens") == ROOT / "var/run/secrets/xds-tokens"
    assert set(pod.mounts) == {
        Mount("/config", "configMap", "agentgateway-proxy"),
        Mount("/tmp", "emptyDir"),
        Mount("/var/run/secrets/xds-tokens", "token", items=(("token", "xds-token"),), audience="agentgateway", expiration_seconds=43200),
        Mount("/etc/xds-tls", "configMap", "agentgateway-proxy-xds-ca", (("ca.crt", "ca.crt"),)),
    }


def test_the_downward_api_is_filled_from_the_deployment_and_what_only_a_pod_has_is_left_out():
    pod = local_pod(proxy_deployment(), ROOT, cpus=2)
    assert (pod.namespace, pod.service_account) == ("agentgateway-system", "agentgateway-proxy")
    assert pod.env["NAMESPACE"] == pod.env["POD_NAMESPACE"] == "agentgateway-system"
    assert pod.env["SERVICE_ACCOUNT"] == "agentgateway-proxy"
    assert pod.env["GATEWAY"] == "agentgateway-proxy"
    assert pod.env["CPU_LIMIT"] == "2"  # no limit: the node's CPUs, as the downward API gives
    # No pod, no node, no pod IP: left out and said why, never made up.
    assert set(pod.left_out) == {"POD_NAME", "NODE_NAME", "INSTANCE_IP"}
    assert not set(pod.left_out) & set(pod.env)


def test_a_cpu_limit_is_passed_on():
    pod = local_pod(proxy_deployment(resources={"limits": {"cpu": "3"}}), ROOT)
    assert pod.env["CPU_LIMIT"] == "3"


def test_secret_backed_variables_are_resolved_later_from_the_api():
    deployment = proxy_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "SESSION_KEY", "valueFrom": {"secretKeyRef": {"name": "session", "key": "key"}}})
    pod = local_pod(deployment, ROOT)
    assert pod.secret_env == {"SESSION_KEY": ("session", "key")}
    assert "SESSION_KEY" not in pod.env


@pytest.mark.parametrize("volume, words", [
    ({"name": "config-volume", "hostPath": {"path": "/etc"}}, "hostPath"),
    ({"name": "config-volume", "projected": {"sources": [{"downwardAPI": {}}]}}, "downwardAPI"),
])
def test_a_volume_without_a_local_stand_in_is_refused_by_name(volume, words):
    deployment = proxy_deployment()
    deployment["spec"]["template"]["spec"]["volumes"][0] = volume
    with pytest.raises(ValueError, match=words):
        local_pod(deployment, ROOT)


def test_an_unknown_field_reference_is_refused():
    deployment = proxy_deployment()
    deployment["spec"]["template"]["spec"]["containers"][0]["env"].append(
        {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}})
    with pytest.raises(ValueError, match="status.hostIP"):
        local_pod(deployment, ROOT)


def test_a_missing_container_is_named():
    with pytest.raises(ValueError, match="no container 'sidecar'"):
        local_pod(proxy_deployment(), ROOT, container="sidecar")


def test_the_controller_gets_the_chart_defaults_and_a_local_xds_address():
    env = controller_env("/k/kubeconfig", 41000)
    assert env["KUBECONFIG"] == "/k/kubeconfig"
    assert env["POD_NAMESPACE"] == "agentgateway-system"
    assert env["AGW_AGENTGATEWAY_XDS_SERVICE_PORT"] == "41000"
    assert env["AGW_XDS_MODE"] == "tls"  # the chart's default, kept
    assert env["AGW_XDS_SERVICE_HOST"] == "127.0.0.1"
    assert env["AGW_XDS_SERVICE_NAME"] == "agentgateway"
    assert "AGW_DISABLE_LEADER_ELECTION" not in env  # leader election stays on, as in the chart
    assert all(k == "KUBECONFIG" or k == "POD_NAMESPACE" or k.startswith("AGW_") for k in env)


def test_the_build_scripts_last_line_is_the_path(tmp_path):
    script = tmp_path / "build.sh"
    script.write_text("echo noise; echo progress >&2; echo /cache/bin/agentgateway-controller; echo\n")
    assert last_path(script) == Path("/cache/bin/agentgateway-controller")
    script.write_text("echo\n")
    with pytest.raises(BuildFailed, match="printed nothing"):
        last_path(script)
    script.write_text("echo /cache/bin/half-built; exit 2\n")
    with pytest.raises(BuildFailed, match="failed with exit code 2"):
        last_path(script)


def test_the_target_claims_every_feature_of_the_product():
    assert AGENTGATEWAY_FEATURES == frozenset(FEATURES)


class _Config:
    def __init__(self, **options):
        self.options = {"reference_command": None, "convergence_timeout": 30.0, **options}

    def getoption(self, name):
        return self.options[name]


def test_without_a_source_tree_the_run_stops_before_it_starts(monkeypatch):
    monkeypatch.delenv("AGW_AGENTGATEWAY_SRC", raising=False)
    with pytest.raises(pytest.UsageError, match="AGW_AGENTGATEWAY_SRC"):
        AgentgatewayEnvtestTarget.from_options(_Config())


def test_a_source_tree_is_taken_from_the_environment(monkeypatch, tmp_path):
    # (--reference-command with the real gateway is refused from the targets' declared options:
    # tests/unit/test_target_options.py.)
    (tmp_path / "go.mod").write_text("module github.com/agentgateway/agentgateway\n")
    monkeypatch.setenv("AGW_AGENTGATEWAY_SRC", str(tmp_path))
    assert AgentgatewayEnvtestTarget.from_options(_Config()).source == str(tmp_path)


def test_it_needs_no_reachability_check_before_it_starts_its_own_cluster():
    AgentgatewayEnvtestTarget("/nowhere").preflight()
