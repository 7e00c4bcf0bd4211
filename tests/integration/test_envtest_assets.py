"""The envtest tier's own tools and what it says about the CRDs it installed."""

import shutil
import subprocess
from pathlib import Path

import pytest

from conformance.targets.envtest import read_crd_sources

pytestmark = pytest.mark.needs_envtest

ROOT = Path(__file__).resolve().parents[2]


def test_crdprep_go_tests_pass():
    # crdprep renders the CRD charts and checks the real AgentgatewayPolicy CRD for its
    # validation rule in the parsed document (a rendered file may wrap the message).
    go = shutil.which("go") or "/usr/local/go/bin/go"
    result = subprocess.run([go, "test", "./..."], cwd=ROOT / "clusters/envtest/crdprep", capture_output=True, text=True, timeout=600,
                            env={**__import__("os").environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_crd_sources_are_read_from_the_build(tmp_path):
    (tmp_path / "SOURCES").write_text("gateway-api: sigs.k8s.io/gateway-api@v1.5.1\nagentgateway: STAND-IN because no source\n")
    assert read_crd_sources(tmp_path) == {"gateway-api": "sigs.k8s.io/gateway-api@v1.5.1", "agentgateway": "STAND-IN because no source"}


def test_a_crd_of_unknown_origin_is_not_taken_for_the_real_one(tmp_path):
    (tmp_path / "agentgatewaypolicies.agentgateway.dev.yaml").write_text("kind: CustomResourceDefinition\n")
    assert read_crd_sources(tmp_path)["agentgateway"].startswith("unknown origin")


def test_validation_against_a_stand_in_crd_is_provisional(tmp_path):
    from conformance.targets.envtest import EnvtestTarget

    target = EnvtestTarget(["true"], frozenset())
    (tmp_path / "SOURCES").write_text("agentgateway: STAND-IN clusters/envtest/standin because no source tree\n")
    target._note_crds(tmp_path)
    assert "ManifestValidation" in target.provisional_features
    (tmp_path / "SOURCES").write_text("agentgateway: real: local source tree controller/install/helm/agentgateway-crds/templates\n")
    target.provisional_features = {}
    target._note_crds(tmp_path)
    assert target.provisional_features == {}


def test_envtest_needs_no_reachability_check_before_it_starts_its_own_cluster():
    from conformance.targets.envtest import EnvtestTarget

    EnvtestTarget(["true"], frozenset()).preflight()  # must not look for a kubeconfig that does not exist yet
