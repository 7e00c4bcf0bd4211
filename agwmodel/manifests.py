"""Turning Kubernetes manifests (YAML text or API objects) into validated model objects.

The one reader of manifests in the project: the reference gateway and the translation for
the real proxy both start here.

Validation follows the published schemas closely enough that an object accepted here is
one the API server would also accept; every error names the field that is wrong.

Validation is total: every value is type-checked before it is used, so a document of any
shape ends in a model object or a `ManifestError`, never in another exception. Error
messages name fields, never echo values (a value may be a key).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from . import model as m
from .carriers import CARRIERS

UNDERSTOOD = {
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "Namespace"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    (m.GATEWAY_GROUP, "Gateway"),
    (m.GATEWAY_GROUP, "HTTPRoute"),
    (m.GATEWAY_GROUP, "ListenerSet"),
    (m.GATEWAY_GROUP, "ReferenceGrant"),
    (m.POLICY_GROUP, "AgentgatewayPolicy"),
}

# Object names as the API server checks them: DNS subdomains, and DNS labels for namespaces.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Keys of Secret and ConfigMap data.
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")


class ManifestError(ValueError):
    """An object that cannot be used. `where` names the source, `field` the offending path."""

    def __init__(self, message: str, *, field: str = "", where: str = "", subject: str = ""):
        self.message, self.field, self.where, self.subject = message, field, where, subject
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = [p for p in (self.where, self.subject) if p]
        head = ": ".join(parts)
        body = f"{self.field}: {self.message}" if self.field else self.message
        return f"{head}: {body}" if head else body


@dataclass(frozen=True)
class Ignored:
    """A well-formed object of a kind the gateway has no use for."""

    api_version: str
    kind: str
    name: str


def group_of(api_version: str) -> str:
    return api_version.rsplit("/", 1)[0] if "/" in api_version else "v1"


def shown(value: object) -> str:
    """A name or key for an error message: short, one line, and never a value's contents."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    if len(value) > 80:
        value = value[:77] + "..."
    return value if value.isprintable() else repr(value)


