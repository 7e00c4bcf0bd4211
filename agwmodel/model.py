"""Typed, validated views of the Kubernetes objects that configure API key authentication.

One model for the whole project: the reference gateway serves from it, and the harness's
translation for the real proxy (`conformance.targets.agentgateway`) writes the proxy's file
from it, so the two can never read a manifest differently.

Everything here is immutable: a configuration is rebuilt from these on every change and
swapped in whole, so request handling never sees a half-applied update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .traffic import Authorization, RateLimit, RequestTransformation

GATEWAY_GROUP = "gateway.networking.k8s.io"
POLICY_GROUP = "agentgateway.dev"


@dataclass(frozen=True)
class Meta:
    kind: str
    namespace: str
    name: str
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    # Position in load order; stands in for creationTimestamp when breaking ties.
    order: tuple = field(default=(), hash=False, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class Listener:
    name: str
    port: int
    protocol: str
    hostname: str | None
    routes_from: Literal["Same", "All", "Selector"]
    routes_selector: dict[str, str]


@dataclass(frozen=True)
class Gateway:
    meta: Meta
    class_name: str
    listeners: tuple[Listener, ...]
    # spec.allowedListeners.namespaces.from: which ListenerSets may add listeners.
    listener_sets_from: Literal["None", "Same", "All"] = "None"


@dataclass(frozen=True)
class PathMatch:
    type: Literal["PathPrefix", "Exact", "RegularExpression"]
    value: str


@dataclass(frozen=True)
class ValueMatch:
    """A header or query parameter match. Header names are lowercased; query names are not."""

    name: str
    value: str
    type: Literal["Exact", "RegularExpression"] = "Exact"


@dataclass(frozen=True)
class RouteMatch:
    path: PathMatch
    method: str | None
    headers: tuple[ValueMatch, ...] = ()
    query: tuple[ValueMatch, ...] = ()


@dataclass(frozen=True)
class BackendRef:
    name: str
    namespace: str
    port: int | None  # required for Services only
    weight: int
    group: str = ""
    kind: str = "Service"  # anything but a core Service is an invalid reference (a 500)


@dataclass(frozen=True)
class RouteRule:
    name: str | None
    matches: tuple[RouteMatch, ...]
    backends: tuple[BackendRef, ...]
    filters: tuple[str, ...] = ()  # the filter types, in order; neither consumer applies them


@dataclass(frozen=True)
class ParentRef:
    namespace: str
    name: str
    section_name: str | None
    kind: Literal["Gateway", "ListenerSet"] = "Gateway"
    port: int | None = None


@dataclass(frozen=True)
class ListenerSet:
    """Listeners added to a parent Gateway (Gateway API ListenerSet)."""

    meta: Meta
    parent_namespace: str
    parent_name: str
    listeners: tuple[Listener, ...]


@dataclass(frozen=True)
class HTTPRoute:
    meta: Meta
    parents: tuple[ParentRef, ...]
    hostnames: tuple[str, ...]
    rules: tuple[RouteRule, ...]


@dataclass(frozen=True)
class GrantFrom:
    group: str
    kind: str
    namespace: str


@dataclass(frozen=True)
class GrantTo:
    group: str
    kind: str
    name: str | None  # None: every object of that kind in the grant's namespace


@dataclass(frozen=True)
class ReferenceGrant:
    """Lets objects in other namespaces (`origins`) refer to objects in this one (`targets`)."""

    meta: Meta
    origins: tuple[GrantFrom, ...]
    targets: tuple[GrantTo, ...]


@dataclass(frozen=True)
class ServicePort:
    name: str
    port: int


@dataclass(frozen=True)
class Service:
    meta: Meta
    ports: tuple[ServicePort, ...]


@dataclass(frozen=True)
class EndpointSlice:
    meta: Meta
    service_name: str
    ports: tuple[ServicePort, ...]
    addresses: tuple[str, ...]  # ready endpoints only


@dataclass(frozen=True)
class Secret:
    meta: Meta
    data: dict[str, bytes] = field(hash=False, compare=False)


@dataclass(frozen=True)
class ConfigMap:
    meta: Meta
    data: dict[str, str] = field(hash=False, compare=False)


@dataclass(frozen=True)
class Namespace:
    meta: Meta


@dataclass(frozen=True)
class TargetRef:
    kind: str
    name: str
    section_name: str | None


@dataclass(frozen=True)
class KeyLocation:
    """Where the credential is read from: `kind` is the manifest's member, whose class in
    `agwmodel.carriers` reads, removes and describes it. For `expression`, `name` holds the CEL text.

    A header name is kept as the manifest spells it; header names match without regard to case."""

    kind: str  # the manifest's member, a key of agwmodel.carriers.CARRIERS
    name: str
    prefix: str = ""


DEFAULT_LOCATION = KeyLocation("header", "authorization", "Bearer ")


@dataclass(frozen=True)
class KeySource:
    kind: Literal["secretRef", "secretSelector", "configMapSelector"]
    name: str | None = None  # secretRef
    match_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ApiKeyAuth:
    mode: Literal["Strict", "Optional", "Permissive"]
    source: KeySource
    location: KeyLocation


@dataclass(frozen=True)
class Policy:
    meta: Meta
    targets: tuple[TargetRef, ...]
    phase: Literal["PreRouting", "PostRouting"]
    inheritance: Literal["Default", "Override"]
    api_key: ApiKeyAuth | None
    # Settings set on the policy that this model does not interpret, by field path
    # ("spec.traffic.cors", "spec.backend.tls", "spec.targetSelectors"): both consumers
    # refuse a policy that has any, since serving it without them would be serving less
    # than it asks for (`targets` is empty when the policy uses `targetSelectors`).
    unread: tuple[str, ...] = ()
    # What acts on a request after authentication (agwmodel.traffic); None when not set.
    authorization: Authorization | None = None
    transformation: RequestTransformation | None = None
    rate_limit: RateLimit | None = None


Resource = Gateway | HTTPRoute | ReferenceGrant | Service | EndpointSlice | Secret | ConfigMap | Namespace | Policy
