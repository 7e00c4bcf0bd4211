"""Before you begin, applying and deleting manifests, and what the API holds.

A step that applies a manifest says what the manifest is, and the step holds it to its
words: the kinds it names are the kinds in the docstring, "create" means the objects are
new to the scenario and "update" that they are not, "a Strict policy" has `mode: Strict`,
and so on. The phrases are few and fixed:

- the docs page's own sentences, verbatim (the doc-page feature mirrors the page);
- `I create|update a Secret|ConfigMap|HTTPRoute|ReferenceGrant|Gateway|Service ...` for
  objects other than policies;
- `I apply a [pre-routing|overriding] [Strict|Optional|Permissive] policy ...` for
  AgentgatewayPolicies, and `I apply a policy without a mode ...`;
- `I try to apply ...` for a manifest the target must refuse;
- `the "NAME" manifest is applied` for a manifest kept in `conformance/manifests/`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from .. import masking
from ..targets.base import NotShown, ObjectRef, Refused, documents
from ..world import KEY_STORES, World
from .requests import from_httpbin, httpbin

MANIFESTS = Path(__file__).resolve().parents[1] / "manifests"
# Installed by the target before any scenario, never by one (a scenario deletes what it applies).
BASE_MANIFESTS = {"base", "endpointslice"}

POLICY = "AgentgatewayPolicy"
_KIND_WORDS = {
    "secret": "Secret", "secrets": "Secret", "configmap": "ConfigMap", "configmaps": "ConfigMap",
    "httproute": "HTTPRoute", "httproutes": "HTTPRoute", "route": "HTTPRoute", "policy": POLICY, "policies": POLICY,
    "agentgatewaypolicy": POLICY, "referencegrant": "ReferenceGrant", "referencegrants": "ReferenceGrant",
    "gateway": "Gateway", "gateways": "Gateway", "service": "Service", "services": "Service",
    "listenerset": "ListenerSet", "listenersets": "ListenerSet",
}


_log = logging.getLogger(__name__)


def _need(docstring: str | None, step: str) -> str:
    assert docstring, f"the step '{step}' needs the manifest as a docstring"
    return docstring


def rendered(world: World, docstring: str | None, step: str) -> str:
    """The step's manifest with the deployment's names in place of the docs page's (conformance/deployment.py)."""
    return world.target.deployment.render(_need(docstring, step))


def named_kinds(words: str) -> set[str]:
    return {_KIND_WORDS[w.lower()] for w in re.findall(r"[A-Za-z]+", words) if w.lower() in _KIND_WORDS}


def check_words(world: World, step: str, manifest: str, *, verb: str = "apply", kinds: set[str] | None = None) -> list[dict]:
    """Hold a manifest to the step that applies it; returns its documents."""
    docs = documents(manifest)
    assert docs, f"the step '{step}' has an empty manifest"
    named = named_kinds(step) if kinds is None else kinds
    unnamed = sorted({str(d.get("kind")) for d in docs} - named)
    assert not unnamed, f"the step '{step}' does not say that its manifest holds {', '.join(unnamed)}"
    refs = [ObjectRef.of(d) for d in docs]
    if verb == "create":
        again = [str(r) for r in refs if r in world.applied]
        assert not again, f"the step '{step}' creates {', '.join(again)}, which this scenario already applied: say 'update'"
    elif verb == "update":
        new = [str(r) for r in refs if r not in world.applied]
        assert not new, f"the step '{step}' updates {', '.join(new)}, which this scenario never applied: say 'create'"
    return docs


def _auth(doc: dict) -> dict:
    return ((doc.get("spec") or {}).get("traffic") or {}).get("apiKeyAuthentication") or {}


# --- the docs page's own sentences ------------------------------------------------------

def _page_secret(docs: list[dict]) -> str | None:
    return None


def _page_strict_ref(docs: list[dict]) -> str | None:
    auth = _auth(docs[0])
    return None if auth.get("mode") == "Strict" and "secretRef" in auth else "a Strict policy that references the Secret by name"


def _page_selector(docs: list[dict]) -> str | None:
    return None if "secretSelector" in _auth(docs[0]) else "a policy with a label selector"


def _page_optional(docs: list[dict]) -> str | None:
    return None if _auth(docs[0]).get("mode") == "Optional" else "a policy in Optional mode"


