"""The rules of the spec, and hand-written mutants of the reference gateway that break them.

`RULES` lists every rule of the spec (`docs/spec.md`) that a gateway can break,
section by section, in the spec's order. Its key is the anchor `rule-<key>` where the spec
states it (`tests/spec_coverage.py --check` fails unless anchors and rules are one to one).
In sections 2 and 3 a rule is one sentence of the spec: the anchor begins the sentence, and
its text is the sentence itself (`SENTENCE`; `tests/spec_sentences.py` finds it); elsewhere
the text here is the rule's one-line summary for the coverage page. A rule is *covered* when
a mutant breaking exactly that rule is killed by the scenarios tagged for it: each `Mutant`
names its rule and those scenarios (`scenarios`), and `tests/e2e/test_mutants.py` runs only them against the
mutant and requires a failure. A rule with no mutant says why (`RULES[...].unchecked`):
either no outside observer can check it, or the reference gateway lacks the feature.

Each mutant is a textual edit of one module, applied in memory before the gateway starts
(nothing on disk changes). `docs/spec-coverage.md` is generated from this file and the
feature files' tags (`python tests/spec_coverage.py`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

# Why a rule has no mutant.
OUTSIDE = "not observable from outside"
NOT_IN_REFERENCE = "the reference gateway does not implement it, so no mutant can break it"


# The text of a rule that is one sentence of the spec: the sentence itself, found by its anchor.
SENTENCE = None


@dataclass(frozen=True)
class SpecRule:
    section: str  # of the spec
    text: str | None  # SENTENCE (None) for the spec's anchored sentences (tests/spec_sentences.py)
    unchecked: str | None = None  # why no mutant covers it; None when mutants do


@dataclass(frozen=True)
class Mutant:
    name: str
    module: str
    old: str
    new: str
    rule: str  # a key of RULES: the one rule it breaks
    scenarios: tuple[str, ...]  # the scenario IDs tagged for that rule; at least one must fail


def _rules(*items: tuple[str, str, str] | tuple[str, str, str, str]) -> dict[str, SpecRule]:
    return {key: SpecRule(section, text, *rest) for key, section, text, *rest in items}


RULES = _rules(
    # Section 1
    ("mode-values", "1", "`mode` is one of Strict, Optional, Permissive (what each does: section 4); another value is refused"),
    ("mode-default-strict", "1", "a policy without `mode` is Strict (the CRD default; section 9)"),
    ("secret-ref-own-namespace", "1", "`secretRef` has no namespace: only the Secret of that name in the policy's namespace is used"),
    ("secret-ref-kind", "1", "`secretRef` with an empty `group`/`kind` means a core Secret",
     "the spec does not say what another group or kind does, so there is nothing to hold a gateway to"),
    ("selector-all-labels", "1", "`secretSelector` picks a Secret only when its labels include all of `matchLabels`"),
    ("selector-own-namespace", "1", "`secretSelector` picks Secrets in the policy's namespace only"),
    ("configmap-selector-all-labels", "1", "`configMapSelector` picks a ConfigMap only when its labels include all of `matchLabels`"),
    ("configmap-selector-own-namespace", "1", "`configMapSelector` picks ConfigMaps in the policy's namespace only"),
    ("default-location", "1", "without `location`, the key is read from `Authorization` after the prefix `Bearer `"),
    ("one-key-source", "1", "exactly one of `secretRef`, `secretSelector`, `configMapSelector`; otherwise refused with the CRD's message"),
    ("one-location", "1", "exactly one member of `location`; otherwise refused with the CRD's message"),
    ("target-kinds", "1", "targets are Gateways (optionally one listener), ListenerSets, HTTPRoutes or GRPCRoutes (optionally one rule)",
     "the Gateway, ListenerSet and HTTPRoute parts are checked by the precedence rules of section 8; "
     "GRPCRoute targets: " + NOT_IN_REFERENCE),
    ("targets-at-most-16", "1", "at most 16 target refs"),
    ("targets-one-kind", "1", "all target refs are of one kind"),
    ("pre-routing-targets", "1", "`phase: PreRouting` only on Gateway or ListenerSet targets"),
    ("pre-routing-before-routes", "1", "a pre-routing policy runs before route matching: a key-less request is refused even for a host no route serves"),
    ("unknown-fields-refused", "1", ("a policy with a field the CRD does not define (a misspelt `apiKeyAuthentification:`) is refused, "
                                     "as kubectl's strict field validation refuses it, and the last good version stays in force "
                                     "(Kubernetes' rule for the schema the spec lists)")),
    ("expression-location", "1", "`location.expression`: a CEL expression selects the key", NOT_IN_REFERENCE + " (scenario APIKEY-EXT-012 exists)"),
    # Sections 2 and 3: one rule per sentence of the spec.
    # Each key is the anchor `rule-<key>` that begins its sentence in docs/spec.md; the
    # sentence is the rule's text (tests/spec_sentences.py), so it is not written again here.
    ("keys-resolved-by-controller", "2", SENTENCE,
     OUTSIDE + ": which part of a gateway reads the Secrets, and in what form it hands keys to another part, "
     "shows neither in its answers nor in its status"),
    ("secret-type-ignored", "2", SENTENCE),
    ("every-entry-a-key", "2", SENTENCE),
    ("json-entries", "2", SENTENCE),
    ("json-read-like-go", "2", SENTENCE),
    ("raw-value-untrimmed", "2", SENTENCE),
    ("whitespace-entry-invalid", "2", SENTENCE),
    ("configmap-hashed-only", "2", SENTENCE),
    ("bad-entry-skipped", "2", SENTENCE),
    ("missing-secret-closed", "2", SENTENCE),
    ("empty-selector-no-error", "2", SENTENCE),
    ("sources-merged", "2", SENTENCE),
    ("changes-live", "2", SENTENCE),
    ("first-authorization", "3", SENTENCE),
    ("bearer-prefix", "3", SENTENCE),
    ("missing-not-invalid", "3", SENTENCE),
    ("custom-header", "3", SENTENCE),
    ("query-parameter", "3", SENTENCE),
    ("fragment-not-query", "3", SENTENCE),
    ("cookie", "3", SENTENCE),
    ("key-compared-exactly", "3", SENTENCE),
    ("digest-compare", "3", SENTENCE,
     OUTSIDE + ": a matter of timing, measured by the benchmarks rather than asserted by scenarios"),
    ("grpc-detected", "3", SENTENCE),
    # Section 4
    ("enforced", "4", "a policy is enforced at all"),
    ("strict-missing", "4", "Strict refuses a missing key"),
    ("optional-missing", "4", "Optional lets a key-less request through"),
    ("permissive-missing", "4", "Permissive lets a key-less request through"),
    ("optional-invalid", "4", "Optional refuses an invalid key"),
    ("permissive-invalid", "4", "Permissive forwards an invalid key"),
    ("zero-keys", "4", "with zero keys, Strict refuses every key and Optional lets only key-less requests through"),
    ("zero-keys-permissive", "4", "with zero keys, Permissive lets everything through"),
    # Section 5
    ("refusal-status", "5", "a refusal is status 401"),
    ("refusal-body", "5", "a refusal's body is exactly `api key authentication failure: ` and the reason, with no trailing newline"),
    ("refusal-reasons", "5", "a missing key and an invalid one are refused with their own reasons"),
    ("refusal-content-type", "5", "a refusal has `content-type: text/plain`"),
    ("refusal-no-www-authenticate", "5", "a refusal has no `WWW-Authenticate` header"),
    ("grpc-refusal", "5", "a gRPC request is refused with HTTP 200 and `grpc-status: 16`"),
    ("grpc-message-encoded", "5", "the gRPC refusal's `grpc-message` is percent-encoded"),
    ("cors", "5", "with a CORS policy, the preflight is answered before authentication and the 401 carries the CORS headers",
     NOT_IN_REFERENCE + "; the suite has no scenario yet"),
    ("refusal-401-for-proxy-authorization", "5", "a refusal is 401 also when the key is read from `Proxy-Authorization` "
     "(not a forward proxy's 407 with `Proxy-Authenticate`)"),
    # Section 6
    ("valid-credential-removed", "6", "on success the credential is removed before forwarding"),
    ("every-header-value-removed", "6", "a header credential is removed with every value of that header"),
    ("other-parameters-kept", "6", "only the key's query parameter is removed; the others are kept, in order"),
    ("other-cookies-kept", "6", "only the key's cookie is removed; the others are kept"),
    ("proxy-authorization-forwarded", "6", "a `Proxy-Authorization` header no policy reads reaches the backend "
     "(upstream main, #3098; v1.4.1 drops it as a hop-by-hop header)"),
    ("permissive-invalid-untouched", "6", "Permissive forwards an invalid credential untouched"),
    ("missing-nothing-removed", "6", "when no key is presented, nothing is removed (`Authorization: Basic ...` arrives as sent)"),
    ("no-identity-header", "6", "the gateway adds no identity header; entry names are never exposed to the backend"),
    ("metadata-for-policies", "6", "key metadata is available to later policies (`apiKey.<field>`, `apiKey.key` reads `<redacted>`)"),
    ("host-passed", "6", "the client's `Host` is passed through"),
    # Section 7
    ("status-every-policy", "7", "every policy accepted has status, whatever its traffic section holds: "
     "one with only an authorization rule or a transformation too"),
    ("status-valid", "7", "no problems: `Accepted=True` reason `Valid`, `Attached=True` reason `Attached`, one ancestor per Gateway"),
    ("status-partially-valid", "7", "bad entries or a missing Secret: `Accepted=True` reason `PartiallyValid`, with a message naming each problem"),
    ("status-never-a-key", "7", "a status message never contains a key"),
    ("status-pending", "7", "a target that does not exist: `Attached=False` reason `Pending`, on one `StatusSummary` ancestor, "
     "message `Policy is not attached: <Kind> <namespace>/<name> not found` (the ancestor and message as the v1.4.1 controller writes them)"),
    ("status-missing-section", "7", "a Gateway target whose `sectionName` names no listener of that Gateway: `Attached=False` reason "
     "`Pending`, message `Policy is not attached: sectionName \"<section>\" not found in Gateway <namespace>/<name>` "
     "(upstream main, #2998; v1.4.1 reports it Attached while it protects nothing)"),
    # Section 8
    ("more-specific-replaces", "8", "post-routing: a more specific policy (Gateway, listener, route, route rule) replaces a less specific one as a whole"),
    ("listenerset-precedence", "8", "a policy on a ListenerSet applies to its listeners, between the Gateway's and a listener's "
     "(upstream main, #2739; v1.4.1 accepts it and enforces nothing: fail open)"),
    ("override", "8", "`strategy.inheritance: Override` keeps the less specific policy in force"),
    ("pre-routing-most-specific", "8", "pre-routing: the most specific policy wins"),
    ("pre-routing-removes", "8", "a successful pre-routing check removes the credential, so a post-routing policy behind it sees no key"),
    ("same-target-undefined", "8", "two policies on the same target: no defined winner",
     "nothing to check: the product defines no winner, so the suite must not depend on one"),
    # Section 9
    ("standalone-default", "9", "agentgateway's standalone YAML defaults `mode` to optional",
     OUTSIDE + " for this suite: it configures gateways through Kubernetes manifests only"),
    # Section 11: what upstream main changed after v1.4.1
    ("proxy-authorization-key", "11", "`location.header` may name `Proxy-Authorization`; it is read like any other header "
     "(upstream main, #3098; v1.4.1 strips it before any policy runs, so a key there is missing)"),
    # Section 13
    ("metadata-kinds", "13", "metadata values keep their JSON kinds (strings, booleans, nested objects), and numbers compare across int and double"),
    ("api-key-absent", "13", "without a verified key `apiKey` is absent (Optional with no key, Permissive with a wrong one), "
     "so an expression that reads it fails"),
    ("authorization-after-authentication", "13", "authorization runs after API key authentication: a request it refuses gets its 401 first"),
    ("authorization-allow", "13", "with `Allow` rules, a request none of them matches is refused"),
    ("authorization-require", "13", "every `Require` rule must match"),
    ("authorization-deny", "13", "a matching `Deny` rule refuses"),
    ("failed-expression-no-match", "13", "an expression that fails to evaluate does not match: an `Allow` on an absent field refuses, a `Deny` on it does not"),
    ("authorization-all-policies", "13", "the rules of every policy in force apply together"),
    ("authorization-refusal", "13", "an authorization refusal is 403, `content-type: text/plain`, body `authorization failed`"),
    ("transformation-set", "13", "`transformation.request.set` sets a header from CEL after authorization"),
    ("transformation-failed-removes", "13", "a transformation whose value is not a string removes the header, the client's own value included"),
    ("rate-limit-after-authorization", "13", "the rate limit runs after authentication and authorization: a request refused with a 401 or a 403 uses none of it"),
    ("rate-limit-first-entry", "13", "the first `conditional` entry whose condition holds applies, and only it"),
    ("rate-limit-failed-condition", "13", "a rate limit condition that fails to evaluate does not hold"),
    ("rate-limit-fallback", "13", "a rate limit entry without a condition applies to every request that reaches it"),
    ("rate-limit-entry-bucket", "13", "each rate limit entry has a bucket of its own, so a limit on `apiKey.<field>` is a limit per key"),
    ("rate-limit-bucket-size", "13", "a bucket holds `requests + burst` tokens, full at first; each request takes one"),
    ("rate-limit-refusal", "13", "a rate limit refusal is 429, `content-type: text/plain`, body `rate limit exceeded`, with `x-ratelimit-limit` and `x-ratelimit-remaining`"),
)

MUTANTS = [
    # Section 1
    Mutant("any-mode-accepted", "agwmodel.manifests", 'mode = _enum(spec, "mode", path, ("Strict", "Optional", "Permissive"), "Strict")',
           'mode = _str(spec, "mode", path, default="Strict")', "mode-values", ("APIKEY-EXT-095",)),
    Mutant("mode-defaults-to-optional", "agwmodel.manifests", '("Strict", "Optional", "Permissive"), "Strict")',
           '("Strict", "Optional", "Permissive"), "Optional")', "mode-default-strict", ("APIKEY-CORE-013",)),
    Mutant("secret-ref-any-namespace", "agwmodel.entries",
           "isinstance(o, m.Secret) and o.meta.namespace == namespace and o.meta.name == source.name",
           "isinstance(o, m.Secret) and o.meta.name == source.name", "secret-ref-own-namespace", ("APIKEY-CORE-082",)),
    Mutant("selector-any-label", "agwmodel.entries", "o.meta.namespace == namespace and _labels_match(source.match_labels, o.meta.labels)]",
           "o.meta.namespace == namespace and (_labels_match(source.match_labels, o.meta.labels) if wanted is m.ConfigMap "
           "else any(o.meta.labels.get(k) == v for k, v in source.match_labels.items()))]", "selector-all-labels", ("APIKEY-CORE-080",)),
    Mutant("selector-any-namespace", "agwmodel.entries", "if isinstance(o, wanted) and o.meta.namespace == namespace and",
           "if isinstance(o, wanted) and (o.meta.namespace == namespace or wanted is m.Secret) and", "selector-own-namespace", ("APIKEY-CORE-081",)),
    Mutant("configmap-selector-any-label", "agwmodel.entries", "o.meta.namespace == namespace and _labels_match(source.match_labels, o.meta.labels)]",
           "o.meta.namespace == namespace and (_labels_match(source.match_labels, o.meta.labels) if wanted is m.Secret "
           "else any(o.meta.labels.get(k) == v for k, v in source.match_labels.items()))]", "configmap-selector-all-labels", ("APIKEY-EXT-022",)),
    Mutant("configmap-selector-any-namespace", "agwmodel.entries", "if isinstance(o, wanted) and o.meta.namespace == namespace and",
           "if isinstance(o, wanted) and (o.meta.namespace == namespace or wanted is m.ConfigMap) and", "configmap-selector-own-namespace",
           ("APIKEY-EXT-022",)),
    Mutant("default-location-custom", "agwmodel.model", 'DEFAULT_LOCATION = KeyLocation("header", "authorization", "Bearer ")',
           'DEFAULT_LOCATION = KeyLocation("header", "x-api-key", "Bearer ")', "default-location", ("APIKEY-DOC-001", "APIKEY-CORE-010")),
    Mutant("sources-not-exclusive", "agwmodel.manifests", 'which = _exactly_one(spec, ("secretRef", "secretSelector", "configMapSelector"), path)',
           'which = next((n for n in ("secretRef", "secretSelector", "configMapSelector") if spec.get(n) is not None), "secretRef")',
           "one-key-source", ("APIKEY-EXT-090",)),
    Mutant("locations-not-exclusive", "agwmodel.manifests", "member = _exactly_one(loc, tuple(CARRIERS), lpath)",
           'member = next((n for n in CARRIERS if loc.get(n) is not None), "header")',
           "one-location", ("APIKEY-EXT-091",)),
    Mutant("targets-unlimited", "agwmodel.manifests", "if len(refs) > 16:", "if len(refs) > 64:", "targets-at-most-16", ("APIKEY-EXT-094",)),
    Mutant("targets-mixed-kinds", "agwmodel.manifests", "if len({t.kind for t in targets}) > 1:", "if False:", "targets-one-kind", ("APIKEY-EXT-093",)),
    Mutant("pre-routing-on-routes", "agwmodel.manifests", 'if phase == "PreRouting" and targets and targets[0].kind not in ("Gateway", "ListenerSet"):',
           "if False:", "pre-routing-targets", ("APIKEY-EXT-092",)),
    Mutant("pre-routing-after-route-match", "reference.proxy", "        if view.pre_policy is not None:",
           '        if view.pre_policy is not None and routing.select(view.candidates, host, scope["method"], scope["path"], {}) is not None:',
           "pre-routing-before-routes", ("APIKEY-EXT-054", "APIKEY-DOC-108", "APIKEY-DOC-205")),
    Mutant("unknown-fields-ignored", "agwmodel.manifests", '    _unknown_fields(doc, _POLICY_FIELDS, "")', "    pass",
           "unknown-fields-refused", ("APIKEY-EXT-096",)),
    # Section 2 (each rule is one sentence of the spec, in its order)
    Mutant("only-page-type-secrets", "agwmodel.manifests", "    return m.Secret(meta, data)",
           '    return m.Secret(meta, data if doc.get("type") == "extauth.solo.io/apikey" else {})', "secret-type-ignored", ("APIKEY-CORE-083",)),
    Mutant("page-type-secrets-ignored", "agwmodel.manifests", "    return m.Secret(meta, data)",
           '    return m.Secret(meta, {} if doc.get("type") == "extauth.solo.io/apikey" else data)', "secret-type-ignored", ("APIKEY-DOC-001",)),
    Mutant("first-entry-only", "agwmodel.entries", "        for name in sorted(store.data):\n", "        for name in sorted(store.data)[:1]:\n",
           "every-entry-a-key", ("APIKEY-CORE-084", "APIKEY-CORE-034")),
    Mutant("data-entries-ignored", "agwmodel.manifests", "            data[key] = base64.b64decode(value, validate=True)",
           "            base64.b64decode(value, validate=True)", "every-entry-a-key", ("APIKEY-CORE-034", "APIKEY-CORE-020")),
    Mutant("string-data-ignored", "agwmodel.manifests", "        data[key] = value.encode()", "        pass",
           "every-entry-a-key", ("APIKEY-CORE-084",)),
    Mutant("entry-name-is-a-key", "agwmodel.entries", "        for name in sorted(store.data):\n",
           '        for name in sorted(store.data):\n            keys.append(Found(Entry(name, ""), store, name))\n',
           "every-entry-a-key", ("APIKEY-CORE-084", "APIKEY-CORE-063")),
    Mutant("entry-name-to-backend", "reference.proxy", "            return (*carrier.remove(headers, query), decision.entry)",
           "            stripped, rest = carrier.remove(headers, query)\n"
           '            return stripped + [(b"x-api-key-entry", policy.entry_names.get(decision.entry.digest, "").encode())], rest, decision.entry',
           "every-entry-a-key", ("APIKEY-CORE-063",)),
    Mutant("json-detected-untrimmed", "agwmodel.entries", '    if not trimmed.startswith("{"):', '    if not value.startswith("{"):',
           "json-entries", ("APIKEY-EXT-021",)),
    Mutant("json-read-as-raw", "agwmodel.entries", '    if not trimmed.startswith("{"):', "    if True:", "json-entries",
           ("APIKEY-EXT-021",)),
    Mutant("hash-hex-lowercase-only", "agwmodel.entries", 'r"sha256:[0-9a-fA-F]{64}"', 'r"sha256:[0-9a-f]{64}"', "json-entries", ("APIKEY-EXT-021",)),
    Mutant("json-metadata-required", "agwmodel.entries", "    if metadata is not None and not isinstance(metadata, dict):\n",
           "    if not isinstance(metadata, dict):\n", "json-entries", ("APIKEY-EXT-021",)),
    Mutant("json-names-case-sensitive", "agwmodel.entries", "_FIELDS.get(name.lower())",
           '{"key": "key", "keyHash": "keyHash", "metadata": "metadata"}.get(name)', "json-read-like-go", ("APIKEY-EXT-023",)),
    Mutant("json-empty-field-counts-as-set", "agwmodel.entries", '            if field == "key":\n                key = _go_string(value)',
           '            if value == "":\n                raise ValueError("set but empty")\n            if field == "key":\n                key = _go_string(value)',
           "json-read-like-go", ("APIKEY-EXT-023",)),
    Mutant("json-null-field-refused", "agwmodel.entries", "            if value is None:\n                continue\n", "",
           "json-read-like-go", ("APIKEY-EXT-023",)),
    Mutant("json-null-metadata-refused", "agwmodel.entries", "            metadata = value\n",
           '            metadata = "null" if value is None else value\n', "json-read-like-go", ("APIKEY-EXT-023",)),
    Mutant("json-unknown-fields-refused", "agwmodel.entries", '        elif field == "metadata":\n            metadata = value\n',
           '        elif field == "metadata":\n            metadata = value\n        else:\n            raise ValueError("unknown field")\n',
           "json-read-like-go", ("APIKEY-EXT-021",)),
    Mutant("raw-value-trimmed", "agwmodel.entries", '        key, key_hash, metadata = value, "", None', '        key, key_hash, metadata = trimmed, "", None',
           "raw-value-untrimmed", ("APIKEY-CORE-020",)),
    Mutant("raw-value-newline-dropped", "agwmodel.entries", '        key, key_hash, metadata = value, "", None',
           '        key, key_hash, metadata = value.removesuffix("\\n"), "", None', "raw-value-untrimmed", ("APIKEY-CORE-020",)),
    Mutant("whitespace-entry-a-key", "agwmodel.entries", '    if not trimmed:\n        raise InvalidEntry("empty value")',
           '    if not value:\n        raise InvalidEntry("empty value")', "whitespace-entry-invalid", ("APIKEY-EXT-024",)),
    Mutant("configmap-accepts-raw", "agwmodel.entries", '        key, key_hash, metadata = value, "", None',
           '        key, key_hash, metadata = value, "", None\n        if from_config_map:\n            return Entry(value, "")',
           "configmap-hashed-only", ("APIKEY-EXT-022", "APIKEY-DOC-103")),
    Mutant("configmap-accepts-json-key", "agwmodel.entries", "    if from_config_map and key:",
           '    if from_config_map and key and not trimmed.startswith("{"):', "configmap-hashed-only",
           ("APIKEY-EXT-022", "APIKEY-DOC-103", "APIKEY-DOC-104")),
    Mutant("bad-entry-poisons-source", "agwmodel.entries", 'problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name}: {exc}")',
           'problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name}: {exc}"); keys.clear(); break',
           "bad-entry-skipped", ("APIKEY-EXT-032", "APIKEY-EXT-041")),
    Mutant("both-key-and-hash-accepted", "agwmodel.entries", '    if (key == "") == (key_hash == ""):\n', '    if key == "" and key_hash == "":\n',
           "bad-entry-skipped", ("APIKEY-EXT-032",)),
    Mutant("hash-prefix-optional", "agwmodel.entries", 'r"sha256:[0-9a-fA-F]{64}"', 'r"(?:sha256:)?[0-9a-fA-F]{64}"',
           "bad-entry-skipped", ("APIKEY-EXT-032",)),
    Mutant("bad-json-taken-raw", "agwmodel.entries", "            raise InvalidEntry(reason) from None\n",
           '            return Entry(value, "")\n', "bad-entry-skipped", ("APIKEY-EXT-032",)),
    Mutant("bad-metadata-accepted", "agwmodel.entries", "    if metadata is not None and not isinstance(metadata, dict):\n", "    if False:\n",
           "bad-entry-skipped", ("APIKEY-EXT-032",)),
    Mutant("invalid-entry-not-named", "agwmodel.entries", 'problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name}: {exc}")',
           'problems.append(f"{_kind(store)} {store.meta.name} contains an invalid key: {exc}")', "bad-entry-skipped", ("APIKEY-EXT-041",)),
    Mutant("invalid-entry-value-shown", "agwmodel.entries", 'problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name}: {exc}")',
           'problems.append(f"{_kind(store)} {store.meta.name} contains invalid key {name} ({value!r}): {exc}")', "bad-entry-skipped",
           ("APIKEY-EXT-041",)),
    Mutant("missing-secret-fails-open", "reference.config", "    found, problems = entries.policy_keys(auth, policy.meta.namespace, stores)\n",
           "    found, problems = entries.policy_keys(auth, policy.meta.namespace, stores)\n"
           '    if any(p.endswith("not found") for p in problems):\n'
           '        return AuthPolicy(__import__("dataclasses").replace(policy, api_key=__import__("dataclasses").replace(auth, mode="Permissive")), KeySet(), tuple(problems))\n',
           "missing-secret-closed", ("APIKEY-EXT-030",)),
    Mutant("missing-secret-namespace-unsaid", "agwmodel.entries", '[] if found else [f"secret {namespace}/{source.name} not found"]',
           '[] if found else [f"secret {source.name} not found"]', "missing-secret-closed", ("APIKEY-EXT-042",)),
    Mutant("empty-selector-reported", "agwmodel.entries", "    return selected, []",
           '    return selected, [] if selected else [f"no {wanted.__name__} matches the selector"]', "empty-selector-no-error", ("APIKEY-EXT-044",)),
    Mutant("empty-selector-takes-namespace", "agwmodel.entries", "    return selected, []",
           "    return selected or [o for o in objects if isinstance(o, wanted) and o.meta.namespace == namespace], []",
           "empty-selector-no-error", ("APIKEY-EXT-031",)),
    Mutant("first-selected-secret-only", "agwmodel.entries", "    return selected, []", "    return selected[:1], []",
           "sources-merged", ("APIKEY-CORE-084", "APIKEY-CORE-033")),
    Mutant("duplicate-keys-dropped", "reference.keys", "        return cls({e.digest: e for e in entries})",
           "        entries = list(entries)\n"
           '        twice = {d for d, n in __import__("collections").Counter(e.digest for e in entries).items() if n > 1}\n'
           "        return cls({e.digest: e for e in entries if e.digest not in twice})",
           "sources-merged", ("APIKEY-CORE-033",)),
    Mutant("key-changes-ignored", "reference.config", "    return AuthPolicy(policy, KeySet.merge(accepted), tuple(problems), names)",
           '    return AuthPolicy(policy, globals().setdefault("_first_keys", {}).setdefault((policy.meta.namespace, policy.meta.name, repr(auth.source)), '
           "KeySet.merge(accepted)), tuple(problems), names)", "changes-live", ("APIKEY-CORE-034", "APIKEY-EXT-030", "APIKEY-CORE-033")),
    Mutant("configmap-changes-ignored", "reference.config", "    return AuthPolicy(policy, KeySet.merge(accepted), tuple(problems), names)",
           '    if auth.source.kind == "configMapSelector":\n'
           '        return AuthPolicy(policy, globals().setdefault("_first_keys", {}).setdefault((policy.meta.namespace, policy.meta.name, repr(auth.source)), '
           "KeySet.merge(accepted)), tuple(problems), names)\n"
           "    return AuthPolicy(policy, KeySet.merge(accepted), tuple(problems), names)", "changes-live", ("APIKEY-EXT-036",)),
    # A policy edited in place keeps its first version until it is deleted.
    Mutant("policy-updates-ignored", "reference.config",
           '    auth_policies = [_load_keys(p, index) for p in index.all("AgentgatewayPolicy") if p.api_key is not None]',
           '    first = globals().setdefault("_first_versions", {})\n'
           '    live = {(p.meta.namespace, p.meta.name): p for p in index.all("AgentgatewayPolicy")}\n'
           "    for gone in set(first) - set(live):\n"
           "        del first[gone]\n"
           "    auth_policies = [_load_keys(first.setdefault(k, p), index) for k, p in live.items() if first.get(k, p).api_key is not None]",
           "changes-live", ("APIKEY-CORE-035", "APIKEY-EXT-014")),
    # Section 3 (each rule is one sentence of the spec, in its order)
    Mutant("last-header-counts", "agwmodel.carriers", "for key, value in headers:\n        if key == name:\n            return value",
           "for key, value in reversed(headers):\n        if key == name:\n            return value", "first-authorization", ("APIKEY-CORE-062",)),
    Mutant("prefix-case-sensitive", "agwmodel.carriers", "if value[: len(prefix)].lower() != prefix.lower():",
           "if value[: len(prefix)] != prefix:", "bearer-prefix", ("APIKEY-CORE-002",)),
    Mutant("presented-key-trimmed", "agwmodel.carriers", "return value[len(prefix) :]", "return value[len(prefix) :].strip()",
           "bearer-prefix", ("APIKEY-CORE-070",)),
    Mutant("no-header-is-an-empty-key", "agwmodel.carriers",
           "        if value is None or not _visible_ascii(value):\n            return None\n",
           '        if value is None:\n            return b""\n        if not _visible_ascii(value):\n            return None\n',
           "missing-not-invalid", ("APIKEY-CORE-001",)),
    Mutant("non-ascii-accepted", "agwmodel.carriers", "if value is None or not _visible_ascii(value):", "if value is None:",
           "missing-not-invalid", ("APIKEY-CORE-070",)),
    Mutant("prefix-optional", "agwmodel.carriers", "if value[: len(prefix)].lower() != prefix.lower():\n                return None",
           "if value[: len(prefix)].lower() != prefix.lower():\n                return value", "missing-not-invalid", ("APIKEY-CORE-003", "APIKEY-CORE-004")),
    # `Bearer` followed by the key with no space between them: the space taken as optional.
    Mutant("prefix-space-optional", "agwmodel.carriers",
           "            if value[: len(prefix)].lower() != prefix.lower():\n                return None\n            return value[len(prefix) :]",
           '            bare = prefix.rstrip(b" ")\n'
           "            if value[: len(bare)].lower() != bare.lower():\n                return None\n"
           "            rest = value[len(bare) :]\n"
           '            return rest[1:] if bare != prefix and rest[:1] == b" " else rest',
           "missing-not-invalid", ("APIKEY-CORE-003",)),
    Mutant("custom-header-needs-bearer", "agwmodel.manifests", '_str(item, "prefix", f"{lpath}{member}.", default="")',
           '_str(item, "prefix", f"{lpath}{member}.", default="Bearer ")', "custom-header", ("APIKEY-EXT-011",)),
    Mutant("custom-header-name-ignored", "agwmodel.manifests", "return m.KeyLocation(member, name, prefix)",
           'return m.KeyLocation(member, "authorization" if member == "header" else name, prefix)',
           "custom-header", ("APIKEY-EXT-011",)),
    Mutant("last-query-parameter-counts", "agwmodel.carriers", "for key, value in _query_pairs(query):",
           "for key, value in reversed(_query_pairs(query)):", "query-parameter", ("APIKEY-EXT-076",)),
    Mutant("query-name-case-insensitive", "agwmodel.carriers", "if _decode(key) == name:", "if _decode(key).lower() == name.lower():",
           "query-parameter", ("APIKEY-EXT-060",)),
    Mutant("query-value-not-decoded", "agwmodel.carriers", "                return _decode(value)", "                return value",
           "query-parameter", ("APIKEY-EXT-075",)),
    Mutant("query-plus-not-space", "agwmodel.carriers", "                return _decode(value)", "                return unquote_to_bytes(value)",
           "query-parameter", ("APIKEY-EXT-075",)),
    # The fragment is separated by llhttp before our code sees the request; this mutant
    # reads the query from the raw request target, fragment and all.
    Mutant("fragment-read-as-query", "reference.http1", "        self._in_head = False\n        super().on_headers_complete()\n",
           "        self._in_head = False\n        super().on_headers_complete()\n"
           '        if b"#" in self.url and "query_string" in self.scope:\n'
           '            self.scope["query_string"] = self.url.partition(b"?")[2]\n',
           "fragment-not-query", ("APIKEY-EXT-078",)),
    Mutant("cookie-not-read", "agwmodel.carriers", "        for key, value in _cookies(headers):\n            if key == name:\n                return value",
           "        for key, value in _cookies(headers):\n            if key == name:\n                return None", "cookie", ("APIKEY-EXT-011", "APIKEY-EXT-061")),
    Mutant("cookie-header-not-ascii-read", "agwmodel.carriers", 'if key != b"cookie" or not _visible_ascii(value):',
           'if key != b"cookie":', "cookie", ("APIKEY-EXT-077",)),
    Mutant("cookie-name-untrimmed", "agwmodel.carriers", 'name = name.strip(b" \\t")', "name = name",
           "cookie", ("APIKEY-EXT-077",)),
    Mutant("cookie-value-untrimmed", "agwmodel.carriers", 'found.append((name, val.strip(b" \\t")))', "found.append((name, val))",
           "cookie", ("APIKEY-EXT-077",)),
    Mutant("keys-case-insensitive", "reference.keys", "return hashlib.sha256(key).digest()", "return hashlib.sha256(key.lower()).digest()",
           "key-compared-exactly", ("APIKEY-CORE-073", "APIKEY-CORE-070")),
    Mutant("key-compared-by-prefix", "reference.keys", "return hashlib.sha256(key).digest()", "return hashlib.sha256(key[:32]).digest()",
           "key-compared-exactly", ("APIKEY-CORE-074",)),
    Mutant("grpc-case-sensitive", "reference.proxy", 'media = value.split(b";")[0].strip(b" \\t").lower()',
           'media = value.split(b";")[0].strip(b" \\t")', "grpc-detected", ("APIKEY-EXT-079",)),
    Mutant("grpc-parameters-kept", "reference.proxy", 'media = value.split(b";")[0].strip(b" \\t").lower()',
           'media = value.strip(b" \\t").lower()', "grpc-detected", ("APIKEY-EXT-079",)),
    Mutant("grpc-subtype-not-grpc", "reference.proxy", 'return media == b"application/grpc" or media.startswith(b"application/grpc+")',
           'return media == b"application/grpc"', "grpc-detected", ("APIKEY-EXT-079",)),
    Mutant("grpc-web-is-grpc", "reference.proxy", 'media.startswith(b"application/grpc+")', 'media.startswith(b"application/grpc")',
           "grpc-detected", ("APIKEY-EXT-079",)),
    # Section 4
    Mutant("auth-disabled", "reference.proxy", "decision = decide(", "decision = __import__('reference.decision').decision.Decision(True) or decide(",
           "enforced", ("APIKEY-DOC-001", "APIKEY-CORE-010", "APIKEY-DOC-101", "APIKEY-DOC-201")),
    Mutant("strict-allows-missing", "reference.decision", 'if mode == "Strict":\n            return Decision(False, MISSING)',
           'if mode == "Strict":\n            return Decision(True)', "strict-missing", ("APIKEY-CORE-010", "APIKEY-DOC-001")),
    Mutant("optional-refuses-missing", "reference.decision", 'if mode == "Strict":\n            return Decision(False, MISSING)',
           'if mode != "Permissive":\n            return Decision(False, MISSING)', "optional-missing",
           ("APIKEY-CORE-010", "APIKEY-DOC-004", "APIKEY-DOC-109", "APIKEY-DOC-206")),
    Mutant("permissive-refuses-missing", "reference.decision", 'if mode == "Strict":\n            return Decision(False, MISSING)',
           'if mode != "Optional":\n            return Decision(False, MISSING)', "permissive-missing", ("APIKEY-CORE-010",)),
    Mutant("optional-accepts-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode in ("Permissive", "Optional"):\n        return Decision(True)', "optional-invalid", ("APIKEY-CORE-010", "APIKEY-DOC-004")),
    Mutant("permissive-refuses-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Never":\n        return Decision(True)', "permissive-invalid", ("APIKEY-CORE-010", "APIKEY-EXT-011")),
    Mutant("zero-keys-fail-open", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Permissive" or not len(keys):\n        return Decision(True)', "zero-keys", ("APIKEY-EXT-031",)),
    Mutant("permissive-zero-keys-refuses", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Permissive" and len(keys):\n        return Decision(True)', "zero-keys-permissive", ("APIKEY-EXT-014",)),
    # Section 5
    Mutant("refusal-status-403", "reference.proxy", "    await _plain(send, 401, message.encode())", "    await _plain(send, 403, message.encode())",
           "refusal-status", ("APIKEY-DOC-001", "APIKEY-CORE-001")),
    Mutant("proxy-authorization-407", "reference.proxy", "    await _plain(send, 401, message.encode())",
           "    proxy = any(k == b'proxy-authorization' for k, _ in headers)\n"
           "    await _plain(send, 407 if proxy else 401, message.encode(), [(b'proxy-authenticate', b'Bearer')] if proxy else [])",
           "refusal-401-for-proxy-authorization", ("APIKEY-EXT-102",)),
    Mutant("refusal-body-newline", "reference.proxy", "    await _plain(send, 401, message.encode())",
           '    await _plain(send, 401, message.encode() + b"\\n")', "refusal-body", ("APIKEY-DOC-001", "APIKEY-CORE-001")),
    Mutant("invalid-reported-as-missing", "reference.decision", "return Decision(False, INVALID)", "return Decision(False, MISSING)",
           "refusal-reasons", ("APIKEY-CORE-001", "APIKEY-CORE-010")),
    Mutant("missing-reported-as-invalid", "reference.decision", "return Decision(False, MISSING)", "return Decision(False, INVALID)",
           "refusal-reasons", ("APIKEY-CORE-001", "APIKEY-CORE-010")),
    Mutant("refusal-content-type-charset", "reference.proxy", '    headers = [(b"content-type", b"text/plain"),',
           '    headers = [(b"content-type", b"text/plain; charset=utf-8"),', "refusal-content-type", ("APIKEY-CORE-001",)),
    Mutant("refusal-www-authenticate", "reference.proxy", "    await _plain(send, 401, message.encode())",
           '    await _plain(send, 401, message.encode(), [(b"www-authenticate", b"APIKey")])', "refusal-no-www-authenticate", ("APIKEY-CORE-001",)),
    Mutant("grpc-refused-as-http", "reference.proxy", "    if is_grpc(headers):\n", "    if False:\n",
           "grpc-refusal", ("APIKEY-EXT-072",)),
    Mutant("grpc-message-raw", "reference.proxy", "(b\"grpc-message\", grpc_message(message))", "(b\"grpc-message\", message.encode())",
           "grpc-message-encoded", ("APIKEY-EXT-079",)),
    # Section 6
    Mutant("forward-credential", "reference.decision", "Decision(True, strip=True, entry=entry)", "Decision(True, strip=False, entry=entry)",
           "valid-credential-removed", ("APIKEY-DOC-001", "APIKEY-CORE-010", "APIKEY-EXT-011")),
    Mutant("strip-first-header-only", "agwmodel.carriers", "return [(k, v) for k, v in headers if k != name], query",
           "return (lambda i: headers[:i] + headers[i + 1 :])(next((i for i, (k, _) in enumerate(headers) if k == name), len(headers))), query",
           "every-header-value-removed", ("APIKEY-CORE-062",)),
    Mutant("proxy-authorization-hop-by-hop", "reference.proxy", '    b"proxy-authenticate",\n', '    b"proxy-authenticate",\n    b"proxy-authorization",\n',
           "proxy-authorization-forwarded", ("APIKEY-EXT-103",)),
    Mutant("query-stripped-whole", "agwmodel.carriers", 'return headers, b"&".join(kept)', 'return headers, b""',
           "other-parameters-kept", ("APIKEY-EXT-060",)),
    Mutant("query-order-changed", "agwmodel.carriers", 'return headers, b"&".join(kept)', 'return headers, b"&".join(sorted(kept))',
           "other-parameters-kept", ("APIKEY-EXT-060",)),
    Mutant("cookies-stripped-whole", "agwmodel.carriers", "        if kept:\n            out.append((b\"cookie\", b\"; \".join(kept)))",
           "        pass", "other-cookies-kept", ("APIKEY-EXT-061",)),
    Mutant("permissive-strips-invalid", "reference.decision", 'if mode == "Permissive":\n        return Decision(True)',
           'if mode == "Permissive":\n        return Decision(True, strip=True)', "permissive-invalid-untouched", ("APIKEY-CORE-010", "APIKEY-EXT-011")),
    Mutant("missing-credential-stripped", "reference.decision", "            return Decision(False, MISSING)\n        return Decision(True)\n",
           "            return Decision(False, MISSING)\n        return Decision(True, strip=True)\n", "missing-nothing-removed", ("APIKEY-CORE-004",)),
    Mutant("identity-header-added", "reference.proxy", "            return (*carrier.remove(headers, query), decision.entry)",
           "            stripped, rest = carrier.remove(headers, query)\n"
           '            return stripped + [(b"x-api-key-id", decision.entry.digest.hex()[:12].encode())], rest, decision.entry',
           "no-identity-header", ("APIKEY-CORE-063",)),
    Mutant("host-rewritten", "reference.proxy", "upstream_headers = [(k, v) for k, v in headers if k not in drop]",
           'upstream_headers = [(k, v) for k, v in headers if k not in drop and k != b"host"]', "host-passed", ("APIKEY-DOC-001", "APIKEY-CORE-062")),
    # Section 7
    Mutant("valid-reason-wrong", "reference.config", '_condition("Accepted", True, "Valid", "Policy accepted")',
           '_condition("Accepted", True, "Accepted", "Policy accepted")', "status-valid", ("APIKEY-EXT-040",)),
    Mutant("attached-false", "reference.config", '_condition("Attached", True, "Attached", "Attached to all targets")',
           '_condition("Attached", False, "Attached", "Attached to all targets")', "status-valid", ("APIKEY-EXT-040",)),
    Mutant("route-policy-ancestor-is-route", "reference.config",
           'ref = {"group": m.GATEWAY_GROUP, "kind": "Gateway", "namespace": gns, "name": gname}',
           'ref = {"group": m.GATEWAY_GROUP, "kind": target.kind, "namespace": gns, "name": gname if target.kind == "Gateway" else target.name}',
           "status-valid", ("APIKEY-EXT-045",)),
    Mutant("status-always-valid", "reference.config", "        if problems:\n", "        if False:\n",
           "status-partially-valid", ("APIKEY-EXT-041", "APIKEY-EXT-042", "APIKEY-DOC-104")),
    Mutant("missing-secret-not-reported", "agwmodel.entries", '[] if found else [f"secret {namespace}/{source.name} not found"]',
           "[]", "status-partially-valid", ("APIKEY-EXT-042",)),
    Mutant("status-api-key-policies-only", "reference.config",
           '    for policy in index.all("AgentgatewayPolicy"):\n        ns = policy.meta.namespace\n',
           "    for policy in [ap.policy for ap in auth_policies]:\n        ns = policy.meta.namespace\n",
           "status-every-policy", ("APIKEY-EXT-118",)),
    Mutant("status-leaks-json-key", "agwmodel.entries", 'contains invalid key {name}: {exc}")',
           "contains invalid key {name}: {exc} {__import__('json').loads(value).get('key', '') "
           "if str(exc).startswith('metadata') else ''}\")", "status-never-a-key", ("APIKEY-EXT-041",)),
    Mutant("pending-reason-wrong", "reference.config", '_condition("Attached", False, "Pending",', '_condition("Attached", False, "NotFound",',
           "status-pending", ("APIKEY-EXT-043",)),
    Mutant("pending-message-vague", "reference.config", '("is not attached to any Gateway" if exists else "not found")',
           '("is not attached to any Gateway" if exists else "unresolved")', "status-pending", ("APIKEY-EXT-043",)),
    Mutant("missing-section-attached", "reference.config",
           "if target.section_name is None or any(lst.name == target.section_name for lst in gateway.listeners):", "if True:",
           "status-missing-section", ("APIKEY-EXT-104",)),
    # Section 8
    Mutant("least-specific-wins", "reference.config", "        winner = policy\n    return winner",
           "        winner = winner or policy\n    return winner", "more-specific-replaces", ("APIKEY-EXT-052", "APIKEY-EXT-056", "APIKEY-EXT-057")),
    Mutant("listener-below-gateway", "reference.config",
           '[("Gateway", gns, gname, None), ("Gateway", gns, gname, listener.name)]))',
           '[("Gateway", gns, gname, listener.name), ("Gateway", gns, gname, None)]))',
           "more-specific-replaces", ("APIKEY-EXT-056",)),
    Mutant("listenerset-not-enforced", "reference.config",
           '[("Gateway", gns, gname, None), ("ListenerSet", lns, lname, None), ("ListenerSet", lns, lname, listener.name)]))',
           '[("Gateway", gns, gname, None)]))', "listenerset-precedence", ("APIKEY-EXT-105",)),
    Mutant("listenerset-below-gateway", "reference.config",
           '[("Gateway", gns, gname, None), ("ListenerSet", lns, lname, None), ("ListenerSet", lns, lname, listener.name)]))',
           '[("ListenerSet", lns, lname, None), ("Gateway", gns, gname, None), ("ListenerSet", lns, lname, listener.name)]))',
           "listenerset-precedence", ("APIKEY-EXT-105",)),
    Mutant("route-below-rule", "reference.config", "_effective([*gateway_levels, route_level, rule_level])",
           "_effective([*gateway_levels, rule_level, route_level])", "more-specific-replaces", ("APIKEY-EXT-057",)),
    Mutant("route-below-gateway", "reference.config", "_effective([*gateway_levels, route_level, rule_level])",
           "_effective([route_level, *gateway_levels, rule_level])", "more-specific-replaces", ("APIKEY-EXT-052",)),
    Mutant("override-ignored", "reference.config", 'if policy.policy.inheritance == "Override":', "if False:",
           "override", ("APIKEY-EXT-053",)),
    Mutant("pre-routing-least-specific", "reference.config",
           '[("Gateway", gns, gname, listener.name), ("Gateway", gns, gname, None)],\n',
           '[("Gateway", gns, gname, None), ("Gateway", gns, gname, listener.name)],\n',
           "pre-routing-most-specific", ("APIKEY-EXT-058",)),
    Mutant("pre-routing-keeps-credential", "reference.proxy",
           "            outcome = await self._authenticate(view.pre_policy, headers, query, send, None)\n            if outcome is None:\n                return\n"
           "            headers, query, verified = outcome\n",
           "            outcome = await self._authenticate(view.pre_policy, headers, query, send, None)\n            if outcome is None:\n                return\n"
           "            verified = outcome[2]\n",
           "pre-routing-removes", ("APIKEY-EXT-055",)),
    # Section 6: the metadata later policies read
    Mutant("metadata-not-flattened", "reference.cel", 'return {**_as_struct(dict(metadata or {})), "key": REDACTED}',
           'return {"metadata": _as_struct(dict(metadata or {})), "key": REDACTED}', "metadata-for-policies", ("APIKEY-EXT-110", "APIKEY-EXT-113")),
    Mutant("api-key-key-not-redacted", "reference.cel", 'REDACTED = "<redacted>"', 'REDACTED = "sha256"',
           "metadata-for-policies", ("APIKEY-EXT-113", "APIKEY-EXT-114")),
    # Section 11: what upstream main changed after v1.4.1
    Mutant("proxy-authorization-stripped-early", "agwmodel.carriers",
           'value = _first_header(headers, self.name.lower().encode("latin-1"))',
           'value = None if self.name.lower() == "proxy-authorization" else _first_header(headers, self.name.lower().encode("latin-1"))',
           "proxy-authorization-key", ("APIKEY-EXT-102",)),
    # Section 13: a key's metadata in later policies
    Mutant("numbers-as-strings", "reference.cel", "        return float(value)\n", "        return str(value)\n",
           "metadata-kinds", ("APIKEY-EXT-111", "APIKEY-EXT-116")),
    Mutant("api-key-empty-without-key", "reference.proxy",
           "cel.api_key(verified.metadata) if verified is not None else None", "cel.api_key(verified.metadata if verified is not None else {})",
           "api-key-absent", ("APIKEY-EXT-113", "APIKEY-EXT-115")),
    Mutant("authorization-before-authentication", "reference.proxy",
           "        if policy is not None:\n            outcome = await self._authenticate(policy, headers, query, send, route)\n",
           "        if policy is not None and authorization.allowed(view.downstream.get(rule_key, NOTHING_DOWNSTREAM).rule_sets, "
           "cel.variables(None, {})):\n            outcome = await self._authenticate(policy, headers, query, send, route)\n",
           "authorization-after-authentication", ("APIKEY-EXT-110",)),
    Mutant("allow-rules-default-allow", "reference.authorization", '    return not of["Allow"]', "    return True",
           "authorization-allow", ("APIKEY-EXT-110", "APIKEY-EXT-115", "APIKEY-EXT-116")),
    Mutant("require-any", "reference.authorization", 'if not all(_matches(p, variables) for p in of["Require"]):',
           'if of["Require"] and not any(_matches(p, variables) for p in of["Require"]):', "authorization-require", ("APIKEY-EXT-111",)),
    Mutant("deny-ignored", "reference.authorization", 'if any(_matches(p, variables) for p in of["Deny"]):', "if False:",
           "authorization-deny", ("APIKEY-EXT-112",)),
    Mutant("failed-expression-matches", "reference.authorization", "    except CelError:\n        return False\n",
           "    except CelError:\n        return True\n", "failed-expression-no-match", ("APIKEY-EXT-112", "APIKEY-EXT-115")),
    Mutant("most-specific-rules-only", "reference.config",
           "rule_sets = tuple(rs for p in policies if (rs := compiled[(p.meta.namespace, p.meta.name)][0]) is not None)\n",
           "rule_sets = tuple(rs for p in policies if (rs := compiled[(p.meta.namespace, p.meta.name)][0]) is not None)[-1:]\n",
           "authorization-all-policies", ("APIKEY-EXT-117",)),
    Mutant("least-specific-rules-only", "reference.config",
           "rule_sets = tuple(rs for p in policies if (rs := compiled[(p.meta.namespace, p.meta.name)][0]) is not None)\n",
           "rule_sets = tuple(rs for p in policies if (rs := compiled[(p.meta.namespace, p.meta.name)][0]) is not None)[:1]\n",
           "authorization-all-policies", ("APIKEY-EXT-117",)),
    Mutant("authorization-refusal-body", "reference.authorization", 'BODY = b"authorization failed"', 'BODY = b"forbidden"',
           "authorization-refusal", ("APIKEY-EXT-110",)),
    Mutant("transformation-ignored", "reference.proxy", "            return transformation.apply(later.transformation, headers, variables)\n",
           "            return headers\n", "transformation-set", ("APIKEY-EXT-113", "APIKEY-EXT-114")),
    Mutant("failed-transformation-keeps-header", "reference.transformation",
           "        out = [h for h in out if h[0] != name] + ([] if value is None else [(name, value)])\n",
           "        out = out if value is None else [h for h in out if h[0] != name] + [(name, value)]\n",
           "transformation-failed-removes", ("APIKEY-EXT-113",)),
    Mutant("rate-limit-counts-key-less-requests", "reference.proxy",
           "        if policy is not None:\n            outcome = await self._authenticate(policy, headers, query, send, route)\n",
           "        early = view.downstream.get(rule_key, NOTHING_DOWNSTREAM).rate_limit\n"
           "        if early is not None and policy is not None and carrier_of(policy.auth.location).read(headers, query) is None:\n"
           "            early.check(cel.variables(None, {}))\n"
           "        if policy is not None:\n            outcome = await self._authenticate(policy, headers, query, send, route)\n",
           "rate-limit-after-authorization", ("APIKEY-EXT-120",)),
    Mutant("rate-limit-before-authorization", "reference.proxy",
           "        if not authorization.allowed(later.rule_sets, variables):\n",
           "        if later.rate_limit is not None and not authorization.allowed(later.rule_sets, variables):\n"
           "            later.rate_limit.check(variables)\n"
           "        if not authorization.allowed(later.rule_sets, variables):\n",
           "rate-limit-after-authorization", ("APIKEY-EXT-120",)),
    Mutant("rate-limit-last-entry", "reference.ratelimit", "        for condition, bucket in self.entries:\n",
           "        for condition, bucket in reversed(self.entries):\n", "rate-limit-first-entry", ("APIKEY-EXT-119",)),
    Mutant("rate-limit-failed-condition-holds", "reference.ratelimit", "            except CelError:\n                continue\n",
           "            except CelError:\n                return bucket\n", "rate-limit-failed-condition", ("APIKEY-EXT-119",)),
    Mutant("rate-limit-fallback-skipped", "reference.ratelimit", "            if condition is None:\n                return bucket\n",
           "            if condition is None:\n                continue\n", "rate-limit-fallback", ("APIKEY-EXT-119",)),
    Mutant("rate-limit-one-bucket-per-policy", "reference.ratelimit",
           "None if e.limit is None else Bucket(e.limit, now))\n",
           "None if e.limit is None else _shared.setdefault(0, Bucket(e.limit, now)))\n                             for _shared in [{}]\n",
           "rate-limit-entry-bucket", ("APIKEY-EXT-119",)),
    Mutant("rate-limit-burst-ignored", "reference.ratelimit", "        self.capacity = limit.requests + limit.burst\n",
           "        self.capacity = limit.requests\n", "rate-limit-bucket-size", ("APIKEY-EXT-120",)),
    Mutant("rate-limit-refusal-body", "reference.ratelimit", 'BODY = b"rate limit exceeded"', 'BODY = b"too many requests"',
           "rate-limit-refusal", ("APIKEY-EXT-119",)),
]

BY_NAME = {m.name: m for m in MUTANTS}


def apply(mutant: Mutant) -> None:
    """Re-execute `mutant.module` with the edit, in place, before anything imports from it."""
    module = importlib.import_module(mutant.module)
    source = open(module.__file__).read()
    count = source.count(mutant.old)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name}: the text to replace occurs {count} times in {mutant.module}; update the mutant")
    exec(compile(source.replace(mutant.old, mutant.new), module.__file__, "exec"), module.__dict__)
