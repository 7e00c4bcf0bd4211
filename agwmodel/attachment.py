"""Which listeners a route attaches to, and what its backend references resolve to.

Gateway API rules both consumers of the model apply: the reference gateway when it builds
its configuration, the translation when it writes the proxy's file.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from . import model as m

Endpoints = Mapping[tuple[str, str, int], tuple[tuple[str, int], ...]]
Grants = frozenset[tuple[str, str, str | None]]


def namespace_labels(namespaces: Mapping[str, m.Namespace], name: str) -> dict[str, str]:
    """A namespace's labels, with the one the API server puts on every namespace."""
    found = namespaces.get(name)
    return {**(found.meta.labels if found else {}), "kubernetes.io/metadata.name": name}


def allows(listener: m.Listener, owner_namespace: str, route: m.HTTPRoute, namespaces: Mapping[str, m.Namespace]) -> bool:
    """Whether a listener admits routes from the route's namespace (`allowedRoutes`).

    "Same" means the namespace of the listener's owner (its Gateway or ListenerSet)."""
    if listener.routes_from == "All":
        return True
    if listener.routes_from == "Same":
        return route.meta.namespace == owner_namespace
    labels = namespace_labels(namespaces, route.meta.namespace)
    return all(labels.get(k) == v for k, v in listener.routes_selector.items())


def selects(parent: m.ParentRef, listener: m.Listener) -> bool:
    """Whether a parentRef's sectionName and port (when given) pick this listener."""
    return parent.section_name in (None, listener.name) and parent.port in (None, listener.port)


def endpoints(objects: Iterable[m.Resource]) -> dict[tuple[str, str, int], tuple[tuple[str, int], ...]]:
    """(namespace, Service, port) -> ready endpoint addresses, joined as kube-proxy does: by port name."""
    objects = list(objects)
    slices: dict[tuple[str, str], list[m.EndpointSlice]] = defaultdict(list)
    for es in objects:
        if isinstance(es, m.EndpointSlice):
            slices[(es.meta.namespace, es.service_name)].append(es)
    out = {}
    for service in objects:
        if not isinstance(service, m.Service):
            continue
        ns, name = service.meta.namespace, service.meta.name
        for port in service.ports:
            found = []
            for es in slices.get((ns, name), []):
                found += [(address, es_port.port) for es_port in es.ports if es_port.name == port.name for address in es.addresses]
            out[(ns, name, port.port)] = tuple(dict.fromkeys(found))
    return out


def grants(objects: Iterable[m.Resource]) -> Grants:
    """What ReferenceGrants allow: (route namespace, Service namespace, Service name or None for all)."""
    out = set()
    for grant in objects:
        if not isinstance(grant, m.ReferenceGrant):
            continue
        origins = [f.namespace for f in grant.origins if (f.group, f.kind) == (m.GATEWAY_GROUP, "HTTPRoute")]
        services = [t.name for t in grant.targets if (t.group, t.kind) == ("", "Service")]
        out.update((origin, grant.meta.namespace, name) for origin in origins for name in services)
    return frozenset(out)


def invalid(route: m.HTTPRoute, ref: m.BackendRef, granted: Grants, known: Endpoints) -> str | None:
    """Why a route may not use a backend reference (the Gateway API answers those with a 500), or None."""
    if (ref.group, ref.kind) != ("", "Service"):
        return "backend kind not supported"
    if ref.namespace != route.meta.namespace:
        origin = route.meta.namespace
        if (origin, ref.namespace, None) not in granted and (origin, ref.namespace, ref.name) not in granted:
            return "backend reference not permitted"
    if (ref.namespace, ref.name, ref.port) not in known:
        return "backend not found"
    return None