def _page_strict_config_maps(docs: list[dict]) -> str | None:
    auth = _auth(docs[0])
    return None if auth.get("mode") == "Strict" and "configMapSelector" in auth else "a Strict policy that selects ConfigMaps"


def _page_pre_routing(docs: list[dict]) -> str | None:
    phase = ((docs[0].get("spec") or {}).get("traffic") or {}).get("phase")
    return None if phase == "PreRouting" else "a policy in the PreRouting phase"


PAGE_SENTENCES = {
    "I create a Kubernetes secret to store my API key": ("Secret", _page_secret),
    "I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves "
    "and reference the apikey secret": (POLICY, _page_strict_ref),
    "I refer to my API key secret by using label selectors": (POLICY, _page_selector),
    "I use the Optional mode to validate API keys when present, but allow requests without an API key": (POLICY, _page_optional),
    # The page for 1.4.x and main.
    "I create an AgentgatewayPolicy resource that configures API key authentication for all routes that the Gateway serves, "
    "and select the apikey ConfigMap with configMapSelector": (POLICY, _page_strict_config_maps),
    "I reference a single Secret by name with secretRef in the AgentgatewayPolicy": (POLICY, _page_strict_ref),
    "I select multiple Secrets by label with secretSelector in the AgentgatewayPolicy": (POLICY, _page_selector),
    "I use the PreRouting phase to validate API keys before any routing decision is made": (POLICY, _page_pre_routing),
    # The page for 1.0.x to 1.3.x.
    "I create a Kubernetes secret to store my API keys": ("Secret", _page_secret),
    "I refer to API key secrets by using label selectors": (POLICY, _page_selector),
}


def _page_step(sentence: str):
    kind, check = PAGE_SENTENCES[sentence]

    def apply_from_page(world: World, docstring: str | None, request: pytest.FixtureRequest) -> None:
        manifest = rendered(world, docstring, sentence)
        if manifest != docstring:
            # The page's manifest is not applied as the page writes it: the log, the
            # scenario's record (a JUnit property) and the report's run.target.deployment say so.
            note = f"the page's manifest is applied with this deployment's names ({world.target.deployment.change_note()})"
            _log.info("%s: %s", sentence, note)
            if ("deployment", note) not in request.node.user_properties:
                request.node.user_properties.append(("deployment", note))
        docs = check_words(world, sentence, manifest, verb="create" if sentence.startswith("I create") else "apply", kinds={kind})
        wrong = check(docs)
        assert wrong is None, f"the step '{sentence}' needs {wrong}"
        world.apply(manifest)

    return apply_from_page


for _sentence in PAGE_SENTENCES:
    given(_sentence)(when(_sentence)(_page_step(_sentence)))


# --- objects other than policies --------------------------------------------------------

_OBJECTS = (
    r"I (?P<verb>create|update) (?P<what>(?:a|an|the|two) (?:\w+ )?"
    r"(?:Secrets?|ConfigMaps?|HTTPRoutes?|ReferenceGrants?|Gateways?|Services?|ListenerSets?)\b.*)"
)


@given(parsers.re(_OBJECTS))
@when(parsers.re(_OBJECTS))
def create_or_update(world: World, verb: str, what: str, docstring: str | None) -> None:
    step = f"I {verb} {what}"
    manifest = rendered(world, docstring, step)
    docs = check_words(world, step, manifest, verb=verb)
    assert POLICY not in {d.get("kind") for d in docs}, f"the step '{step}' applies a policy: use 'I apply a ... policy'"
    world.apply(manifest)


# --- policies ---------------------------------------------------------------------------

_POLICIES = (
    r"I apply (?:a|an) (?P<qualities>(?:(?:pre-routing|overriding) )*)(?:(?P<mode>Strict|Optional|Permissive) )?"
    r"policy(?P<rest>\b.*)"
)