# libyaml's parser, where PyYAML was built with it, reads a Secret of 10,000 keys ten
# times faster than the pure Python one; both are the safe loader.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str, where: str) -> Iterator[tuple[int, Any]]:
    """Yield (1-based document index, document) for the non-empty documents in `text`."""
    try:
        documents = list(yaml.load_all(text, Loader=_SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ManifestError(f"invalid YAML{line}: {problem}", where=where) from None
    except RecursionError:
        raise ManifestError("invalid YAML: nested too deeply", where=where) from None
    except Exception as exc:  # noqa: BLE001 -- e.g. a date no calendar has; name the kind of problem only
        raise ManifestError(f"invalid YAML: a value cannot be read ({type(exc).__name__})", where=where) from None
    for index, doc in enumerate(documents, start=1):
        if doc is not None:
            yield index, doc


def parse_manifest(text: str, where: str, read: Callable[..., m.Resource | Ignored] | None = None) -> list[m.Resource | Ignored]:
    """Parse every document of a YAML file (with `read`, a stricter reader than `parse_object`).

    The first bad document fails the whole file.
    """
    read = read or parse_object
    return [read(doc, where=f"{where}: document {index}") for index, doc in load_yaml(text, where)]


def parse_object(doc: Any, where: str = "", order: tuple = ()) -> m.Resource | Ignored:
    if not isinstance(doc, dict):
        raise ManifestError("a manifest must be a mapping", where=where)
    subject = describe(doc)
    try:
        kind = _str(doc, "kind", required=True)
        api_version = _str(doc, "apiVersion", required=True)
        metadata = _mapping(doc, "metadata", required=True)
        name = _str(metadata, "name", "metadata.", required=True)
        if (group_of(api_version), kind) not in UNDERSTOOD and (api_version, kind) not in UNDERSTOOD:
            return Ignored(api_version, kind, name)
        _name(name, "metadata.name", _SUBDOMAIN, 253)
        namespace = _str(metadata, "namespace", "metadata.", default="default")
        if kind == "Namespace":
            _name(name, "metadata.name", _LABEL, 63)
            namespace = ""
        else:
            _name(namespace, "metadata.namespace", _LABEL, 63)
        labels = _string_map(metadata, "labels", "metadata.")
        meta = m.Meta(kind, namespace, name, labels, order)
        return _PARSERS[kind](meta, doc)
    except ManifestError as exc:
        raise ManifestError(exc.message, field=exc.field, where=where, subject=subject) from None


def describe(doc: dict) -> str:
    """`Kind namespace/name` for messages, from whatever a document has of them."""
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    kind, name, namespace = doc.get("kind"), metadata.get("name"), metadata.get("namespace")
    kind_text = shown(kind) if kind is not None else "object"
    name_text = shown(name) if name is not None else "(no name)"
    if kind == "Namespace":
        return f"{kind_text} {name_text}"
    return f"{kind_text} {shown(namespace) if namespace else 'default'}/{name_text}"


def object_key(doc: Any) -> tuple[str, str, str]:
    """(kind, namespace, name) of any document, as strings, for bookkeeping of bad objects."""
    if not isinstance(doc, dict):
        return ("", "", "")
    metadata = doc.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    kind = doc.get("kind")
    kind = kind if isinstance(kind, str) else shown(kind)
    namespace = metadata.get("namespace") or "default"
    name = metadata.get("name")
    return (
        kind,
        "" if kind == "Namespace" else (namespace if isinstance(namespace, str) else shown(namespace)),
        name if isinstance(name, str) else shown(name),
    )


# --- helpers: each checks the type of what it returns -------------------------------------


def _mapping(obj: dict, key: str, path: str = "", required: bool = False) -> dict:
    value = obj.get(key)
    if value is None:
        if required:
            raise ManifestError("required", field=path + key)
        return {}
    if not isinstance(value, dict):
        raise ManifestError("must be a mapping", field=path + key)
    return value


def _list(obj: dict, key: str, path: str = "") -> list:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError("must be a list", field=path + key)
    return value


def _mappings(obj: dict, key: str, path: str = "") -> list[tuple[str, dict]]:
    """The items of a list of mappings, each with the path prefix of its own fields."""
    out = []
    for i, item in enumerate(_list(obj, key, path)):
        here = f"{path}{key}[{i}]"
        if not isinstance(item, dict):
            raise ManifestError("must be a mapping", field=here)
        out.append((here + ".", item))
    return out


def _strings(obj: dict, key: str, path: str = "") -> list[str]:
    out = []
    for i, item in enumerate(_list(obj, key, path)):
        if not isinstance(item, str):
            raise ManifestError("must be a string", field=f"{path}{key}[{i}]")
        out.append(item)
    return out


def _str(obj: dict, key: str, path: str = "", required: bool = False, default: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise ManifestError("required", field=path + key)
        return default
    if not isinstance(value, str):
        raise ManifestError("must be a string", field=path + key)
    return value


def _name(value: str, field: str, pattern: re.Pattern, limit: int) -> None:
    if len(value) > limit or not pattern.fullmatch(value):
        raise ManifestError(f"must be a lowercase DNS name of at most {limit} characters", field=field)


def _int(obj: dict, key: str, path: str = "", required: bool = False, default: int | None = None) -> int | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ManifestError("required", field=path + key)
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ManifestError("must be an integer", field=path + key)
    return value


def _port(obj: dict, key: str, path: str, required: bool = True) -> int | None:
    value = _int(obj, key, path, required=required)
    if value is not None and not 1 <= value <= 65535:
        raise ManifestError("must be between 1 and 65535", field=path + key)
    return value


def _enum(obj: dict, key: str, path: str, allowed: tuple[str, ...], default: str) -> str:
    # An empty string is a value here, and not an allowed one: only a missing field takes the default.
    value = _str(obj, key, path, default=default) if obj.get(key) != "" else ""
    if value not in allowed:
        raise ManifestError(f"unsupported value {shown(value)!r}: one of {', '.join(allowed)}", field=path + key)
    return value


def _string_map(obj: dict, key: str, path: str) -> dict[str, str]:
    """A map of strings to strings (labels, selectors, ConfigMap data). Null values are empty."""
    out = {}
    for k, v in _mapping(obj, key, path).items():
        if not isinstance(k, str):
            raise ManifestError(f"keys must be strings, found {shown(k)}", field=path + key)
        if v is None:
            v = ""
        if not isinstance(v, str):
            raise ManifestError("must be a string", field=f"{path}{key}.{shown(k)}")
        out[k] = v
    return out


def _labels(obj: dict, key: str, path: str) -> dict[str, str]:
    return _string_map(obj, key, path)


def _data_keys(data: dict[str, str], field: str) -> None:
    for k in data:
        if len(k) > 253 or not _DATA_KEY.fullmatch(k):
            raise ManifestError("keys may only hold letters, digits, '-', '_' and '.'", field=f"{field}.{shown(k)}")


def _exactly_one(obj: dict, names: tuple[str, ...], path: str) -> str:
    present = [n for n in names if obj.get(n) is not None]
    if len(present) != 1:
        # Same words as the CRD's validation rule, so both targets report alike.
        raise ManifestError(f"exactly one of the fields in [{' '.join(names)}] must be set", field=path.rstrip("."))
    return present[0]


# --- kinds ---------------------------------------------------------------------------------


def _listeners(spec: dict) -> tuple[m.Listener, ...]:
    listeners = []
    for path, item in _mappings(spec, "listeners", "spec."):
        allowed = _mapping(_mapping(item, "allowedRoutes", path), "namespaces", path + "allowedRoutes.")
        ns_path = path + "allowedRoutes.namespaces."
        if _mapping(allowed, "selector", ns_path).get("matchExpressions"):
            # Read as matchLabels alone, it would admit routes the product keeps out.
            raise ManifestError("not supported: select namespaces with matchLabels", field=ns_path + "selector.matchExpressions")
        listeners.append(
            m.Listener(
                name=_str(item, "name", path, required=True),
                port=_port(item, "port", path),
                protocol=_str(item, "protocol", path, required=True),
                hostname=_str(item, "hostname", path),
                routes_from=_enum(allowed, "from", ns_path, ("Same", "All", "Selector"), "Same"),
                routes_selector=_labels(_mapping(allowed, "selector", ns_path), "matchLabels", ns_path + "selector."),
            )
        )
    if not listeners:
        raise ManifestError("at least one listener is required", field="spec.listeners")
    names = [listener.name for listener in listeners]
    if len(set(names)) != len(names):
        raise ManifestError("listener names must be unique", field="spec.listeners")
    return tuple(listeners)


def _gateway(meta: m.Meta, doc: dict) -> m.Gateway:
    spec = _mapping(doc, "spec", required=True)
    class_name = _str(spec, "gatewayClassName", "spec.", required=True)
    listeners = _listeners(spec)
    allowed = _mapping(_mapping(spec, "allowedListeners", "spec."), "namespaces", "spec.allowedListeners.")
    sets_from = _enum(allowed, "from", "spec.allowedListeners.namespaces.", ("None", "Same", "All"), "None")
    return m.Gateway(meta, class_name, listeners, sets_from)


def _listener_set(meta: m.Meta, doc: dict) -> m.ListenerSet:
    spec = _mapping(doc, "spec", required=True)
    parent = _mapping(spec, "parentRef", "spec.", required=True)
    if _str(parent, "kind", "spec.parentRef.", default="Gateway") != "Gateway":
        raise ManifestError("must be a Gateway", field="spec.parentRef.kind")
    return m.ListenerSet(meta, _str(parent, "namespace", "spec.parentRef.", default=meta.namespace),
                         _str(parent, "name", "spec.parentRef.", required=True), _listeners(spec))


def _regex(value: str, field: str) -> str:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        raise ManifestError("not a valid regular expression", field=field) from None
    return value


def _value_matches(item: dict, key: str, path: str, lower: bool) -> tuple[m.ValueMatch, ...]:
    """Header (`lower`: names are case-insensitive) or query parameter matches."""
    out = []
    for vpath, entry in _mappings(item, key, path):
        kind = _enum(entry, "type", vpath, ("Exact", "RegularExpression"), "Exact")
        name = _str(entry, "name", vpath, required=True)
        value = _str(entry, "value", vpath, required=True)
        if kind == "RegularExpression":
            _regex(value, vpath + "value")
        out.append(m.ValueMatch(name.lower() if lower else name, value, kind))
    return tuple(out)


def _route_match(item: dict, path: str) -> m.RouteMatch:
    path_spec = _mapping(item, "path", path)
    kind = _enum(path_spec, "type", path + "path.", ("PathPrefix", "Exact", "RegularExpression"), "PathPrefix")
    value = _str(path_spec, "value", path + "path.", default="/")
    if kind == "RegularExpression":
        _regex(value, path + "path.value")
    elif not value.startswith("/"):
        raise ManifestError("must start with '/'", field=path + "path.value")
    method = _enum(item, "method", path, _METHODS, "") if item.get("method") is not None else None
    return m.RouteMatch(
        m.PathMatch(kind, value), method, _value_matches(item, "headers", path, lower=True), _value_matches(item, "queryParams", path, lower=False)
    )


def _http_route(meta: m.Meta, doc: dict) -> m.HTTPRoute:
    spec = _mapping(doc, "spec", required=True)
    parents = []
    for path, ref in _mappings(spec, "parentRefs", "spec."):
        kind = _str(ref, "kind", path, default="Gateway")
        if kind not in ("Gateway", "ListenerSet") or _str(ref, "group", path, default=m.GATEWAY_GROUP) != m.GATEWAY_GROUP:
            continue  # a parent of another kind is some other implementation's to serve
        parents.append(
            m.ParentRef(_str(ref, "namespace", path, default=meta.namespace), _str(ref, "name", path, required=True),
                        _str(ref, "sectionName", path), kind, _port(ref, "port", path, required=False))
        )
    hostnames = tuple(h.lower() for h in _strings(spec, "hostnames", "spec."))
    rules = []
    listed = _mappings(spec, "rules", "spec.") or [("spec.rules[0].", {})]
    for path, rule in listed:
        matches = tuple(_route_match(item, mpath) for mpath, item in _mappings(rule, "matches", path))
        backends = []
        for bpath, ref in _mappings(rule, "backendRefs", path):
            group, kind = _str(ref, "group", bpath, default=""), _str(ref, "kind", bpath, default="Service")
            weight = _int(ref, "weight", bpath, default=1)
            if not 0 <= weight <= 1_000_000:
                raise ManifestError("must be between 0 and 1000000", field=bpath + "weight")
            backends.append(
                m.BackendRef(
                    _str(ref, "name", bpath, required=True),
                    _str(ref, "namespace", bpath, default=meta.namespace),
                    _port(ref, "port", bpath, required=(group, kind) == ("", "Service")),
                    weight,
                    group,
                    kind,
                )
            )
        filters = tuple(_str(f, "type", fpath, required=True) for fpath, f in _mappings(rule, "filters", path))
        matches = matches or (m.RouteMatch(m.PathMatch("PathPrefix", "/"), None),)
        rules.append(m.RouteRule(_str(rule, "name", path), matches, tuple(backends), filters))
    return m.HTTPRoute(meta, tuple(parents), hostnames, tuple(rules))


def _service_ports(obj: dict, path: str) -> tuple[m.ServicePort, ...]:
    return tuple(m.ServicePort(_str(p, "name", ppath, default=""), _port(p, "port", ppath)) for ppath, p in _mappings(obj, "ports", path))


def _service(meta: m.Meta, doc: dict) -> m.Service:
    spec = _mapping(doc, "spec", required=True)
    return m.Service(meta, _service_ports(spec, "spec."))


def _endpoint_slice(meta: m.Meta, doc: dict) -> m.EndpointSlice:
    service = meta.labels.get("kubernetes.io/service-name")
    if not service:
        raise ManifestError("the label kubernetes.io/service-name is required", field="metadata.labels")
    ports = _service_ports(doc, "")
    addresses = []
    for path, endpoint in _mappings(doc, "endpoints"):
        conditions = _mapping(endpoint, "conditions", path)
        ready = conditions.get("ready")
        if ready is not None and not isinstance(ready, bool):
            raise ManifestError("must be true or false", field=path + "conditions.ready")
        if ready is False:
            continue
        addresses.extend(_strings(endpoint, "addresses", path))
    return m.EndpointSlice(meta, service, ports, tuple(addresses))


def _secret(meta: m.Meta, doc: dict) -> m.Secret:
    data: dict[str, bytes] = {}
    encoded = _string_map(doc, "data", "")
    _data_keys(encoded, "data")
    for key, value in encoded.items():
        try:
            data[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ManifestError("not valid base64", field=f"data.{key}") from None
    plain = _string_map(doc, "stringData", "")
    _data_keys(plain, "stringData")
    for key, value in plain.items():
        data[key] = value.encode()
    return m.Secret(meta, data)


def _config_map(meta: m.Meta, doc: dict) -> m.ConfigMap:
    data = _string_map(doc, "data", "")
    _data_keys(data, "data")
    return m.ConfigMap(meta, data)


def _namespace(meta: m.Meta, doc: dict) -> m.Namespace:
    return m.Namespace(meta)


def _group(obj: dict, path: str) -> str:
    """An API group: required, and empty for the core group."""
    if obj.get("group") is None:
        raise ManifestError("required (empty for the core group)", field=path + "group")
    return _str(obj, "group", path, default="")


def _reference_grant(meta: m.Meta, doc: dict) -> m.ReferenceGrant:
    spec = _mapping(doc, "spec", required=True)
    sides = {}
    for side in ("from", "to"):
        items = _mappings(spec, side, "spec.")
        if not 1 <= len(items) <= 16:
            raise ManifestError("between 1 and 16 entries are required", field=f"spec.{side}")
        sides[side] = items
    origins = tuple(
        m.GrantFrom(_group(f, path), _str(f, "kind", path, required=True), _str(f, "namespace", path, required=True))
        for path, f in sides["from"]
    )
    targets = tuple(m.GrantTo(_group(t, path), _str(t, "kind", path, required=True), _str(t, "name", path)) for path, t in sides["to"])
    return m.ReferenceGrant(meta, origins, targets)


_TARGET_KINDS = ("Gateway", "HTTPRoute", "ListenerSet", "GRPCRoute")

# The fields of an AgentgatewayPolicy, as the v1.4.1 CRD defines them. A name that is not
# here is refused, as an API server with strict field validation (kubectl's default)
# refuses it: a misspelt `apiKeyAuthentification:` must not quietly leave a route without
# authentication. A mapping lists its fields; a list of mappings is `[fields]`; `None` is a
# value whose inside is not checked here: a leaf, a free map (`matchLabels`), or a part of
# the policy this gateway does not interpret (CORS, rate limits, ...), whose names the CRD
# checks and this gateway never reads. Fields Kubernetes itself adds (`metadata.*`,
# `status`) are never refused.
_SELECTOR = {"matchLabels": None}
_API_KEY_FIELDS = {
    "mode": None,
    "secretRef": dict.fromkeys(("group", "kind", "name")),
    "secretSelector": _SELECTOR,
    "configMapSelector": _SELECTOR,
    "location": {word: None if kind.fields is None else dict.fromkeys(kind.fields) for word, kind in CARRIERS.items()},
}
_UNREAD_TRAFFIC = (
    "basicAuthentication", "buffer", "cors", "csrf", "delay", "directResponse", "extAuth", "extProc",
    "headerModifiers", "hostRewrite", "jwtAuthentication", "retry", "timeouts",
)
# Read by agwmodel.traffic: authorization, request transformations and rate limits.
_READ_TRAFFIC = ("apiKeyAuthentication", "phase", "authorization", "transformation", "rateLimit")

# Imported here, not at the top: it reads with the functions above.
from . import traffic as traffic_parts  # noqa: E402

_POLICY_FIELDS = {
    "apiVersion": None,
    "kind": None,
    "metadata": None,
    "status": None,
    "spec": {
        "targetRefs": [dict.fromkeys(("group", "kind", "name", "sectionName", "port"))],
        "targetSelectors": [dict.fromkeys(("group", "kind", "matchLabels", "sectionName", "port"))],
        "traffic": {"apiKeyAuthentication": _API_KEY_FIELDS, "phase": None, **dict.fromkeys(_UNREAD_TRAFFIC), **traffic_parts.FIELDS},
        "frontend": dict.fromkeys(("accessLog", "connect", "http", "metrics", "networkAuthorization", "proxyProtocol", "tcp", "tls", "tracing")),
        "backend": dict.fromkeys(("ai", "auth", "extAuth", "health", "http", "mcp", "tcp", "tls", "transformation", "tunnel")),
        "strategy": {"inheritance": None},
    },
}


def _unknown_fields(value: Any, fields: dict | list | None, path: str) -> None:
    """Refuse the first field `fields` does not define, anywhere below `value`.

    Only the shape of names is checked: a value of the wrong type is left for the typed
    checks that read it, so that their message (which says what the type should be) wins.
    """
    if isinstance(fields, list) and isinstance(value, list):
        for i, item in enumerate(value):
            _unknown_fields(item, fields[0], f"{path}[{i}]")
    elif isinstance(fields, dict) and isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{shown(key)}" if path else shown(key)
            if key not in fields:
                raise ManifestError("unknown field: not in the AgentgatewayPolicy schema", field=here)
            _unknown_fields(item, fields[key], here)


def _targets(spec: dict) -> tuple[m.TargetRef, ...]:
    """`spec.targetRefs`; empty when the policy selects its targets by label (`targetSelectors`,
    which the model does not read: the policy then lists it among its unread settings)."""
    if spec.get("targetSelectors") is not None:
        _exactly_one(spec, ("targetRefs", "targetSelectors"), "spec.")  # the CRD's rule, in its words
        return ()
    refs = _mappings(spec, "targetRefs", "spec.")
    if not refs:
        raise ManifestError("at least one target is required", field="spec.targetRefs")
    if len(refs) > 16:
        raise ManifestError("at most 16 targets", field="spec.targetRefs")
    targets = []
    for path, ref in refs:
        if _str(ref, "group", path, required=True) != m.GATEWAY_GROUP:
            raise ManifestError(f"must be {m.GATEWAY_GROUP}", field=path + "group")
        kind = _enum(ref, "kind", path, _TARGET_KINDS, "")
        if _port(ref, "port", path, required=False) is not None and (spec.get("traffic") is not None or spec.get("backend") is not None
                                                                     or spec.get("frontend") is None):
            # The CRD's rule: a port narrows a frontend policy to one listener port, and means nothing elsewhere.
            raise ManifestError("port may only be set on frontend-only policies (not traffic or backend)", field=path + "port")
        targets.append(m.TargetRef(kind, _str(ref, "name", path, required=True), _str(ref, "sectionName", path)))
    if len({t.kind for t in targets}) > 1:
        raise ManifestError("all targets must be of the same kind", field="spec.targetRefs")
    return tuple(targets)


def _unread(spec: dict, traffic: dict) -> tuple[str, ...]:
    """The settings of a policy the model does not interpret, each by its full field path."""
    unread = ["spec.targetSelectors"] if spec.get("targetSelectors") is not None else []
    unread += [f"spec.traffic.{k}" for k, v in traffic.items() if k not in _READ_TRAFFIC and v is not None]
    unread += traffic_parts.unread(traffic, "spec.traffic.")
    for part in ("frontend", "backend"):
        settings = _mapping(spec, part, "spec.")
        unread += [f"spec.{part}.{shown(k)}" for k, v in settings.items() if v is not None]
    return tuple(unread)


def _policy(meta: m.Meta, doc: dict) -> m.Policy:
    _unknown_fields(doc, _POLICY_FIELDS, "")
    spec = _mapping(doc, "spec", required=True)
    targets = _targets(spec)
    traffic = _mapping(spec, "traffic", "spec.")
    phase = _enum(traffic, "phase", "spec.traffic.", ("PreRouting", "PostRouting"), "PostRouting")
    if phase == "PreRouting" and targets and targets[0].kind not in ("Gateway", "ListenerSet"):
        raise ManifestError("PreRouting is only allowed for Gateway and ListenerSet targets", field="spec.traffic.phase")
    inheritance = _enum(_mapping(spec, "strategy", "spec."), "inheritance", "spec.strategy.", ("Default", "Override"), "Default")
    api_key = None
    if traffic.get("apiKeyAuthentication") is not None:
        api_key = _api_key(_mapping(traffic, "apiKeyAuthentication", "spec.traffic."), "spec.traffic.apiKeyAuthentication.")
    return m.Policy(meta, targets, phase, inheritance, api_key, _unread(spec, traffic),
                    traffic_parts.authorization(traffic, "spec.traffic."), traffic_parts.transformation(traffic, "spec.traffic."),
                    traffic_parts.rate_limit(traffic, "spec.traffic."))


def _api_key(spec: dict, path: str) -> m.ApiKeyAuth:
    # No mode means Strict, as the CRD's default makes it on Kubernetes.
    mode = _enum(spec, "mode", path, ("Strict", "Optional", "Permissive"), "Strict")
    which = _exactly_one(spec, ("secretRef", "secretSelector", "configMapSelector"), path)
    if which == "secretRef":
        ref = _mapping(spec, "secretRef", path)
        if _str(ref, "kind", path + "secretRef.", default="Secret") != "Secret":
            raise ManifestError("only Secret is supported", field=path + "secretRef.kind")
        source = m.KeySource("secretRef", name=_str(ref, "name", path + "secretRef.", required=True))
    else:
        selector = _mapping(spec, which, path)
        if selector.get("matchLabels") is None:
            raise ManifestError("required", field=f"{path}{which}.matchLabels")
        source = m.KeySource(which, match_labels=_labels(selector, "matchLabels", f"{path}{which}."))
    location = m.DEFAULT_LOCATION
    if spec.get("location") is not None:
        loc = _mapping(spec, "location", path)
        lpath = path + "location."
        member = _exactly_one(loc, tuple(CARRIERS), lpath)
        location = _location(member, loc, lpath)
    return m.ApiKeyAuth(mode, source, location)


def _location(member: str, loc: dict, lpath: str) -> m.KeyLocation:
    """The `location` member that is set, read by the fields its carrier kind has."""
    fields = CARRIERS[member].fields
    if fields is None:  # the member is the value itself (an expression's text)
        return m.KeyLocation(member, _str(loc, member, lpath, required=True))
    item = _mapping(loc, member, lpath)
    name = _str(item, "name", f"{lpath}{member}.", required=True)
    prefix = _str(item, "prefix", f"{lpath}{member}.", default="") if "prefix" in fields else ""
    return m.KeyLocation(member, name, prefix)


_PARSERS = {
    "Gateway": _gateway,
    "HTTPRoute": _http_route,
    "ListenerSet": _listener_set,
    "ReferenceGrant": _reference_grant,
    "Service": _service,
    "EndpointSlice": _endpoint_slice,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "Namespace": _namespace,
    "AgentgatewayPolicy": _policy,
}
