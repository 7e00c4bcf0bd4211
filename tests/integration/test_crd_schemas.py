"""What the gateway accepts, the API server would accept too: checked against the CRDs' own schemas.

The gateway's validator is hand-written (it must not depend on the CRD files at run time),
so here the bent manifests of `test_manifest_fuzz` that it accepts are checked against the
OpenAPI schemas of the CRDs the envtest build fetched (Gateway API standard channel, and
the AgentgatewayPolicy CRD or its stand-in): types, required fields and enums. Patterns,
lengths and CEL rules are left out; they say more than the gateway needs to check.
Skipped where the envtest build is not available.
"""

from __future__ import annotations

import copy

import jsonschema
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from test_manifest_fuzz import FUZZ, VALID, bent, json_values

from conformance.controlplane import ControlPlaneError, find_assets, find_crds
from reference.objects import Ignored, ManifestError, Unsupported, parse_object

pytestmark = pytest.mark.needs_envtest

KINDS = {"gateway": "Gateway", "route": "HTTPRoute", "grant": "ReferenceGrant", "policy": "AgentgatewayPolicy", "selector-policy": "AgentgatewayPolicy"}
KEPT = {"type", "properties", "items", "required", "enum", "additionalProperties", "nullable", "x-kubernetes-int-or-string"}


def structural(schema: dict) -> dict:
    """The parts of an OpenAPI schema that say what shape a value has, as JSON Schema."""
    out: dict = {}
    for key, value in schema.items():
        if key not in KEPT:
            continue
        if key == "properties":
            out[key] = {name: structural(child) for name, child in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = structural(value)
        elif key == "x-kubernetes-int-or-string":
            out["type"] = ["integer", "string"]
        elif key != "nullable":
            out[key] = value
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
    return out


class Schemas(dict):
    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"<schemas of {', '.join(sorted(self))}>"


@pytest.fixture(scope="module")
def schemas() -> dict[str, dict]:
    try:
        crds = find_crds(find_assets())
    except ControlPlaneError as exc:
        pytest.skip(f"no CRDs from the envtest build: {exc}")
    found = Schemas()
    for path in crds.glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc["spec"]
            version = next(v for v in spec["versions"] if v.get("storage"))
            found[spec["names"]["kind"]] = structural(version["schema"]["openAPIV3Schema"])
    missing = {k for k in KINDS.values() if k not in found}
    assert not missing, f"the CRD directory {crds} lacks {missing}"
    return found


def pruned(value):
    """As the API server stores it: fields set to null are dropped (none of these schemas is nullable)."""
    if isinstance(value, dict):
        return {k: pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def check(schemas: dict[str, dict], which: str, doc) -> None:
    try:
        parsed = parse_object(copy.deepcopy(doc), where=which)
    except ManifestError:
        return
    if isinstance(parsed, Ignored) or parsed.meta.kind != KINDS[which]:
        return
    body = {k: v for k, v in pruned(doc).items() if k not in ("metadata", "status")}
    try:
        jsonschema.validate(body, {**schemas[KINDS[which]], "properties": {
            k: v for k, v in schemas[KINDS[which]].get("properties", {}).items() if k not in ("metadata", "status")}})
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"the gateway accepts a {KINDS[which]} the CRD's schema refuses, at {list(exc.absolute_path)}: {exc.message}") from None


def test_the_examples_fit_the_crds(schemas):
    for which in KINDS:
        check(schemas, which, VALID[which])


@FUZZ
@given(bent(json_values, names=tuple(KINDS)))
def test_what_the_gateway_accepts_fits_the_crds(schemas, case):
    check(schemas, *case)


@FUZZ
@given(st.sampled_from(tuple(KINDS)), st.data())
def test_values_of_the_wrong_type_anywhere_are_refused_as_the_crd_refuses_them(schemas, which, data):
    """Every leaf of an example replaced by a value of another JSON type."""
    from test_manifest_fuzz import paths, replaced

    doc = VALID[which]
    leaves = [p for p in paths(doc) if p and p[0] not in ("apiVersion", "kind", "metadata") and p[-1] != "<new>"]
    path = data.draw(st.sampled_from(leaves))
    check(schemas, which, replaced(doc, path, data.draw(st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=1), st.text(max_size=3)))))


# What the reference implements of an AgentgatewayPolicy; every other setting the CRD defines
# must be refused by its field path, never accepted and ignored (docs/reference-gateway.md).
IMPLEMENTED = {"spec.targetRefs", "spec.traffic", "spec.traffic.apiKeyAuthentication", "spec.traffic.phase", "spec.strategy",
               "spec.traffic.authorization", "spec.traffic.transformation", "spec.traffic.rateLimit"}


def test_every_policy_setting_the_crd_defines_is_implemented_or_refused_by_name(schemas):
    spec = schemas["AgentgatewayPolicy"]["properties"]["spec"]["properties"]
    settings = [f"spec.{name}" for name in spec if name not in ("traffic", "frontend", "backend")]
    settings += [f"spec.{part}.{name}" for part in ("traffic", "frontend", "backend") for name in spec[part]["properties"]]
    refused = [path for path in settings if path not in IMPLEMENTED]
    assert "spec.traffic.cors" in refused and "spec.frontend.tls" in refused, settings
    for path in refused:
        doc = copy.deepcopy(VALID["policy"])
        doc["spec"].pop("strategy")
        here = doc["spec"]
        *parents, name = path.split(".")[1:]
        for parent in parents:
            here = here.setdefault(parent, {})
        here[name] = {}
        if path == "spec.targetSelectors":  # instead of targetRefs, as the CRD asks
            here[name] = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "matchLabels": {"app": "x"}}]
            del here["targetRefs"]
        with pytest.raises(Unsupported) as caught:
            parse_object(doc, where="policy.yaml")
        assert caught.value.field == path, str(caught.value)
        assert "not supported by the reference gateway" in caught.value.message