@given(parsers.re(_POLICIES))
@when(parsers.re(_POLICIES))
def apply_policy(world: World, qualities: str, mode: str | None, rest: str, docstring: str | None) -> None:
    step = f"I apply a {qualities}{mode + ' ' if mode else ''}policy{rest}"
    manifest = rendered(world, docstring, step)
    docs = check_words(world, step, manifest)
    policies = [d for d in docs if d.get("kind") == POLICY]
    assert policies and policies == docs, f"the step '{step}' applies policies only; its manifest holds {[d.get('kind') for d in docs]}"
    first = policies[0]
    if mode is not None:
        modes = [_auth(p).get("mode") for p in policies]
        assert all(m == mode for m in modes), f"the step '{step}' applies {mode} policies; the manifest's modes are {modes}"
    if rest.startswith(" without a mode"):
        assert "mode" not in _auth(first), f"the step '{step}' applies a policy without a mode; the manifest sets one"
    if "pre-routing" in qualities:
        phase = ((first.get("spec") or {}).get("traffic") or {}).get("phase")
        assert phase == "PreRouting", f"the step '{step}' applies a pre-routing policy; the first one's phase is {phase}"
    if "overriding" in qualities:
        inheritance = ((first.get("spec") or {}).get("strategy") or {}).get("inheritance")
        assert inheritance == "Override", f"the step '{step}' applies an overriding policy; the first one's inheritance is {inheritance}"
    world.apply(manifest)


# --- named manifests --------------------------------------------------------------------

def named_manifest(name: str) -> str:
    assert name not in BASE_MANIFESTS, f"the {name!r} manifest is installed by the target, not by a scenario"
    path = MANIFESTS / f"{name}.yaml"
    known = sorted(p.stem for p in MANIFESTS.glob("*.yaml") if p.stem not in BASE_MANIFESTS)
    assert path.is_file(), f"there is no manifest named {name!r}; the suite has: {', '.join(known)}"
    return path.read_text()


@given(parsers.parse('the "{name}" manifest is applied'))
@when(parsers.parse('the "{name}" manifest is applied'))
def apply_named(world: World, name: str) -> None:
    world.apply(world.target.deployment.render(named_manifest(name)))


# --- manifests the target must refuse ---------------------------------------------------

_REFUSED = r"I try to apply (?P<what>(?:a|an) .*\b(?:policy|Secrets?|ConfigMaps?|HTTPRoutes?)\b.*)"


@when(parsers.re(_REFUSED), target_fixture="refusal")
def try_apply(world: World, what: str, docstring: str | None) -> Refused | None:
    step = f"I try to apply {what}"
    manifest = rendered(world, docstring, step)
    check_words(world, step, manifest, verb="update" if what.startswith("an update") else "apply")
    try:
        world.apply(manifest)
    except Refused as exc:
        # Kept redacted from here on: every later message may show it.
        return Refused(world.redact(exc.message), reason=exc.reason, fields=[world.redact(f) for f in exc.fields])
    return None


def _invalid(refusal: Refused | None) -> Refused:
    """The refusal, if it is one for breaking the schema; a failure that says what it was otherwise.

    A target refuses manifests for many reasons (no rights to the kind, an object someone
    else owns, a conflict); none of them shows that the manifest was judged invalid, and a
    gateway that authenticates nothing would pass if they counted.
    """
    assert refusal is not None, "the target accepted a manifest it should have refused"
    assert refusal.invalid, f"the target refused the manifest, but not as invalid ({refusal.reason}): {refusal}"
    return refusal


@then("the manifest is refused")
def manifest_refused_as_invalid(refusal: Refused | None) -> None:
    """For rules whose message the spec does not give: only that it was refused as invalid is checked."""
    _invalid(refusal)


@then(parsers.parse('the manifest is refused with a message containing "{text}"'))
def manifest_refused(refusal: Refused | None, text: str) -> None:
    message = str(_invalid(refusal))
    assert text in message, f"the refusal does not say {text!r}: {message}"


@then(parsers.parse('the manifest is refused as invalid at the field "{field}"'))
def manifest_refused_at_field(refusal: Refused | None, field: str) -> None:
    refused = _invalid(refusal)
    assert field in refused.fields, f"the refusal does not name the field {field} (it names {list(refused.fields) or 'none'}): {refused}"


# --- the rest ---------------------------------------------------------------------------

@given("an agentgateway proxy is set up")
def proxy_is_set_up(world: World) -> None:
    assert world.target.gateway_url, "the target has no gateway address"


