"""Turning Kubernetes manifests (YAML text or API objects) into validated model objects.

Validation follows the published schemas closely enough that an object accepted here is
one the API server would also accept; every error names the field that is wrong.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from . import model as m

UNDERSTOOD = {
    ("v1", "Secret"),
    ("v1", "ConfigMap"),
    ("v1", "Service"),
    ("v1", "Namespace"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    (m.GATEWAY_GROUP, "Gateway"),
    (m.GATEWAY_GROUP, "HTTPRoute"),
    (m.POLICY_GROUP, "AgentgatewayPolicy"),
}


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


def load_yaml(text: str, where: str) -> Iterator[tuple[int, Any]]:
    """Yield (1-based document index, document) for the non-empty documents in `text`."""
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ManifestError(f"invalid YAML{line}: {problem}", where=where) from None
    for index, doc in enumerate(documents, start=1):
        if doc is not None:
            yield index, doc


def parse_manifest(text: str, where: str) -> list[m.Resource | Ignored]:
    """Parse every document of a YAML file. The first bad document fails the whole file."""
    return [parse_object(doc, where=f"{where}: document {index}") for index, doc in load_yaml(text, where)]


def parse_object(doc: Any, where: str = "", order: tuple = ()) -> m.Resource | Ignored:
    if not isinstance(doc, dict):
        raise ManifestError("a manifest must be a mapping", where=where)
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not api_version:
        raise ManifestError("required", field="apiVersion", where=where)
    if not isinstance(kind, str) or not kind:
        raise ManifestError("required", field="kind", where=where)
    metadata = _mapping(doc, "metadata", required=True)
    name = metadata.get("name")
    subject = f"{kind} {metadata.get('namespace') or 'default'}/{name}"
    try:
        if not isinstance(name, str) or not name:
            raise ManifestError("required", field="metadata.name")
        if (group_of(api_version), kind) not in UNDERSTOOD and (api_version, kind) not in UNDERSTOOD:
            return Ignored(api_version, kind, name)
        namespace = metadata.get("namespace") or "default"
        if kind == "Namespace":
            namespace = ""
        labels = metadata.get("labels") or {}
        if not isinstance(labels, dict):
            raise ManifestError("must be a mapping", field="metadata.labels")
        meta = m.Meta(kind, namespace, name, {str(k): str(v) for k, v in labels.items()}, order)
        return _PARSERS[kind](meta, doc)
    except ManifestError as exc:
        raise ManifestError(exc.message, field=exc.field, where=where, subject=subject) from None


# --- helpers -------------------------------------------------------------------------------


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


def _str(obj: dict, key: str, path: str = "", required: bool = False, default: str | None = None) -> str | None:
    value = obj.get(key)
    if value is None or value == "":
        if required:
            raise ManifestError("required", field=path + key)
        return default
    if not isinstance(value, str):
        raise ManifestError("must be a string", field=path + key)
    return value


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
    value = _str(obj, key, path, default=default)
    if value not in allowed:
        raise ManifestError(f"unsupported value {value!r}: one of {', '.join(allowed)}", field=path + key)
    return value


def _labels(obj: dict, key: str, path: str) -> dict[str, str]:
    value = _mapping(obj, key, path)
    return {str(k): str(v) for k, v in value.items()}


def _exactly_one(obj: dict, names: tuple[str, ...], path: str) -> str:
    present = [n for n in names if obj.get(n) is not None]
    if len(present) != 1:
        # Same words as the CRD's validation rule, so both targets report alike.
        raise ManifestError(f"exactly one of the fields in [{' '.join(names)}] must be set", field=path.rstrip("."))
    return present[0]


# --- kinds ---------------------------------------------------------------------------------


def _gateway(meta: m.Meta, doc: dict) -> m.Gateway:
    spec = _mapping(doc, "spec", required=True)
    class_name = _str(spec, "gatewayClassName", "spec.", required=True)
    listeners = []
    for i, item in enumerate(_list(spec, "listeners", "spec.")):
        path = f"spec.listeners[{i}]."
        if not isinstance(item, dict):
            raise ManifestError("must be a mapping", field=path.rstrip("."))
        allowed = _mapping(_mapping(item, "allowedRoutes", path), "namespaces", path + "allowedRoutes.")
        ns_path = path + "allowedRoutes.namespaces."
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
    return m.Gateway(meta, class_name, tuple(listeners))


def _route_match(item: dict, path: str) -> m.RouteMatch:
    path_spec = _mapping(item, "path", path)
    kind = _enum(path_spec, "type", path + "path.", ("PathPrefix", "Exact"), "PathPrefix")
    value = _str(path_spec, "value", path + "path.", default="/")
    if not value.startswith("/"):
        raise ManifestError("must start with '/'", field=path + "path.value")
    headers = []
    for j, header in enumerate(_list(item, "headers", path)):
        hpath = f"{path}headers[{j}]."
        if _enum(header, "type", hpath, ("Exact",), "Exact") == "Exact":
            headers.append((_str(header, "name", hpath, required=True).lower(), _str(header, "value", hpath, default="")))
    return m.RouteMatch(m.PathMatch(kind, value), _str(item, "method", path), tuple(headers))


def _http_route(meta: m.Meta, doc: dict) -> m.HTTPRoute:
    spec = _mapping(doc, "spec", required=True)
    parents = []
    for i, ref in enumerate(_list(spec, "parentRefs", "spec.")):
        path = f"spec.parentRefs[{i}]."
        if _str(ref, "kind", path, default="Gateway") != "Gateway":
            continue  # ListenerSet parents are not served by the reference gateway
        parents.append(
            m.ParentRef(_str(ref, "namespace", path, default=meta.namespace), _str(ref, "name", path, required=True), _str(ref, "sectionName", path))
        )
    hostnames = tuple(h.lower() for h in _list(spec, "hostnames", "spec."))
    rules = []
    for i, rule in enumerate(_list(spec, "rules", "spec.") or [{}]):
        path = f"spec.rules[{i}]."
        matches = tuple(_route_match(item, f"{path}matches[{j}].") for j, item in enumerate(_list(rule, "matches", path)))
        backends = []
        for j, ref in enumerate(_list(rule, "backendRefs", path)):
            bpath = f"{path}backendRefs[{j}]."
            if _str(ref, "kind", bpath, default="Service") != "Service":
                raise ManifestError("only Service backends are supported", field=bpath + "kind")
            backends.append(
                m.BackendRef(
                    _str(ref, "name", bpath, required=True),
                    _str(ref, "namespace", bpath, default=meta.namespace),
                    _port(ref, "port", bpath),
                    _int(ref, "weight", bpath, default=1),
                )
            )
        rules.append(m.RouteRule(_str(rule, "name", path), matches or (m.RouteMatch(m.PathMatch("PathPrefix", "/"), None, ()),), tuple(backends)))
    return m.HTTPRoute(meta, tuple(parents), hostnames, tuple(rules))


def _service(meta: m.Meta, doc: dict) -> m.Service:
    spec = _mapping(doc, "spec", required=True)
    ports = tuple(
        m.ServicePort(_str(p, "name", f"spec.ports[{i}].", default=""), _port(p, "port", f"spec.ports[{i}]."))
        for i, p in enumerate(_list(spec, "ports", "spec."))
    )
    return m.Service(meta, ports)


def _endpoint_slice(meta: m.Meta, doc: dict) -> m.EndpointSlice:
    service = meta.labels.get("kubernetes.io/service-name")
    if not service:
        raise ManifestError("the label kubernetes.io/service-name is required", field="metadata.labels")
    ports = tuple(
        m.ServicePort(_str(p, "name", f"ports[{i}].", default=""), _port(p, "port", f"ports[{i}]."))
        for i, p in enumerate(_list(doc, "ports"))
    )
    addresses = []
    for i, endpoint in enumerate(_list(doc, "endpoints")):
        conditions = _mapping(endpoint, "conditions", f"endpoints[{i}].")
        if conditions.get("ready") is False:
            continue
        addresses.extend(str(a) for a in _list(endpoint, "addresses", f"endpoints[{i}]."))
    return m.EndpointSlice(meta, service, ports, tuple(addresses))


def _secret(meta: m.Meta, doc: dict) -> m.Secret:
    data: dict[str, bytes] = {}
    for key, value in _mapping(doc, "data").items():
        try:
            data[str(key)] = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ManifestError("not valid base64", field=f"data.{key}") from None
    for key, value in _mapping(doc, "stringData").items():
        data[str(key)] = str(value if value is not None else "").encode()
    return m.Secret(meta, data)


def _config_map(meta: m.Meta, doc: dict) -> m.ConfigMap:
    return m.ConfigMap(meta, {str(k): str(v if v is not None else "") for k, v in _mapping(doc, "data").items()})


def _namespace(meta: m.Meta, doc: dict) -> m.Namespace:
    return m.Namespace(meta)


_TARGET_KINDS = ("Gateway", "HTTPRoute", "ListenerSet", "GRPCRoute")


def _policy(meta: m.Meta, doc: dict) -> m.Policy:
    spec = _mapping(doc, "spec", required=True)
    refs = _list(spec, "targetRefs", "spec.")
    if not refs:
        raise ManifestError("at least one target is required", field="spec.targetRefs")
    if len(refs) > 16:
        raise ManifestError("at most 16 targets", field="spec.targetRefs")
    targets = []
    for i, ref in enumerate(refs):
        path = f"spec.targetRefs[{i}]."
        if _str(ref, "group", path, required=True) != m.GATEWAY_GROUP:
            raise ManifestError(f"must be {m.GATEWAY_GROUP}", field=path + "group")
        kind = _enum(ref, "kind", path, _TARGET_KINDS, "")
        targets.append(m.TargetRef(kind, _str(ref, "name", path, required=True), _str(ref, "sectionName", path)))
    if len({t.kind for t in targets}) > 1:
        raise ManifestError("all targets must be of the same kind", field="spec.targetRefs")
    traffic = _mapping(spec, "traffic", "spec.")
    phase = _enum(traffic, "phase", "spec.traffic.", ("PreRouting", "PostRouting"), "PostRouting")
    if phase == "PreRouting" and targets[0].kind not in ("Gateway", "ListenerSet"):
        raise ManifestError("PreRouting is only allowed for Gateway and ListenerSet targets", field="spec.traffic.phase")
    inheritance = _enum(_mapping(spec, "strategy", "spec."), "inheritance", "spec.strategy.", ("Default", "Override"), "Default")
    api_key = None
    if traffic.get("apiKeyAuthentication") is not None:
        api_key = _api_key(_mapping(traffic, "apiKeyAuthentication", "spec.traffic."), "spec.traffic.apiKeyAuthentication.")
    return m.Policy(meta, tuple(targets), phase, inheritance, api_key)


def _api_key(spec: dict, path: str) -> m.ApiKeyAuth:
    mode = _enum(spec, "mode", path, ("Strict", "Optional", "Permissive"), "Strict")
    which = _exactly_one(spec, ("secretRef", "secretSelector", "configMapSelector"), path)
    if which == "secretRef":
        ref = _mapping(spec, "secretRef", path)
        if _str(ref, "kind", path + "secretRef.", default="Secret") != "Secret":
            raise ManifestError("only Secret is supported", field=path + "secretRef.kind")
        source = m.KeySource("secretRef", name=_str(ref, "name", path + "secretRef.", required=True))
    else:
        selector = _mapping(spec, which, path)
        source = m.KeySource(which, match_labels=_labels(selector, "matchLabels", f"{path}{which}."))
    location = m.DEFAULT_LOCATION
    if spec.get("location") is not None:
        loc = _mapping(spec, "location", path)
        lpath = path + "location."
        member = _exactly_one(loc, ("header", "queryParameter", "cookie", "expression"), lpath)
        if member == "expression":
            raise ManifestError("CEL expressions are not supported by the reference gateway", field=lpath + "expression")
        item = _mapping(loc, member, lpath)
        name = _str(item, "name", f"{lpath}{member}.", required=True)
        if member == "header":
            location = m.KeyLocation("header", name.lower(), _str(item, "prefix", lpath + "header.", default=""))
        else:
            location = m.KeyLocation(member, name)
    return m.ApiKeyAuth(mode, source, location)


_PARSERS = {
    "Gateway": _gateway,
    "HTTPRoute": _http_route,
    "Service": _service,
    "EndpointSlice": _endpoint_slice,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "Namespace": _namespace,
    "AgentgatewayPolicy": _policy,
}
