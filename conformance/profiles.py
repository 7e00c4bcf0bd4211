"""Features (capabilities a target may claim) and the profiles that group them.

(Named `profiles` so that "features" means one thing in this project: the Gherkin files
of `features/`; the capabilities keep the Gateway API's name, `FEATURES`.) Names follow
the spec, `docs/spec.md`. Every scenario is tagged with one ID and the
features it needs; a target runs only the scenarios whose features it supports.
"""

from __future__ import annotations

import re

from . import pages

CORE = "APIKEY-CORE"
EXTENDED = "APIKEY-EXTENDED"
# Opt-in: runs that measure a gateway rather than check a rule (hostile clients, load with
# key churn). Never in the default profiles; a vendor asks for it by name.
RELIABILITY = "APIKEY-RELIABILITY"
# One profile per published version of the docs page (conformance/pages.py): a page is
# judged as a whole, like the core profile, so a feature it needs that the target does not
# support is a skipped scenario, never one left uncounted.
PAGE_PROFILES = tuple(p.profile for p in pages.PAGES.values())
PROFILES = (CORE, EXTENDED, RELIABILITY, *PAGE_PROFILES)
DEFAULT_PROFILES = (CORE, EXTENDED)
# Profiles in which every scenario counts, whatever the target supports.
WHOLE = (CORE, *PAGE_PROFILES)

FEATURES: dict[str, tuple[str, str]] = {
    # name: (profile, what it covers)
    "APIKeyCore": (CORE, "Strict and Optional modes, Authorization: Bearer, secretRef and secretSelector (v1.0)"),
    "FailClosed": (EXTENDED, "a missing Secret denies every request instead of none (v1.1)"),
    "KeyLocation": (EXTENDED, "location: custom header, query parameter, cookie (v1.2)"),
    "PermissiveMode": (EXTENDED, "mode: Permissive (v1.3)"),
    "ExpressionLocation": (EXTENDED, "location: CEL expression (v1.3)"),
    "HashedKeys": (EXTENDED, 'JSON entries with "keyHash": "sha256:<hex>" (v1.4)'),
    "ConfigMapKeys": (EXTENDED, "configMapSelector with hashed entries (v1.4)"),
    "PolicyStatus": (EXTENDED, "AgentgatewayPolicy status.ancestors conditions"),
    "RouteTargets": (EXTENDED, "policies on HTTPRoutes and route rules, and their precedence"),
    "PolicyInheritance": (EXTENDED, "strategy.inheritance: Override keeps a less specific policy in force over more specific ones"),
    "PreRouting": (EXTENDED, "traffic.phase: PreRouting"),
    "GRPC": (EXTENDED, "gRPC requests refused with grpc-status 16"),
    "CORS": (EXTENDED, "CORS preflight before authentication, CORS headers on the 401"),
    "ManifestValidation": (EXTENDED, ("manifests breaking the CRD's schema (its validation rules, or a field it does not define) "
                                      "are refused as invalid, with its message, and the last good policy stays in force")),
    "CrossNamespaceBackends": (EXTENDED, "backendRefs to Services in other namespaces, allowed by ReferenceGrants (Gateway API)"),
    "Reliability": (RELIABILITY, "opt-in: hostile HTTP clients on raw sockets and load with key churn, with their figures"),
    "ProxyAuthorizationKey": (EXTENDED, "a key read from Proxy-Authorization (401, removed); a Proxy-Authorization no policy reads reaches the backend (after v1.4.1)"),
    "ListenerSetTargets": (EXTENDED, "policies on ListenerSets, between the Gateway and a listener in precedence (enforced after v1.4.1)"),
    "KeyMetadata": (EXTENDED, "a verified key's metadata as the CEL variable apiKey (flattened, apiKey.key redacted) for later policies"),
    "Authorization": (EXTENDED, "traffic.authorization: Allow, Require and Deny CEL rules after authentication (403)"),
    "Transformation": (EXTENDED, "traffic.transformation.request: headers set or added from CEL after authentication"),
    "RateLimit": (EXTENDED, "traffic.rateLimit: local request limits, one bucket per conditional entry (per key on apiKey.<field>), after authorization (429)"),
}

# What the reference gateway implements, whichever way it is configured.
REFERENCE_FEATURES = frozenset(FEATURES) - {"ExpressionLocation", "CORS"}

ID_PATTERN = re.compile(r"^APIKEY-(DOC|CORE|EXT|K8S|REL)-\d{3}$")
OTHER_TAGS = {"doc-page", "beyond-the-page", "decision-table", "mutation-sentinel", *pages.BY_TAG}


def profile_of(features: set[str], page: str | None = None) -> str:
    """A scenario's profile: its page's, when it mirrors one (`page` is the tag), else its features'."""
    if page is not None:
        return pages.BY_TAG[page].profile
    profiles = {FEATURES[f][0] for f in features}
    return RELIABILITY if RELIABILITY in profiles else EXTENDED if EXTENDED in profiles else CORE


def in_profile(profile: str) -> set[str]:
    return {name for name, (p, _) in FEATURES.items() if p == profile}


def check_tag(tag: str) -> str:
    """Classify a Gherkin tag as 'id', 'feature' or 'other'; reject anything unknown."""
    if ID_PATTERN.match(tag):
        return "id"
    if tag in FEATURES:
        return "feature"
    if tag in OTHER_TAGS:
        return "other"
    raise ValueError(f"unknown tag @{tag}: not a scenario ID (APIKEY-DOC-001), a feature ({', '.join(FEATURES)}) or one of {sorted(OTHER_TAGS)}")