@given("the httpbin sample app is installed")
def httpbin_is_installed(world: World) -> None:
    # Also proves that nothing from an earlier scenario is still in force.
    world.request = httpbin(world)
    world.expect(from_httpbin(200), "httpbin to answer through the gateway without any API key")


@given(parsers.parse('I generated the API key "{key}"'))
def generated_key(world: World, key: str) -> None:
    world.api_key = key


@given(parsers.parse('I delete the {kind} "{name}" in namespace "{namespace}"'))
@when(parsers.parse('I delete the {kind} "{name}" in namespace "{namespace}"'))
def delete_object(world: World, kind: str, name: str, namespace: str) -> None:
    world.delete(in_deployment(world, ObjectRef(kind, namespace, name)))


_SECRET_HOLDS_KEY = 'the secret "{name}" in namespace "{namespace}" holds the API key base64 encoded in data.{entry}'


@then(parsers.parse(_SECRET_HOLDS_KEY))
def secret_holds_key(world: World, name: str, namespace: str, entry: str, docstring: str | None = None) -> None:
    """The key the gateway loaded from the entry is the generated one.

    Asked of the target as the gateway holds it (a digest; see Target.loaded_key_digests),
    never read back from the harness's own record or the file it wrote: those would say
    what was sent, and the check could not fail. On a target that cannot show it, the
    step passes without its check and the scenario is marked as not fully checked.
    """
    step = _SECRET_HOLDS_KEY.format(name=name, namespace=namespace, entry=entry)
    if docstring is not None:
        # The page's command, `kubectl get secret NAME -n NAMESPACE -oyaml`, must name this Secret.
        words = docstring.split()
        assert words[:3] == ["kubectl", "get", "secret"] and words[3] == name and words[4:6] == ["-n", namespace], (
            f"the step '{step}' carries a command that does not get that secret: {docstring}")
    assert world.api_key is not None, "no API key was generated in this scenario"
    namespace = world.target.deployment.namespace(namespace)
    try:
        digests = world.target.loaded_key_digests(ObjectRef("Secret", namespace, name))
    except NotShown as exc:
        world.not_checked(step, str(exc))
        return
    assert digests is not None, f"the gateway has no secret {namespace}/{name} to load keys from"
    where = f"data.{entry} of secret {namespace}/{name}"
    assert entry in digests, f"the gateway loaded no key from {where}; it loaded keys from {sorted(digests)}"
    # A bare boolean, so that a failure shows neither digest (each would let a reader test guesses).
    holds_key = digests[entry] == hashlib.sha256(world.api_key.encode()).hexdigest()
    assert holds_key, f"the key the gateway loaded from {where} is not the generated API key"


def in_deployment(world: World, ref: ObjectRef) -> ObjectRef:
    """An object a step names by the docs page's names, as this deployment names it."""
    deployment = world.target.deployment
    name = deployment.gateway(ref.name) if ref.kind == "Gateway" else deployment.namespace(ref.name) if ref.kind == "Namespace" else ref.name
    return ObjectRef(ref.kind, deployment.namespace(ref.namespace), name)


# --- the keys a scenario will use, read from its text before it runs ---------------------

_NAMED = re.compile(r'^the "(?P<name>[^"]+)" manifest is applied$')
_GENERATED = re.compile(r'^I generated the API key "(?P<key>[^"]*)"$')
_WORD = re.compile(r'[^\s"&=;,?:/]+')


def foreseen_keys(steps) -> set[masking.Key]:
    """Every key `steps` configure, generate or use, read from their text (masking.foresee)."""
    stores, keys, words = [], [], []
    for step in steps:
        texts = [step.docstring] if step.docstring else []
        named = _NAMED.match(step.name)
        if named and named["name"] not in BASE_MANIFESTS and (MANIFESTS / f"{named['name']}.yaml").is_file():
            texts.append(named_manifest(named["name"]))
        for text in texts:
            try:
                stores += [d for d in documents(text) if isinstance(d, dict) and d.get("kind") in KEY_STORES]
            except yaml.YAMLError:
                pass  # a manifest the scenario means to be broken
        generated = _GENERATED.match(step.name)
        if generated:
            keys.append(generated["key"])
        words += _WORD.findall(step.name)
    return masking.foresee(stores, keys, words)
