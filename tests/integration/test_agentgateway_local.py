"""The agentgateway-local target: its options, and the real proxy binary when there is one.

The tests that need the binary look for it in AGW_AGENTGATEWAY_BINARY, then in the cache
`clusters/agentgateway/build.sh` fills; without it they are skipped, saying so.
"""

import textwrap
from pathlib import Path

import pytest
import yaml
from helpers import BINARY, needs_binary

from conformance.http import Request
from conformance.targets.agentgateway.config import Untranslatable
from conformance.targets.agentgateway.local import AgentgatewayLocalTarget, ProxyRejected
from conformance.targets.base import ObjectRef

pytest_plugins = ["pytester"]

FEATURES = Path(__file__).resolve().parents[2] / "features"
KEY = "N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy"


def ours(pytester: pytest.Pytester, *args: str):
    return pytester.runpytest_subprocess(str(FEATURES), "-p", "no:cacheprovider", *args)


def test_without_a_binary_or_a_source_tree_the_usage_error_says_what_to_set(pytester, monkeypatch):
    monkeypatch.delenv("AGW_AGENTGATEWAY_SRC", raising=False)
    result = ours(pytester, "--target=agentgateway-local")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--agentgateway-binary PATH*AGW_AGENTGATEWAY_SRC*"])


def test_a_binary_that_is_not_there_is_a_usage_error(pytester, tmp_path):
    result = ours(pytester, "--target=agentgateway-local", "--agentgateway-binary", str(tmp_path / "nothing"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--agentgateway-binary*not an executable file*"])


def test_a_program_that_is_not_agentgateway_is_a_usage_error(pytester, tmp_path):
    fake = tmp_path / "agentgateway"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    result = ours(pytester, "--target=agentgateway-local", "--agentgateway-binary", str(fake))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*does not run as agentgateway*"])


def test_the_binary_option_means_nothing_on_other_targets(pytester):
    result = ours(pytester, "--agentgateway-binary", "/bin/true")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--agentgateway-binary has no effect with --target=reference*"])


def test_the_target_declares_what_it_cannot_offer_with_reasons():
    assert {"PolicyStatus", "ManifestValidation"} <= set(AgentgatewayLocalTarget.unsupported_reasons)
    assert not AgentgatewayLocalTarget.supported_features & set(AgentgatewayLocalTarget.unsupported_reasons)
    assert {"APIKeyCore", "RouteTargets", "PreRouting", "HashedKeys", "ConfigMapKeys"} <= AgentgatewayLocalTarget.supported_features


# --- with the real proxy -----------------------------------------------------------------


@needs_binary
def test_the_suite_runs_the_binary_given_with_the_option(pytester):
    report = pytester.path / "report.yaml"
    result = ours(pytester, "--target=agentgateway-local", "--agentgateway-binary", BINARY,
                  "-m", "APIKEY-DOC-106", "--conformance-report", str(report), "-v")
    result.assert_outcomes(passed=1)
    text = report.read_text()
    assert "agentgateway-local target" in text and "unsupportedFeatureReasons" in text
    # The binary's version chooses the page its users read: the 1.4.x page, and only it.
    pages = {p["name"]: p["page"] for p in yaml.safe_load(text)["profiles"] if "page" in p}
    assert list(pages) == ["APIKEY-DOCS-1.4"] and "v1.4" in pages["APIKEY-DOCS-1.4"]["chosenBy"], pages


POLICY = textwrap.dedent(f"""\
    apiVersion: v1
    kind: Secret
    metadata: {{name: apikey, namespace: agentgateway-system}}
    stringData: {{api-key: {KEY}}}
    ---
    apiVersion: agentgateway.dev/v1alpha1
    kind: AgentgatewayPolicy
    metadata: {{name: apikey-auth, namespace: agentgateway-system}}
    spec:
      targetRefs: [{{group: gateway.networking.k8s.io, kind: Gateway, name: agentgateway-proxy}}]
      traffic: {{apiKeyAuthentication: {{mode: Strict, secretRef: {{name: apikey}}}}}}
    """)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    with AgentgatewayLocalTarget(BINARY, workdir=tmp_path_factory.mktemp("agw"), timeout=60).running() as target:
        yield target


@needs_binary
def test_each_change_is_in_force_when_apply_and_delete_return(proxy):
    request = Request(path="/headers", host="www.example.com")
    assert proxy.send(request).status == 200
    proxy.apply(POLICY)
    refused = proxy.send(request)
    assert refused.status == 401 and refused.body == b"api key authentication failure: no API Key found"
    assert proxy.send(request.with_header("Authorization", f"Bearer {KEY}")).status == 200
    proxy.delete(ObjectRef("AgentgatewayPolicy", "agentgateway-system", "apikey-auth"))
    proxy.delete(ObjectRef("Secret", "agentgateway-system", "apikey"))
    assert proxy.send(request).status == 200


@needs_binary
def test_a_configuration_the_proxy_refuses_is_reported_and_the_previous_one_stays(proxy):
    request = Request(path="/headers", host="www.example.com")
    proxy.apply(POLICY)
    try:
        before = dict(proxy.objects)
        bad = POLICY.replace("secretRef: {name: apikey}", "secretRef: {name: apikey}, location: {header: {name: 'not a header'}}")
        with pytest.raises(ProxyRejected, match="Failed to reload config"):
            proxy.apply(bad)
        assert proxy.objects == before
        assert proxy.send(request).status == 401
        assert proxy.send(request.with_header("Authorization", f"Bearer {KEY}")).status == 200
        with pytest.raises(Untranslatable):
            proxy.apply(POLICY.replace("  traffic:", "  strategy: {inheritance: Override}\n  traffic:"))
        assert proxy.objects == before
    finally:
        proxy.delete(ObjectRef("AgentgatewayPolicy", "agentgateway-system", "apikey-auth"))
        proxy.delete(ObjectRef("Secret", "agentgateway-system", "apikey"))
    assert proxy.send(request).status == 200
