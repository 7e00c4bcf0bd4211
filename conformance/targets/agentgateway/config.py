"""Kubernetes manifests -> an agentgateway local configuration file: our translation.

On a cluster, agentgateway's controller reads Gateways, HTTPRoutes, Services,
EndpointSlices, Secrets, ConfigMaps and AgentgatewayPolicies and pushes the result to the
proxy over xDS. The `agentgateway-local` target has no controller: this module does that
job instead, by writing the proxy's own standalone YAML (`gateways:`, `routes:`,
`policies:`). It is OUR translation, written from the upstream sources of v1.4.x (the
controller's `processAPIKeyAuthenticationPolicy` and the proxy's `types/local.rs`), not
the product's. Every rule it follows is listed here; anything it cannot express raises
`Untranslatable` instead of being approximated.

Pure functions only: objects in, a configuration dict out. The target owns the processes,
the ports and the waiting.

Objects
    Every object is read by the project's one manifest reader (`agwmodel`), the same one the
    reference gateway serves from; an object it refuses is untranslatable, with its words.
    Namespace, Secret, ConfigMap, Service, EndpointSlice, Gateway, HTTPRoute,
    ReferenceGrant, AgentgatewayPolicy and GatewayClass are translated (GatewayClass is
    accepted and ignored). Any other kind is untranslatable.

Gateways
    Only Gateways of class `agentgateway` are served (the controller ignores other
    classes). Each distinct (Gateway, listener port) becomes one local gateway named
    `<namespace>.<name>.<port>` on a free loopback port the target chose; each Kubernetes
    listener on that port becomes a local listener of the same name and hostname.
    Only `protocol: HTTP` listeners are translated. The proxy binds the unspecified
    address (it has no option to bind loopback only); traffic is sent to 127.0.0.1.
    `allowedRoutes.namespaces.from`: `Same` (the default), `All` and `Selector`
    (`agwmodel.attachment`).

HTTPRoutes
    parentRefs of kind Gateway (namespace defaults to the route's), with optional
    `sectionName` (listener name) and `port`. One local route per (rule, listener),
    named `<route>/<rule name>` (or `<route>/#<index>` for an unnamed rule) in the
    route's namespace: the proxy keys routes by listener, namespace and name and ignores
    a local `ruleName`, so rules need distinct names. Hostnames are intersected with the
    listener's hostname as the Gateway API says; a route with no hostname in common with
    a listener does not attach to it (`agwmodel.routing`). Matches: path `PathPrefix`
    (default `/`), `Exact`, `RegularExpression`; headers and query parameters `Exact` /
    `RegularExpression`; method. Rules with `filters` are untranslatable.

Backends
    backendRefs resolve as `agwmodel.attachment` says (core Services only, ReferenceGrants
    for other namespaces, EndpointSlices joined by port name); every ready address
    becomes a `host: <ip>:<port>` backend with the ref's weight (an IP, so the proxy keeps
    the client's Host). A ref that cannot be resolved (not permitted, no such Service, no
    ready endpoint, not a Service) becomes an `invalid` backend with its weight, which the
    proxy answers with a 500, as the Gateway API asks for invalid references. (On a
    cluster, a Service without ready endpoints would get the proxy's 503 instead.)

Keys (the controller's rules)
    Which Secrets or ConfigMaps a policy reads and which of their entries are keys is
    decided by the project's one key reader (`agwmodel.entries`, whose docstring lists the
    rules). Invalid entries are skipped and listed in the translation's notes; the others
    stay in force. Keys are sorted by (key, keyHash) as the controller does.

The policy
    `spec.traffic.apiKeyAuthentication` becomes the proxy's `apiKey` policy: `keys`,
    `mode` lowercased (`Strict` when omitted: the CRD's default, while the standalone
    config's own default is `optional`, so the mode is always written), `location`
    (each kind's own form, from its class in `agwmodel.carriers`; omitted means the
    proxy's default `Authorization` / `Bearer `). Values are passed through unchecked: a value the
    proxy refuses is the proxy's answer, reported by the target, not hidden here.
    `traffic.phase: PreRouting` becomes `phase: gateway`, otherwise `phase: route`.
    A policy with any other `traffic`, `backend` or `frontend` setting, or with
    `strategy.inheritance: Override` (the local `policies:` entries have no inheritance
    field, so the proxy could not be told), is untranslatable.

Attachment: the product decides precedence
    In a local configuration every listener belongs to the proxy's own gateway identity
    (`default/default`). Targets are written so the proxy's own merge order applies
    (Gateway, listener, route, then inline route policies; pre-routing: listener before
    Gateway):
    - Gateway target: a top-level policy on `gateway: {default/default}` when that Gateway
      is the only one served; with several Gateways, one policy per listener of it
      (the proxy then cannot tell it from a listener policy on the same listener).
    - Gateway + sectionName: a top-level policy on that listener
      (`listenerName: <local gateway>/<listener>`).
    - HTTPRoute target: one top-level policy per local route derived from the route.
    - HTTPRoute + sectionName (a rule): inline `policies:` on that rule's local routes, so
      it comes after the route's own policies, as a rule policy does. Two policies on the
      same rule: the product leaves the winner undefined; we keep the first by namespace
      and name.
    Targets that do not exist attach to nothing. Only targets in the policy's namespace.

`with_marker` adds a backend nothing routes to, whose name the target chooses per write, so
it can see in the admin `config_dump` that exactly this configuration is in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from agwmodel import attachment, entries, routing
from agwmodel import model as m
from agwmodel.carriers import carrier
from agwmodel.manifests import Ignored, ManifestError, parse_object
from agwmodel.traffic import LocalLimit, RateLimit

from ..base import ObjectRef

GATEWAY_CLASS = "agentgateway"
PROXY_GATEWAY = {"gatewayName": "default", "gatewayNamespace": "default"}
TRANSLATED = (m.Namespace, m.Secret, m.ConfigMap, m.Service, m.EndpointSlice, m.Gateway, m.HTTPRoute, m.ReferenceGrant, m.Policy)
IGNORED_KINDS = {"GatewayClass"}

ListenerKey = tuple[str, str, int]  # (gateway namespace, gateway name, Kubernetes port)


class Untranslatable(Exception):
    """A manifest that this translation cannot express in a local configuration."""


@dataclass(frozen=True)
class Ports:
    """Loopback ports the target chose: one per Gateway listener port, and the admin ones."""

    listeners: Mapping[ListenerKey, int]
    admin: int
    stats: int
    readiness: int


@dataclass
class Translation:
    config: dict
    notes: list[str] = field(default_factory=list)  # what was skipped, never a key


# --- entry points ---------------------------------------------------------------------


def read(objects: Mapping[ObjectRef, dict]) -> list[m.Resource]:
    """The applied objects as the model reads them, in a stable order; Untranslatable if one cannot be."""
    out = []
    for ref, doc in sorted(objects.items()):
        try:
            obj = parse_object(doc, where=str(ref))
        except ManifestError as exc:
            raise Untranslatable(str(exc)) from None
        if isinstance(obj, Ignored):
            if obj.kind in IGNORED_KINDS:
                continue
            raise Untranslatable(f"{ref}: kind {obj.kind} is not translated into the local configuration")
        if not isinstance(obj, TRANSLATED):
            raise Untranslatable(f"{ref}: kind {ref.kind} is not translated into the local configuration (it has no ListenerSets)")
        out.append(obj)
    return out


def listener_ports(objects: Mapping[ObjectRef, dict]) -> list[ListenerKey]:
    """Every (Gateway, port) the configuration will listen on, in a stable order."""
    return list(dict.fromkeys(_key(gw, listener) for gw in _gateways(read(objects)) for listener in gw.listeners))


def route_ports(objects: Mapping[ObjectRef, dict], ports: Ports, namespace: str, name: str) -> list[int]:
    """The loopback ports of the listeners an HTTPRoute is attached to."""
    model = read(objects)
    route = next((r for r in _of(model, m.HTTPRoute) if (r.meta.namespace, r.meta.name) == (namespace, name)), None)
    if route is None:
        return []
    found = (ports.listeners.get(_key(gw, listener)) for gw, listener in _attached(model, route))
    return list(dict.fromkeys(port for port in found if port is not None))


def translate(objects: Mapping[ObjectRef, dict], ports: Ports) -> Translation:
    model = read(objects)
    notes: list[str] = []
    gateways, local_listeners = _translate_gateways(model, ports)
    routes, route_names = _translate_routes(model, local_listeners, notes)
    policies = _translate_policies(model, local_listeners, route_names, routes, notes)
    config: dict = {
        "config": {
            "adminAddr": f"127.0.0.1:{ports.admin}",
            "statsAddr": f"127.0.0.1:{ports.stats}",
            "readinessAddr": f"127.0.0.1:{ports.readiness}",
        },
        "gateways": gateways,
        "routes": routes,
        "policies": policies,
    }
    return Translation(config, notes)


def with_marker(config: dict, marker: str) -> dict:
    """The configuration plus a backend nothing routes to, named `marker`.

    The name shows in the admin `config_dump` once the proxy runs this configuration. The
    target picks markers that say nothing about the content (no digest of it: that would
    be a digest of keys)."""
    return {**config, "backends": [{"name": marker, "host": "127.0.0.1:9"}]}


def render(config: dict) -> str:
    """The configuration as the file the proxy reads.

    The proxy runs the whole file through shell expansion before parsing it (`$NAME` and
    `${NAME}` are replaced, `$$` stands for `$`), so every `$` is doubled: a key or a path
    containing `$` must arrive as written.
    """
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=1 << 30)
    return "# Generated from Kubernetes manifests by the agentgateway-local conformance target.\n" + text.replace("$", "$$")


# --- gateways -------------------------------------------------------------------------


def _of(model: list[m.Resource], kind: type) -> list:
    return [obj for obj in model if isinstance(obj, kind)]


def _gateways(model: list[m.Resource]) -> list[m.Gateway]:
    return [gw for gw in _of(model, m.Gateway) if gw.class_name == GATEWAY_CLASS]


def _key(gw: m.Gateway, listener: m.Listener) -> ListenerKey:
    return (gw.meta.namespace, gw.meta.name, listener.port)


def local_gateway_name(gw_namespace: str, gw_name: str, port: int) -> str:
    return f"{gw_namespace}.{gw_name}.{port}"


@dataclass(frozen=True)
class _LocalListener:
    gateway: str  # local gateway name
    listener: str  # Kubernetes (and local) listener name
    hostname: str | None

    @property
    def reference(self) -> str:
        return f"{self.gateway}/{self.listener}"


def _translate_gateways(model: list[m.Resource], ports: Ports) -> tuple[dict, dict[tuple[str, str, str], _LocalListener]]:
    gateways: dict = {}
    local: dict[tuple[str, str, str], _LocalListener] = {}  # (gw ns, gw name, listener name) -> local listener
    for gw in _gateways(model):
        for listener in gw.listeners:
            where = f"Gateway {gw.meta.namespace}/{gw.meta.name} listener {listener.name}"
            if listener.protocol != "HTTP":
                raise Untranslatable(f"{where}: protocol {listener.protocol} is not translated (HTTP only)")
            key = _key(gw, listener)
            if key not in ports.listeners:
                raise ValueError(f"no loopback port was chosen for Gateway {key[0]}/{key[1]} port {key[2]}")
            name = local_gateway_name(*key)
            entry = gateways.setdefault(name, {"port": ports.listeners[key], "listeners": []})
            out = {"name": listener.name, "protocol": "HTTP"}
            if listener.hostname:
                out["hostname"] = listener.hostname
            entry["listeners"].append(out)
            local[(gw.meta.namespace, gw.meta.name, listener.name)] = _LocalListener(name, listener.name, listener.hostname)
    return gateways, local


def _attached(model: list[m.Resource], route: m.HTTPRoute) -> list[tuple[m.Gateway, m.Listener]]:
    """(Gateway, listener) pairs an HTTPRoute attaches to, per its parentRefs."""
    gateways = {(gw.meta.namespace, gw.meta.name): gw for gw in _gateways(model)}
    namespaces = {n.meta.name: n for n in _of(model, m.Namespace)}
    found: list[tuple[m.Gateway, m.Listener]] = []
    for parent in route.parents:
        gw = gateways.get((parent.namespace, parent.name)) if parent.kind == "Gateway" else None
        for listener in gw.listeners if gw else ():
            if attachment.selects(parent, listener) and attachment.allows(listener, gw.meta.namespace, route, namespaces):
                if (gw, listener) not in found:
                    found.append((gw, listener))
    return found


# --- routes ---------------------------------------------------------------------------


def rule_route_name(route_name: str, rule: m.RouteRule, index: int) -> str:
    return f"{route_name}/{rule.name}" if rule.name else f"{route_name}/#{index}"


_PATH = {"PathPrefix": "pathPrefix", "Exact": "exact", "RegularExpression": "regex"}


def _values(matches: tuple[m.ValueMatch, ...]) -> list[dict]:
    return [{"name": v.name, "value": {"exact" if v.type == "Exact" else "regex": v.value}} for v in matches]


def _match(match: m.RouteMatch) -> dict:
    out: dict = {"path": {_PATH[match.path.type]: match.path.value}}
    if match.headers:
        out["headers"] = _values(match.headers)
    if match.query:
        out["query"] = _values(match.query)
    if match.method:
        out["method"] = match.method
    return out


def _backends(route: m.HTTPRoute, rule: m.RouteRule, granted: attachment.Grants, known: attachment.Endpoints, notes: list[str]) -> list[dict]:
    out = []
    for ref in rule.backends:
        if ref.weight == 0:
            continue
        hosts: list[str] = []
        why = attachment.invalid(route, ref, granted, known)
        if why is None:
            hosts = [f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}" for ip, port in known[(ref.namespace, ref.name, ref.port)]]
            why = None if hosts else "no ready endpoint"
        if why:
            notes.append(f"HTTPRoute {route.meta.namespace}/{route.meta.name} backendRef {ref.name}: {why}")
        # An invalid reference keeps its share of the traffic, which the proxy answers with a 500.
        out += [{"host": host, "weight": ref.weight} for host in hosts] or [{"invalid": None, "weight": ref.weight}]
    return out


def _translate_routes(
    model: list[m.Resource], local: dict[tuple[str, str, str], _LocalListener], notes: list[str]
) -> tuple[list[dict], dict]:
    """Local routes, and for each (namespace, route name) the local route names per rule."""
    granted, known = attachment.grants(model), attachment.endpoints(model)
    routes: list[dict] = []
    names: dict[tuple[str, str], dict[str | None, list[int]]] = {}  # -> {rule name: [indexes into routes]}
    for route in _of(model, m.HTTPRoute):
        rns, rname = route.meta.namespace, route.meta.name
        by_rule = names.setdefault((rns, rname), {})
        for gw, listener in _attached(model, route):
            target = local[(gw.meta.namespace, gw.meta.name, listener.name)]
            hostnames = routing.effective_hostnames(target.hostname, route.hostnames)
            if hostnames is None:
                continue
            for index, rule in enumerate(route.rules):
                if rule.filters:
                    raise Untranslatable(f"HTTPRoute {rns}/{rname}: rule filters are not translated")
                local_route = {"gateways": [target.reference], "name": rule_route_name(rname, rule, index), "namespace": rns}
                if hostnames:
                    local_route["hostnames"] = hostnames
                local_route["matches"] = [_match(match) for match in rule.matches]
                local_route["backends"] = _backends(route, rule, granted, known, notes)
                by_rule.setdefault(rule.name, []).append(len(routes))
                routes.append(local_route)
    return routes, names


# --- policies -------------------------------------------------------------------------


def _location(location: m.KeyLocation) -> dict | None:
    if location == m.DEFAULT_LOCATION:
        return None  # the proxy's own default is the same
    return carrier(location).proxy_config()


def policy_keys(model: list[m.Resource], namespace: str, auth: m.ApiKeyAuth, notes: list[str]) -> list[dict]:
    """The keys an apiKeyAuthentication block resolves to, as the controller sends them to the proxy."""
    found, problems = entries.policy_keys(auth, namespace, model)
    notes += problems
    keys = []
    for item in found:
        key: dict = {"key": item.entry.key} if item.entry.key else {"keyHash": item.entry.key_hash}
        if item.entry.metadata:
            key["metadata"] = item.entry.metadata
        keys.append(key)
    keys.sort(key=lambda k: (k.get("key", ""), k.get("keyHash", "")))
    return keys


def api_key_policy(model: list[m.Resource], namespace: str, auth: m.ApiKeyAuth, notes: list[str]) -> dict:
    # The mode is always written: the CRD's default is Strict, the local file's own is optional.
    out: dict = {"keys": policy_keys(model, namespace, auth, notes), "mode": auth.mode.lower()}
    location = _location(auth.location)
    if location is not None:
        out["location"] = location
    return out


# A LocalRateLimit's `unit` as the proxy's `fillInterval` (a duration, crates/core/src/serdes.rs:117-137).
_FILL_INTERVAL = {"Seconds": "1s", "Minutes": "1m", "Hours": "1h"}


def _local_limit(limit: LocalLimit) -> dict:
    """One `local` requests limit as the proxy's bucket, as the controller builds it
    (`traffic_plugin.go:1681-1712`): `burst` more tokens than it refills each unit."""
    return {"maxTokens": limit.requests + limit.burst, "tokensPerFill": limit.requests,
            "fillInterval": _FILL_INTERVAL[limit.unit], "type": "requests"}


def _rate_limit(spec: RateLimit) -> list | dict:
    """`localRateLimit`: a list of limits, or `conditional` entries each holding one limit's fields
    beside its `condition` (`crates/agentgateway/src/types/local.rs:578-597`, `:722-753`)."""
    [first, *_] = spec.entries
    if len(spec.entries) == 1 and first.condition is None:
        return [_local_limit(first.limit)] if first.limit is not None else []
    return {"conditional": [{**({"condition": e.condition} if e.condition is not None else {}), **_local_limit(e.limit)}
                            for e in spec.entries if e.limit is not None]}


def downstream_policies(policy: m.Policy) -> dict:
    """`authorization`, `localRateLimit` and `transformation.request` as the proxy's own policy
    fields: one rule per expression (the controller's translation, `traffic_plugin.go:1567-1586`),
    a bare string being an Allow rule (`crates/agentgateway/src/http/authorization.rs:119-127`),
    request limits as buckets (`_rate_limit`), and headers as name-to-expression maps
    (`schema/config.json`, `LocalTransform`)."""
    out: dict = {}
    if policy.authorization is not None:
        action = policy.authorization.action
        rules = [e if action == "Allow" else {action.lower(): e} for e in policy.authorization.expressions]
        out["authorization"] = {"rules": rules}
    if policy.rate_limit is not None:
        out["localRateLimit"] = _rate_limit(policy.rate_limit)
    if policy.transformation is not None:
        request = {member: {h.name: h.expression for h in getattr(policy.transformation, member)}
                   for member in ("set", "add") if getattr(policy.transformation, member)}
        out["transformations"] = {"request": request}
    return out


def _translate_policies(
    model: list[m.Resource], local: dict, route_names: dict, routes: list[dict], notes: list[str]
) -> list[dict]:
    served = {(gw.meta.namespace, gw.meta.name) for gw in _gateways(model)}
    policies: list[dict] = []
    inline_done: set[int] = set()
    for policy in _of(model, m.Policy):
        pns, pname = policy.meta.namespace, policy.meta.name
        where = f"AgentgatewayPolicy {pns}/{pname}"
        if policy.unread:
            raise Untranslatable(f"{where}: {', '.join(policy.unread)} is not translated "
                                 "(only traffic.apiKeyAuthentication, authorization, rateLimit.local and transformation.request set and add)")
        if policy.inheritance != "Default":
            raise Untranslatable(
                f"{where}: strategy.inheritance {policy.inheritance} cannot be expressed: the local configuration's "
                "policies have no inheritance field"
            )
        body = downstream_policies(policy)
        if policy.api_key is not None:
            body = {"apiKey": api_key_policy(model, pns, policy.api_key, notes), **body}
        if not body:
            continue
        phase = "gateway" if policy.phase == "PreRouting" else "route"
        n = 0

        def add(target: dict) -> None:
            # One entry per policy field: a top-level entry holds exactly one
            # (crates/agentgateway/src/types/local.rs:2855-2856); a route's inline policies may hold several.
            nonlocal n
            for name, value in body.items():
                entry = {"name": {"name": f"{pname}/{n}", "namespace": pns}, "target": target}
                if phase != "route":
                    entry["phase"] = phase
                entry["policy"] = {name: value}
                policies.append(entry)
                n += 1

        for ref in policy.targets:
            if ref.kind not in ("Gateway", "HTTPRoute"):
                raise Untranslatable(f"{where}: targetRefs of kind {ref.kind} are not translated (Gateway and HTTPRoute only)")
            if ref.kind == "Gateway":
                if (pns, ref.name) not in served:
                    continue
                listeners = [v for (gns, gname, _), v in local.items() if (gns, gname) == (pns, ref.name)]
                if ref.section_name:
                    listeners = [v for v in listeners if v.listener == ref.section_name]
                elif len(served) == 1:
                    add({"gateway": dict(PROXY_GATEWAY)})
                    continue
                for listener in listeners:
                    add({"gateway": {**PROXY_GATEWAY, "listenerName": listener.reference}})
            else:
                rules = route_names.get((pns, ref.name), {})
                if ref.section_name:
                    for index in rules.get(ref.section_name, []):
                        if index in inline_done:
                            notes.append(f"{where}: rule {ref.name}/{ref.section_name} already has a policy; the product leaves the winner undefined")
                            continue
                        routes[index]["policies"] = body
                        inline_done.add(index)
                else:
                    for local_name in dict.fromkeys(routes[i]["name"] for idx in rules.values() for i in idx):
                        add({"route": {"name": local_name, "namespace": pns}})
    return policies
