"""The file config source: changes apply, bad files keep their last good version."""

import pytest

from reference.runtime import Runtime
from reference.watching import ManifestDir
from helpers import write_manifest

SECRET = """apiVersion: v1
kind: Secret
metadata: {name: apikey, namespace: ns}
stringData: {api-key: %s}
"""
POLICY = """apiVersion: agentgateway.dev/v1alpha1
kind: AgentgatewayPolicy
metadata: {name: p, namespace: ns}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]
  traffic:
    apiKeyAuthentication:
      mode: %s
      secretRef: {name: apikey}
"""


@pytest.fixture
def source(tmp_path):
    return ManifestDir(tmp_path, Runtime())




def policy_modes(source):
    return [p.auth.mode for p in source.runtime.config.policies]


def test_first_scan_publishes_even_an_empty_directory(source):
    source.scan()
    assert source.runtime.config is not None and source.runtime.config.policies == []


def test_a_bad_change_keeps_the_last_good_version_and_reports_where(source):
    write_manifest(source.path, "p.yaml", SECRET % "k1" + "---\n" + POLICY % "Strict")
    source.scan()
    assert policy_modes(source) == ["Strict"]

    write_manifest(source.path, "p.yaml", SECRET % "k1" + "---\n" + POLICY % "Sometimes")
    source.scan()
    assert policy_modes(source) == ["Strict"]
    [report] = source.report()
    assert report["error"].startswith("p.yaml: document 2: AgentgatewayPolicy ns/p: spec.traffic.apiKeyAuthentication.mode")

    write_manifest(source.path, "p.yaml", SECRET % "k1" + "---\n" + POLICY % "Optional")
    source.scan()
    assert policy_modes(source) == ["Optional"]
    assert source.report()[0]["error"] is None


def test_invalid_yaml_and_dot_files(source):
    write_manifest(source.path, "good.yaml", POLICY % "Strict")
    write_manifest(source.path, ".good.yaml.tmp", "{{{ not yaml")
    write_manifest(source.path, "notes.txt", "ignored")
    source.scan()
    assert [r["file"] for r in source.report()] == ["good.yaml"]
    write_manifest(source.path, "broken.yml", "a: [\n")
    source.scan()
    assert "broken.yml: invalid YAML" in {r["file"]: r for r in source.report()}["broken.yml"]["error"]
    assert policy_modes(source) == ["Strict"]


def test_removing_a_file_removes_its_objects(source):
    write_manifest(source.path, "p.yaml", POLICY % "Strict")
    source.scan()
    (source.path / "p.yaml").unlink()
    assert source.scan() is True
    assert source.runtime.config.policies == []


def test_keys_never_reach_reports_or_problems(source):
    write_manifest(source.path, "s.yaml", SECRET % "'{\"key\": \"sup3r-s3cret\", \"metadata\": 5}'" + "---\n" + POLICY % "Strict")
    source.scan()
    [policy] = source.runtime.config.policies
    assert policy.problems == ("secret apikey contains invalid key api-key: metadata must be an object",)
    assert "sup3r" not in repr(source.report()) + repr(source.runtime.config.status)


def test_a_revision_is_shown_only_once_its_configuration_is_in_force(source, monkeypatch):
    """The suite's reference target sends traffic as soon as it sees a file's revision, so
    the revision must not be shown while the configuration built from it is still being
    put in force (scans run in a thread beside the admin endpoint)."""
    write_manifest(source.path, "p.yaml", POLICY % "Strict")
    source.scan()
    [before] = source.report()
    seen_while_publishing = []
    publish = source.runtime.publish

    def watched(objects, **kwargs):
        seen_while_publishing.append(source.report())
        return publish(objects, **kwargs)

    monkeypatch.setattr(source.runtime, "publish", watched)
    write_manifest(source.path, "p.yaml", POLICY % "Optional")
    source.scan()
    assert seen_while_publishing == [[before]]
    [after] = source.report()
    assert after["revision"] != before["revision"] and policy_modes(source) == ["Optional"]

    (source.path / "p.yaml").unlink()
    source.scan()
    assert seen_while_publishing[-1] == [after], "a removed file is still shown while its objects are in force"
    assert source.report() == []
