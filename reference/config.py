"""From a set of objects to the resolved configuration the proxy serves.

`build()` does all the joining (routes to listeners, Services to endpoints, policies to
targets, Secrets to keys) once per change, so a request only does lookups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from agwmodel import attachment, entries, routing
from agwmodel import model as m

from .authorization import RuleSet
from .keys import KeyEntry, KeySet, key_entry, parse_entry
from .ratelimit import Limiter, limiter
from .transformation import Transformation

CONTROLLER = "agentgateway.dev/agentgateway"


@dataclass(frozen=True)
class AuthPolicy:
    """An API key policy with its keys loaded; `problems` feed its status."""

    policy: m.Policy
    keys: KeySet
    problems: tuple[str, ...]
    # Where each accepted key came from ("secret apikey, entry api-key"), by digest: the
    # authentication log names the entry a request matched, never the key.
    entry_names: dict[bytes, str] = field(default_factory=dict, compare=False)

    @property
    def auth(self) -> m.ApiKeyAuth:
        assert self.policy.api_key is not None
        return self.policy.api_key


@dataclass(frozen=True)
class Downstream:
    """What runs on a route rule after API key authentication: the authorization rule sets of every
    policy in force, which all apply together (crates/agentgateway/src/store/binds.rs:1002-1007,
    :1073-1077), and the most specific rate limit and request transformation, each of which
    replaces less specific ones as the API key policy does (binds.rs:969-973, :994-997)."""

    rule_sets: tuple[RuleSet, ...] = ()
    transformation: Transformation | None = None
    rate_limit: Limiter | None = None


NOTHING_DOWNSTREAM = Downstream()


@dataclass(frozen=True)
class _Attached:
    """A policy that is not an API key policy, in the shape `_pick` and `_effective` read."""

    policy: m.Policy


@dataclass
class ListenerView:
    gateway: m.Gateway
    listener: m.Listener
    candidates: list[routing.Candidate] = field(default_factory=list)
    matches_headers: bool = False  # whether any candidate needs the request headers
    pre_policy: AuthPolicy | None = None
    # effective post-routing policy per (route key, rule index); None when unprotected
    post_policy: dict[tuple, AuthPolicy | None] = field(default_factory=dict)
    # authorization, rate limit and transformation per (route key, rule index)
    downstream: dict[tuple, Downstream] = field(default_factory=dict)


@dataclass
class Config:
    listeners: list[ListenerView]
    backends: dict[tuple[str, str, int], tuple[tuple[str, int], ...]]
    policies: list[AuthPolicy]
    status: dict[tuple[str, str], dict]
    generation: int = 0
    # (route namespace, Service namespace, Service name or None for all) that ReferenceGrants allow
    grants: frozenset[tuple[str, str, str | None]] = frozenset()
    # Refusals that keep the gateway from serving (`refusals`), one line each naming its
    # source; while there are any, every request is answered 503 and readiness says why.
    refused: tuple[str, ...] = ()

    def select_listener(self, host: str) -> ListenerView | None:
        for view in self.listeners:
            if view.listener.hostname is None or routing.host_matches(view.listener.hostname, host):
                return view
        return None

    def endpoints(self, ref: m.BackendRef) -> tuple[tuple[str, int], ...]:
        return self.backends.get((ref.namespace, ref.name, ref.port), ())

    def invalid(self, route: m.HTTPRoute, ref: m.BackendRef) -> str | None:
        """Why a route may not use a backend reference (Gateway API: an invalid backendRef), or None."""
        return attachment.invalid(route, ref, self.grants, self.backends)


class _Index:
    def __init__(self, objects: Iterable[m.Resource]):
        self.by_kind: dict[str, dict[tuple[str, str], m.Resource]] = defaultdict(dict)
        for obj in objects:
            self.by_kind[obj.meta.kind][(obj.meta.namespace, obj.meta.name)] = obj

    def all(self, kind: str) -> list:
        return sorted(self.by_kind[kind].values(), key=lambda o: (o.meta.order, o.meta.namespace, o.meta.name))

    def everything(self) -> list:
        return [obj for kind in sorted(self.by_kind) for obj in self.all(kind)]

    def get(self, kind: str, namespace: str, name: str):
        return self.by_kind[kind].get((namespace, name))


def stored_key(store: m.Secret | m.ConfigMap, value: str | bytes) -> KeyEntry:
    """The key one entry of a Secret or ConfigMap gives, or InvalidEntry.

    One function for policies and for the admin address's `/status/keys`, so that what the
    admin address shows is what the policies were built from. ConfigMaps hold hashed keys only.
    """
    return parse_entry(value if isinstance(value, bytes) else value.encode(), hashed_only=store.meta.kind == "ConfigMap")


def _load_keys(policy: m.Policy, index: _Index) -> AuthPolicy:
    auth = policy.api_key
    assert auth is not None
    stores = index.all("ConfigMap" if auth.source.kind == "configMapSelector" else "Secret")
    found, problems = entries.policy_keys(auth, policy.meta.namespace, stores)
    names: dict[bytes, str] = {}
    accepted: list[KeyEntry] = []
    for item in found:
        accepted.append(entry := key_entry(item.entry))
        names.setdefault(entry.digest, item.origin)
    return AuthPolicy(policy, KeySet.merge(accepted), tuple(problems), names)


def _accepts_set(gateway: m.Gateway, ls: m.ListenerSet) -> bool:
    """Whether the Gateway lets this ListenerSet add listeners (spec.allowedListeners)."""
    if gateway.listener_sets_from == "All":
        return True
    return gateway.listener_sets_from == "Same" and ls.meta.namespace == gateway.meta.namespace


def _pick(policies: list[AuthPolicy]) -> AuthPolicy | None:
    # Two policies on one target have no defined winner; be deterministic at least.
    return min(policies, key=lambda p: (p.policy.meta.order, p.policy.meta.name), default=None)


def _effective(levels: list[AuthPolicy | None]) -> AuthPolicy | None:
    """Least to most specific: the most specific wins, unless a less specific one overrides."""
    winner = None
    for policy in levels:
        if policy is None:
            continue
        if policy.policy.inheritance == "Override":
            return policy
        winner = policy
    return winner


def build(objects: Iterable[m.Resource], gateway_class: str, generation: int = 0) -> Config:
    index = _Index(objects)
    gateways = [g for g in index.all("Gateway") if g.class_name == gateway_class]
    routes = index.all("HTTPRoute")

    auth_policies = [_load_keys(p, index) for p in index.all("AgentgatewayPolicy") if p.api_key is not None]
    attached: dict[tuple, list[AuthPolicy]] = defaultdict(list)
    for ap in auth_policies:
        for target in ap.policy.targets:
            attached[(ap.policy.phase, target.kind, ap.policy.meta.namespace, target.name, target.section_name)].append(ap)

    def at(phase: str, kind: str, namespace: str, name: str, section: str | None) -> AuthPolicy | None:
        return _pick(attached.get((phase, kind, namespace, name, section), []))

    # Authorization, rate limits and transformations, post-routing only (`objects` refuses them in pre-routing policies).
    later: dict[tuple, list[m.Policy]] = defaultdict(list)
    for policy in index.all("AgentgatewayPolicy"):
        if policy.phase == "PostRouting" and any(part is not None for part in (policy.authorization, policy.transformation, policy.rate_limit)):
            for target in policy.targets:
                later[(target.kind, policy.meta.namespace, target.name, target.section_name)].append(policy)
    compiled: dict[tuple[str, str], tuple[RuleSet | None, Transformation | None, Limiter | None]] = {
        (p.meta.namespace, p.meta.name): (p.authorization and RuleSet.of(p.authorization),
                                          p.transformation and Transformation.of(p.transformation),
                                          p.rate_limit and limiter(p.meta.namespace, p.meta.name, p.rate_limit))
        for ps in later.values() for p in ps
    }

    def most_specific(levels: list[tuple], part: str, at: int):
        chosen = _effective([_pick([_Attached(p) for p in later.get(key, []) if getattr(p, part) is not None]) for key in levels])
        return compiled[(chosen.policy.meta.namespace, chosen.policy.meta.name)][at] if chosen else None

    def downstream(levels: list[tuple]) -> Downstream:
        policies = [p for key in levels for p in later.get(key, [])]
        if not policies:
            return NOTHING_DOWNSTREAM
        rule_sets = tuple(rs for p in policies if (rs := compiled[(p.meta.namespace, p.meta.name)][0]) is not None)
        return Downstream(rule_sets, most_specific(levels, "transformation", 1), most_specific(levels, "rate_limit", 2))

    views: list[ListenerView] = []
    listener_sets = index.all("ListenerSet")
    namespaces = {n.meta.name: n for n in index.all("Namespace")}
    for gateway in gateways:
        gns, gname = gateway.meta.namespace, gateway.meta.name
        # The Gateway's own listeners, then those its accepted ListenerSets add. A ListenerSet's
        # policy sits between the Gateway's and a listener's (upstream main, #2739).
        owned: list[tuple[m.Listener, tuple, list, list]] = []
        for listener in gateway.listeners:
            owned.append((listener, ("Gateway", gns, gname, listener.name),
                          [("Gateway", gns, gname, listener.name), ("Gateway", gns, gname, None)],
                          [("Gateway", gns, gname, None), ("Gateway", gns, gname, listener.name)]))
        for ls in listener_sets:
            if (ls.parent_namespace, ls.parent_name) != (gns, gname) or not _accepts_set(gateway, ls):
                continue
            lns, lname = ls.meta.namespace, ls.meta.name
            for listener in ls.listeners:
                owned.append((listener, ("ListenerSet", lns, lname, listener.name),
                              [("ListenerSet", lns, lname, listener.name), ("ListenerSet", lns, lname, None), ("Gateway", gns, gname, None)],
                              [("Gateway", gns, gname, None), ("ListenerSet", lns, lname, None), ("ListenerSet", lns, lname, listener.name)]))
        for position, (listener, parent_key, pre_levels, post_levels) in enumerate(owned):
            if listener.protocol not in ("HTTP", "HTTPS"):
                continue
            view = ListenerView(gateway, listener)
            # Pre-routing: the most specific policy wins outright.
            view.pre_policy = next((p for key in pre_levels if (p := at("PreRouting", *key))), None)
            pkind, pns, pname, _ = parent_key
            mine = []
            for route in routes:
                for parent in route.parents:
                    if (parent.kind, parent.namespace, parent.name) != (pkind, pns, pname):
                        continue
                    if not attachment.selects(parent, listener):
                        continue
                    if attachment.allows(listener, pns, route, namespaces) and routing.hostnames_intersect(listener.hostname, route.hostnames):
                        mine.append(route)
                        break
            view.candidates = routing.order_candidates(mine)
            view.matches_headers = any(c.match.headers for c in view.candidates)
            gateway_levels = [at("PostRouting", *key) for key in post_levels]
            for route in mine:
                rns, rname = route.meta.namespace, route.meta.name
                route_level = at("PostRouting", "HTTPRoute", rns, rname, None)
                for i, rule in enumerate(route.rules):
                    rule_level = at("PostRouting", "HTTPRoute", rns, rname, rule.name) if rule.name else None
                    view.post_policy[(rns, rname, i)] = _effective([*gateway_levels, route_level, rule_level])
                    levels = [*post_levels, ("HTTPRoute", rns, rname, None), *([("HTTPRoute", rns, rname, rule.name)] if rule.name else [])]
                    view.downstream[(rns, rname, i)] = downstream(levels)
            views.append((routing.hostname_rank(listener.hostname), gateway.meta.order, position, view))
    views.sort(key=lambda item: item[:3])

    return Config(
        listeners=[v for *_, v in views],
        backends=attachment.endpoints(index.everything()),
        policies=auth_policies,
        status=_status(auth_policies, index, gateway_class),
        generation=generation,
        grants=attachment.grants(index.all("ReferenceGrant")),
    )


def _condition(kind: str, ok: bool, reason: str, message: str) -> dict:
    return {"type": kind, "status": "True" if ok else "False", "reason": reason, "message": message}


def _not_attached(target, ns: str, index: _Index) -> str:
    """The controller's words for a target that gives the policy no Gateway."""
    exists = index.get(target.kind, ns, target.name) is not None
    what = f"{target.kind} {ns}/{target.name}"
    if exists and target.kind == "Gateway" and target.section_name is not None:
        # Upstream main (#2998) names the missing listener; v1.4.1 reported such a policy Attached.
        return f'Policy is not attached: sectionName "{target.section_name}" not found in {what}'
    return f"Policy is not attached: {what} " + ("is not attached to any Gateway" if exists else "not found")


