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
    Namespace, Secret, ConfigMap, Service, EndpointSlice, Gateway, HTTPRoute,
    ReferenceGrant, AgentgatewayPolicy and GatewayClass are understood (GatewayClass is
    accepted and ignored). Any other kind is untranslatable.

Gateways
    Only Gateways of class `agentgateway` are served (the controller ignores other
    classes). Each distinct (Gateway, listener port) becomes one local gateway named
    `<namespace>.<name>.<port>` on a free loopback port the target chose; each Kubernetes
    listener on that port becomes a local listener of the same name and hostname.
    Only `protocol: HTTP` listeners are translated. The proxy binds the unspecified
    address (it has no option to bind loopback only); traffic is sent to 127.0.0.1.
    `allowedRoutes.namespaces.from`: `Same` (the default), `All` and `Selector` (matched
    against the labels of applied Namespace objects).

HTTPRoutes
    parentRefs of kind Gateway (namespace defaults to the route's), with optional
    `sectionName` (listener name) and `port`. One local route per (rule, listener),
    named `<route>/<rule name>` (or `<route>/#<index>` for an unnamed rule) in the
    route's namespace: the proxy keys routes by listener, namespace and name and ignores
    a local `ruleName`, so rules need distinct names. Hostnames are intersected with the
    listener's hostname as the Gateway API says; a route with no hostname in common with
    a listener does not attach to it. Matches: path `PathPrefix` (default `/`), `Exact`,
    `RegularExpression`; headers and query parameters `Exact` / `RegularExpression`;
    method. Rules with `filters` are untranslatable.

Backends
    backendRefs to core Services, in the route's namespace or in another one whose
    ReferenceGrant lets HTTPRoutes from the route's namespace refer to that Service (or to
    all its Services). The Service port named by the ref is looked up in the
    EndpointSlices labelled `kubernetes.io/service-name=<service>`; every ready address
    becomes a `host: <ip>:<port>` backend with the ref's weight (an IP, so the proxy keeps
    the client's Host). A ref that cannot be resolved (not permitted, no such Service, no
    ready endpoint, not a Service) becomes an `invalid` backend with its weight, which the
    proxy answers with a 500, as the Gateway API asks for invalid references. (On a
    cluster, a Service without ready endpoints would get the proxy's 503 instead.)

Keys (the controller's rules)
    `secretRef` names a core Secret in the policy's own namespace; a missing Secret
    gives zero keys (fail closed). `secretSelector` takes every Secret in the policy's
    namespace whose labels include all of `matchLabels`; `configMapSelector` does the
    same for ConfigMaps (`data` only). When several are set, configMapSelector wins over
    secretSelector, which wins over secretRef (the controller's order). Every entry of
    `data` (base64) and `stringData` (which overrides `data`) is one key:
    - trimmed (Go `bytes.TrimSpace`) empty: invalid;
    - trimmed value not starting with `{`: a raw key, used exactly as stored, untrimmed;
    - otherwise a JSON object with `key` or `keyHash` (exactly one), optional `metadata`
      (field names matched case-insensitively, as Go's encoding/json does; unknown fields
      ignored); `keyHash` must be `sha256:` + 64 hex digits; `metadata` must be an
      object or null;
    - ConfigMap entries must use `keyHash`;
    - values that are not UTF-8 are invalid (the controller cannot send them: protobuf
      strings are UTF-8).
    Invalid entries are skipped and listed in the translation's notes; the others stay
    in force. Keys are sorted by (key, keyHash) as the controller does.

The policy
    `spec.traffic.apiKeyAuthentication` becomes the proxy's `apiKey` policy: `keys`,
    `mode` lowercased (`Strict` when omitted: the CRD's default, while the standalone
    config's own default is `optional`, so the mode is always written), `location`
    (`header {name, prefix}`, `queryParameter {name}`, `cookie {name}`, `expression`;
    the first one set, in that order, as the controller does; omitted means the proxy's
    default `Authorization` / `Bearer `). Values are passed through unchecked: a value the
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

import base64
import binascii
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

import yaml

from .base import ObjectRef

GATEWAY_CLASS = "agentgateway"
GATEWAY_GROUP = "gateway.networking.k8s.io"
PROXY_GATEWAY = {"gatewayName": "default", "gatewayNamespace": "default"}
KNOWN_KINDS = {"Namespace", "Secret", "ConfigMap", "Service", "EndpointSlice", "Gateway", "HTTPRoute", "AgentgatewayPolicy", "GatewayClass",
               "ReferenceGrant"}

ListenerKey = tuple[str, str, int]  # (gateway namespace, gateway name, Kubernetes port)


class Untranslatable(Exception):
    """A valid manifest that this translation cannot express in a local configuration."""


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


def listener_ports(objects: Mapping[ObjectRef, dict]) -> list[ListenerKey]:
    """Every (Gateway, port) the configuration will listen on, in a stable order."""
    keys = []
    for gw in _gateways(objects):
        for listener in _listeners(gw):
            key = (_ns(gw), _name(gw), int(listener.get("port") or 0))
            if key not in keys:
                keys.append(key)
    return keys


def route_ports(objects: Mapping[ObjectRef, dict], ports: Ports, namespace: str, name: str) -> list[int]:
    """The loopback ports of the listeners an HTTPRoute is attached to."""
    route = objects.get(ObjectRef("HTTPRoute", namespace, name))
    if route is None:
        return []
    found = []
    for gw, listener in _attached_listeners(objects, route):
        port = ports.listeners.get((_ns(gw), _name(gw), int(listener.get("port") or 0)))
        if port is not None and port not in found:
            found.append(port)
    return found


def translate(objects: Mapping[ObjectRef, dict], ports: Ports) -> Translation:
    notes: list[str] = []
    for ref in objects:
        if ref.kind not in KNOWN_KINDS:
            raise Untranslatable(f"{ref}: kind {ref.kind} is not translated into the local configuration")
    gateways, local_listeners = _translate_gateways(objects, ports)
    routes, route_names = _translate_routes(objects, local_listeners, notes)
    policies = _translate_policies(objects, local_listeners, route_names, routes, notes)
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


def _ns(doc: dict) -> str:
    return (doc.get("metadata") or {}).get("namespace") or "default"


def _name(doc: dict) -> str:
    return str((doc.get("metadata") or {}).get("name"))


def _labels(doc: dict) -> dict:
    return (doc.get("metadata") or {}).get("labels") or {}


def _of_kind(objects: Mapping[ObjectRef, dict], kind: str) -> list[dict]:
    return [doc for ref, doc in sorted(objects.items()) if ref.kind == kind]


def _gateways(objects: Mapping[ObjectRef, dict]) -> list[dict]:
    return [gw for gw in _of_kind(objects, "Gateway") if (gw.get("spec") or {}).get("gatewayClassName") == GATEWAY_CLASS]


def _listeners(gw: dict) -> list[dict]:
    return list((gw.get("spec") or {}).get("listeners") or [])


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


def _translate_gateways(objects: Mapping[ObjectRef, dict], ports: Ports) -> tuple[dict, dict[tuple[str, str, str], _LocalListener]]:
    gateways: dict = {}
    local: dict[tuple[str, str, str], _LocalListener] = {}  # (gw ns, gw name, listener name) -> local listener
    for gw in _gateways(objects):
        for listener in _listeners(gw):
            protocol = listener.get("protocol", "HTTP")
            if protocol != "HTTP":
                raise Untranslatable(
                    f"Gateway {_ns(gw)}/{_name(gw)} listener {listener.get('name')}: protocol {protocol} is not translated (HTTP only)"
                )
            port = int(listener.get("port") or 0)
            key = (_ns(gw), _name(gw), port)
            if key not in ports.listeners:
                raise ValueError(f"no loopback port was chosen for Gateway {key[0]}/{key[1]} port {port}")
            gname = local_gateway_name(*key)
            entry = gateways.setdefault(gname, {"port": ports.listeners[key], "listeners": []})
            out = {"name": str(listener.get("name")), "protocol": "HTTP"}
            if listener.get("hostname"):
                out["hostname"] = str(listener["hostname"])
            entry["listeners"].append(out)
            name = str(listener.get("name"))
            local[(_ns(gw), _name(gw), name)] = _LocalListener(gname, name, listener.get("hostname"))
    return gateways, local


def _namespace_labels(objects: Mapping[ObjectRef, dict], namespace: str) -> dict:
    doc = objects.get(ObjectRef("Namespace", "", namespace))
    labels = dict(_labels(doc)) if doc else {}
    labels.setdefault("kubernetes.io/metadata.name", namespace)
    return labels


def _allows(objects: Mapping[ObjectRef, dict], gw: dict, listener: dict, route_namespace: str) -> bool:
    namespaces = ((listener.get("allowedRoutes") or {}).get("namespaces") or {})
    source = namespaces.get("from", "Same")
    if source == "All":
        return True
    if source == "Same":
        return route_namespace == _ns(gw)
    if source == "Selector":
        selector = namespaces.get("selector") or {}
        labels = _namespace_labels(objects, route_namespace)
        if selector.get("matchExpressions"):
            raise Untranslatable(f"Gateway {_ns(gw)}/{_name(gw)}: allowedRoutes selector matchExpressions are not translated")
        return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())
    return False


def _attached_listeners(objects: Mapping[ObjectRef, dict], route: dict) -> list[tuple[dict, dict]]:
    """(Gateway, listener) pairs an HTTPRoute attaches to, per its parentRefs."""
    found: list[tuple[dict, dict]] = []
    gateways = {(_ns(gw), _name(gw)): gw for gw in _gateways(objects)}
    for parent in (route.get("spec") or {}).get("parentRefs") or []:
        if parent.get("group", GATEWAY_GROUP) != GATEWAY_GROUP or parent.get("kind", "Gateway") != "Gateway":
            continue
        gw = gateways.get((parent.get("namespace") or _ns(route), parent.get("name")))
        if gw is None:
            continue
        for listener in _listeners(gw):
            if parent.get("sectionName") and parent["sectionName"] != listener.get("name"):
                continue
            if parent.get("port") and int(parent["port"]) != int(listener.get("port") or 0):
                continue
            if not _allows(objects, gw, listener, _ns(route)):
                continue
            if (gw, listener) not in found:
                found.append((gw, listener))
    return found


# --- routes ---------------------------------------------------------------------------


def _host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def _effective_hostnames(listener_host: str | None, route_hosts: list[str]) -> list[str] | None:
    """Route hostnames as the Gateway API intersects them with the listener's; None: no overlap."""
    if not route_hosts:
        return [listener_host] if listener_host else []
    if not listener_host:
        return list(route_hosts)
    out = []
    for host in route_hosts:
        if _host_matches(listener_host, host) or host == listener_host:
            out.append(host)
        elif _host_matches(host, listener_host):
            out.append(listener_host)
    return list(dict.fromkeys(out)) or None


def rule_route_name(route_name: str, rule: dict, index: int) -> str:
    return f"{route_name}/{rule['name']}" if rule.get("name") else f"{route_name}/#{index}"


def _match(match: dict) -> dict:
    out: dict = {}
    path = match.get("path") or {}
    kind, value = path.get("type", "PathPrefix"), path.get("value", "/")
    out["path"] = {"PathPrefix": {"pathPrefix": value}, "Exact": {"exact": value}, "RegularExpression": {"regex": value}}.get(kind)
    if out["path"] is None:
        raise Untranslatable(f"path match type {kind} is not translated")
    headers = []
    for header in match.get("headers") or []:
        kind = header.get("type", "Exact")
        if kind not in ("Exact", "RegularExpression"):
            raise Untranslatable(f"header match type {kind} is not translated")
        headers.append({"name": header["name"], "value": {"exact" if kind == "Exact" else "regex": header["value"]}})
    if headers:
        out["headers"] = headers
    query = []
    for param in match.get("queryParams") or []:
        kind = param.get("type", "Exact")
        if kind not in ("Exact", "RegularExpression"):
            raise Untranslatable(f"query parameter match type {kind} is not translated")
        query.append({"name": param["name"], "value": {"exact" if kind == "Exact" else "regex": param["value"]}})
    if query:
        out["query"] = query
    if match.get("method"):
        out["method"] = match["method"]
    return out


def _endpoints(objects: Mapping[ObjectRef, dict], namespace: str, service: dict, port: int) -> list[str]:
    ports = [p for p in (service.get("spec") or {}).get("ports") or [] if int(p.get("port") or 0) == port]
    if not ports:
        return []
    port_name = ports[0].get("name") or ""
    hosts = []
    for ref, slice_ in sorted(objects.items()):
        if ref.kind != "EndpointSlice" or ref.namespace != namespace:
            continue
        if _labels(slice_).get("kubernetes.io/service-name") != _name(service):
            continue
        numbers = [p.get("port") for p in slice_.get("ports") or [] if (p.get("name") or "") == port_name and p.get("port")]
        if not numbers:
            continue
        for endpoint in slice_.get("endpoints") or []:
            if (endpoint.get("conditions") or {}).get("ready") is False:
                continue
            for address in endpoint.get("addresses") or []:
                host = f"[{address}]" if ":" in str(address) else str(address)
                hosts.append(f"{host}:{int(numbers[0])}")
    return list(dict.fromkeys(hosts))


def _granted(objects: Mapping[ObjectRef, dict], route: dict, namespace: str, service: str) -> bool:
    """Whether a ReferenceGrant in `namespace` lets this route's namespace refer to the Service."""
    for grant in _of_kind(objects, "ReferenceGrant"):
        if _ns(grant) != namespace:
            continue
        spec = grant.get("spec") or {}
        allowed_from = any(f.get("group") == GATEWAY_GROUP and f.get("kind") == "HTTPRoute" and f.get("namespace") == _ns(route)
                           for f in spec.get("from") or [])
        allowed_to = any((t.get("group") or "") == "" and t.get("kind") == "Service" and t.get("name") in (None, "", service)
                         for t in spec.get("to") or [])
        if allowed_from and allowed_to:
            return True
    return False


def _backends(objects: Mapping[ObjectRef, dict], route: dict, rule: dict, notes: list[str]) -> list[dict]:
    out = []
    for ref in rule.get("backendRefs") or []:
        where = f"HTTPRoute {_ns(route)}/{_name(route)} backendRef {ref.get('name')}"
        weight = int(ref.get("weight", 1))
        if weight == 0:
            continue
        namespace = ref.get("namespace") or _ns(route)
        hosts: list[str] = []
        if ref.get("group", "") != "" or ref.get("kind", "Service") != "Service":
            notes.append(f"{where}: only core Services are followed")
        elif namespace != _ns(route) and not _granted(objects, route, namespace, str(ref.get("name"))):
            notes.append(f"{where}: no ReferenceGrant in namespace {namespace} allows it")
        else:
            service = objects.get(ObjectRef("Service", namespace, str(ref.get("name"))))
            hosts = _endpoints(objects, namespace, service, int(ref.get("port") or 0)) if service else []
            if not hosts:
                notes.append(f"{where}: no ready endpoint")
        # An invalid reference keeps its share of the traffic, which the proxy answers with a 500.
        out += [{"host": host, "weight": weight} for host in hosts] or [{"invalid": None, "weight": weight}]
    return out


def _translate_routes(
    objects: Mapping[ObjectRef, dict], local: dict[tuple[str, str, str], _LocalListener], notes: list[str]
) -> tuple[list[dict], dict]:
    """Local routes, and for each (namespace, route name) the local route names per rule."""
    routes: list[dict] = []
    names: dict[tuple[str, str], dict[str | None, list[int]]] = {}  # -> {rule name: [indexes into routes]}
    for route in _of_kind(objects, "HTTPRoute"):
        spec = route.get("spec") or {}
        by_rule = names.setdefault((_ns(route), _name(route)), {})
        for gw, listener in _attached_listeners(objects, route):
            target = local[(_ns(gw), _name(gw), str(listener.get("name")))]
            hostnames = _effective_hostnames(target.hostname, [str(h) for h in spec.get("hostnames") or []])
            if hostnames is None:
                continue
            for index, rule in enumerate(spec.get("rules") or [{}]):
                if rule.get("filters"):
                    raise Untranslatable(f"HTTPRoute {_ns(route)}/{_name(route)}: rule filters are not translated")
                local_route = {
                    "gateways": [target.reference],
                    "name": rule_route_name(_name(route), rule, index),
                    "namespace": _ns(route),
                }
                if hostnames:
                    local_route["hostnames"] = hostnames
                local_route["matches"] = [_match(m) for m in rule.get("matches") or [{}]]
                local_route["backends"] = _backends(objects, route, rule, notes)
                by_rule.setdefault(rule.get("name"), []).append(len(routes))
                routes.append(local_route)
    return routes, names


# --- keys -----------------------------------------------------------------------------

_HASH = re.compile(r"^sha256:[0-9a-fA-F]{64}$")


def _go_space(c: str) -> bool:
    # Go's unicode.IsSpace, which bytes.TrimSpace uses.
    return c in "\t\n\v\f\r \x85\xa0\u2028\u2029" or unicodedata.category(c) == "Zs"


def _go_trim(value: str) -> str:
    start, end = 0, len(value)
    while start < end and _go_space(value[start]):
        start += 1
    while end > start and _go_space(value[end - 1]):
        end -= 1
    return value[start:end]


def _json_entry(text: str) -> tuple[str, str, object]:
    """(key, keyHash, metadata) of a JSON entry, field names folded as Go's encoding/json does.

    Go assigns every member whose name matches a field case-insensitively, in document
    order, so the last such member wins.
    """
    pairs = json.loads(text, object_pairs_hook=list)
    if not isinstance(pairs, list) or (pairs and not isinstance(pairs[0], tuple)):
        raise ValueError("not a JSON object")
    values = json.loads(text)
    key, key_hash, metadata = "", "", None
    for name, _ in pairs:
        folded = name.lower()
        value = values[name]  # the last member of this exact name, as Go keeps it
        if folded in ("key", "keyhash"):
            if value is None:
                continue
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string")
            if folded == "key":
                key = value
            else:
                key_hash = value
        elif folded == "metadata":
            metadata = value
    return key, key_hash, metadata


def parse_entry(kind: str, source: str, entry: str, raw: bytes) -> dict:
    """One Secret or ConfigMap entry as a local key, or ValueError saying why it is skipped."""
    def invalid(reason: str) -> ValueError:
        return ValueError(f"{kind} {source} contains invalid key {entry}: {reason}")

    try:
        value = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid("not UTF-8") from None
    trimmed = _go_trim(value)
    if not trimmed:
        raise invalid("empty value")
    if not trimmed.startswith("{"):
        key, key_hash, metadata = value, "", None
    else:
        try:
            key, key_hash, metadata = _json_entry(trimmed)
        except (ValueError, RecursionError) as exc:
            raise invalid(f"bad JSON: {exc}") from None
    if (key == "") == (key_hash == ""):
        raise invalid("exactly one of key or keyHash must be set")
    if kind == "configMap" and key:
        raise invalid("keys sourced from a ConfigMap must use keyHash")
    if key_hash and not _HASH.match(key_hash):
        raise invalid("keyHash must be sha256:<64 hex digits>")
    if metadata is not None and not isinstance(metadata, dict):
        raise invalid("metadata must be an object")
    out: dict = {"key": key} if key else {"keyHash": key_hash}
    if metadata:
        out["metadata"] = metadata
    return out


def _secret_data(secret: dict) -> dict[str, bytes]:
    data: dict[str, bytes] = {}
    for name, value in (secret.get("data") or {}).items():
        try:
            data[str(name)] = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            data[str(name)] = b"\xff"  # not decodable: reported as not UTF-8
    for name, value in (secret.get("stringData") or {}).items():
        data[str(name)] = ("" if value is None else str(value)).encode("utf-8")
    return data


def _selected(objects: Mapping[ObjectRef, dict], kind: str, namespace: str, selector: dict) -> list[dict]:
    if selector.get("matchExpressions"):
        raise Untranslatable(f"{kind} selectors with matchExpressions are not translated")
    wanted = selector.get("matchLabels") or {}
    return [doc for doc in _of_kind(objects, kind) if _ns(doc) == namespace and all(_labels(doc).get(k) == v for k, v in wanted.items())]


def policy_keys(objects: Mapping[ObjectRef, dict], namespace: str, auth: dict, notes: list[str]) -> list[dict]:
    """The keys an apiKeyAuthentication block resolves to, as the controller computes them."""
    sources: list[tuple[str, str, dict[str, bytes]]] = []
    ref = auth.get("secretRef")
    if ref:
        secret = None
        if ref.get("group", "") in ("", None) and ref.get("kind", "Secret") in ("Secret", "", None):
            secret = objects.get(ObjectRef("Secret", namespace, str(ref.get("name"))))
        if secret is None:
            notes.append(f"secret {namespace}/{ref.get('name')} not found")
        else:
            sources = [("secret", _name(secret), _secret_data(secret))]
    if auth.get("secretSelector") is not None:
        sources = [("secret", _name(s), _secret_data(s)) for s in _selected(objects, "Secret", namespace, auth["secretSelector"])]
    if auth.get("configMapSelector") is not None:
        sources = [
            ("configMap", _name(c), {str(k): ("" if v is None else str(v)).encode("utf-8") for k, v in (c.get("data") or {}).items()})
            for c in _selected(objects, "ConfigMap", namespace, auth["configMapSelector"])
        ]
    keys = []
    for kind, source, data in sources:
        for entry, raw in sorted(data.items()):
            try:
                keys.append(parse_entry(kind, source, entry, raw))
            except ValueError as exc:
                notes.append(str(exc))
    keys.sort(key=lambda k: (k.get("key", ""), k.get("keyHash", "")))
    return keys


# --- policies -------------------------------------------------------------------------

_TRANSLATED_TRAFFIC = {"apiKeyAuthentication", "phase"}


def _location(location: dict | None) -> dict | None:
    if not location:
        return None
    if location.get("header") is not None:
        header = location["header"]
        out = {"name": header.get("name")}
        if header.get("prefix") is not None:
            out["prefix"] = header["prefix"]
        return {"header": out}
    if location.get("queryParameter") is not None:
        return {"queryParameter": {"name": location["queryParameter"].get("name")}}
    if location.get("cookie") is not None:
        return {"cookie": {"name": location["cookie"].get("name")}}
    if location.get("expression") is not None:
        return {"expression": location["expression"]}
    return None


def api_key_policy(objects: Mapping[ObjectRef, dict], namespace: str, auth: dict, notes: list[str]) -> dict:
    out: dict = {"keys": policy_keys(objects, namespace, auth, notes), "mode": str(auth.get("mode") or "Strict").lower()}
    location = _location(auth.get("location"))
    if location is not None:
        out["location"] = location
    return out


def _translate_policies(
    objects: Mapping[ObjectRef, dict], local: dict, route_names: dict, routes: list[dict], notes: list[str]
) -> list[dict]:
    served = {(_ns(gw), _name(gw)) for gw in _gateways(objects)}
    policies: list[dict] = []
    inline_done: set[int] = set()
    for policy in _of_kind(objects, "AgentgatewayPolicy"):
        where = f"AgentgatewayPolicy {_ns(policy)}/{_name(policy)}"
        spec = policy.get("spec") or {}
        traffic = spec.get("traffic") or {}
        extra = sorted(set(traffic) - _TRANSLATED_TRAFFIC) + sorted(k for k in ("backend", "frontend") if spec.get(k))
        if extra:
            raise Untranslatable(f"{where}: {', '.join(extra)} is not translated (only traffic.apiKeyAuthentication)")
        if (spec.get("strategy") or {}).get("inheritance") not in (None, "Default"):
            raise Untranslatable(
                f"{where}: strategy.inheritance {spec['strategy']['inheritance']} cannot be expressed: the local configuration's "
                "policies have no inheritance field"
            )
        auth = traffic.get("apiKeyAuthentication")
        if auth is None:
            continue
        phase = "gateway" if traffic.get("phase") == "PreRouting" else "route"
        body = {"apiKey": api_key_policy(objects, _ns(policy), auth, notes)}
        n = 0

        def add(target: dict) -> None:
            nonlocal n
            entry = {"name": {"name": f"{_name(policy)}/{n}", "namespace": _ns(policy)}, "target": target}
            if phase != "route":
                entry["phase"] = phase
            entry["policy"] = body
            policies.append(entry)
            n += 1

        for ref in spec.get("targetRefs") or []:
            kind, name, section = ref.get("kind"), str(ref.get("name")), ref.get("sectionName")
            if ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP or kind not in ("Gateway", "HTTPRoute"):
                raise Untranslatable(f"{where}: targetRefs of kind {kind} are not translated (Gateway and HTTPRoute only)")
            if kind == "Gateway":
                if (_ns(policy), name) not in served:
                    continue
                listeners = [v for (gns, gname, _), v in local.items() if (gns, gname) == (_ns(policy), name)]
                if section:
                    listeners = [v for v in listeners if v.listener == section]
                elif len(served) == 1:
                    add({"gateway": dict(PROXY_GATEWAY)})
                    continue
                for listener in listeners:
                    add({"gateway": {**PROXY_GATEWAY, "listenerName": listener.reference}})
            else:
                rules = route_names.get((_ns(policy), name), {})
                if section:
                    for index in rules.get(section, []):
                        if index in inline_done:
                            notes.append(f"{where}: rule {name}/{section} already has a policy; the product leaves the winner undefined")
                            continue
                        routes[index]["policies"] = body
                        inline_done.add(index)
                else:
                    for local_name in dict.fromkeys(routes[i]["name"] for idx in rules.values() for i in idx):
                        add({"route": {"name": local_name, "namespace": _ns(policy)}})
    return policies