def refused_status(current: dict | None, message: str) -> dict:
    """The status of a policy whose latest version this gateway refused, in the controller's
    words for a policy it cannot translate: Accepted False, reason Invalid, with why.

    With a last good version in force, its ancestors stay as they are but none says
    Accepted. Without one, nothing is attached, and the one ancestor is the summary the
    controller uses when it has no Gateway to name.
    """
    if current and current["ancestors"]:
        accepted = _condition("Accepted", False, "Invalid", f"{message}; the last good version stays in force")
        return {"ancestors": [{**a, "conditions": [accepted if c["type"] == "Accepted" else c for c in a["conditions"]]}
                              for a in current["ancestors"]]}
    return {"ancestors": [{
        "ancestorRef": {"group": m.POLICY_GROUP, "name": "StatusSummary"},
        "controllerName": CONTROLLER,
        "conditions": [_condition("Accepted", False, "Invalid", message),
                       _condition("Attached", False, reason="Pending", message="Policy is not attached due to invalid status")],
    }]}


def _status(auth_policies: list[AuthPolicy], index: _Index, gateway_class: str) -> dict[tuple[str, str], dict]:
    """Policy status as the real controller writes it: one ancestor per Gateway.

    Every policy served has one, whatever its traffic section holds: the controller writes it
    for each AgentgatewayPolicy it translates (controller/pkg/agentgateway/plugins/traffic_plugin.go:175-315),
    so a policy with only an authorization rule or a transformation reports as an API key policy
    does. Only API key policies can have problems (their keys')."""
    found_problems = {(ap.policy.meta.namespace, ap.policy.meta.name): ap.problems for ap in auth_policies}
    out = {}
    for policy in index.all("AgentgatewayPolicy"):
        ns = policy.meta.namespace
        problems = found_problems.get((ns, policy.meta.name), ())
        if problems:
            accepted = _condition("Accepted", True, "PartiallyValid", "; ".join(problems))
        else:
            accepted = _condition("Accepted", True, "Valid", "Policy accepted")
        ancestors: dict[tuple, dict] = {}
        unattached: list[str] = []
        for target in policy.targets:
            found: list[tuple[str, str]] = []
            if target.kind == "Gateway":
                gateway = index.get("Gateway", ns, target.name)
                if gateway and gateway.class_name == gateway_class:
                    if target.section_name is None or any(lst.name == target.section_name for lst in gateway.listeners):
                        found.append((ns, target.name))
            elif target.kind == "HTTPRoute":
                route = index.get("HTTPRoute", ns, target.name)
                if route and (target.section_name is None or any(r.name == target.section_name for r in route.rules)):
                    found.extend(
                        (p.namespace, p.name)
                        for p in route.parents
                        if (g := index.get("Gateway", p.namespace, p.name)) and g.class_name == gateway_class
                    )
            for gns, gname in found:
                ref = {"group": m.GATEWAY_GROUP, "kind": "Gateway", "namespace": gns, "name": gname}
                ancestors[("Gateway", gns, gname)] = {
                    "ancestorRef": ref,
                    "controllerName": CONTROLLER,
                    "conditions": [accepted, _condition("Attached", True, "Attached", "Attached to all targets")],
                }
            if not found:
                unattached.append(_not_attached(target, ns, index))
        if unattached:
            # As the real controller (v1.4.1) reports targets it cannot resolve: one summary
            # ancestor of the policy's own group, a line per target in Attached's message.
            ancestors[("StatusSummary",)] = {
                "ancestorRef": {"group": m.POLICY_GROUP, "name": "StatusSummary"},
                "controllerName": CONTROLLER,
                "conditions": [accepted, _condition("Attached", False, "Pending", "\n".join(unattached))],
            }
        out[(ns, policy.meta.name)] = {"ancestors": list(ancestors.values())}
    return out
