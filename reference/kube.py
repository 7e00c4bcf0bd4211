"""The Kubernetes config source: list-then-watch of every kind the gateway understands.

Each kind has its own loop: list (replacing what we knew of that kind, so deletions missed
while disconnected are noticed), then watch from the list's resourceVersion. A watch that
the server resets (410 Gone) or a connection that fails leads back to a relist, with a
backoff; in the meantime the last good configuration stays in force, keys included.

Objects are validated as in file mode; an object that fails validation keeps its last good
version in force and the error is logged with its kind, name and field. One refused at its
first sight has no last good version: unless it is a kind that only narrows what is served,
the gateway serves nothing until it has one or is deleted (`refusals`). As the controller
of its Gateways, the gateway writes the status of the policies that target them, and of
those it refused: not accepted, with why.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from dataclasses import dataclass

from lightkube import ALL_NS, ApiError, AsyncClient, KubeConfig
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret, Service
from lightkube.resources.discovery_v1 import EndpointSlice
from lightkube.types import PatchType

from agwmodel import model as m

from . import refusals
from .config import CONTROLLER, Config
from .objects import Ignored, ManifestError, describe, object_key, parse_object
from .runtime import ObjectKey, Runtime, key_of

log = logging.getLogger("agw-reference.kube")
logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per API request is noise

Gateway = create_namespaced_resource(m.GATEWAY_GROUP, "v1", "Gateway", "gateways")
HTTPRoute = create_namespaced_resource(m.GATEWAY_GROUP, "v1", "HTTPRoute", "httproutes")
ListenerSet = create_namespaced_resource(m.GATEWAY_GROUP, "v1", "ListenerSet", "listenersets")
ReferenceGrant = create_namespaced_resource(m.GATEWAY_GROUP, "v1beta1", "ReferenceGrant", "referencegrants")
AgentgatewayPolicy = create_namespaced_resource(m.POLICY_GROUP, "v1alpha1", "AgentgatewayPolicy", "agentgatewaypolicies")

# (resource, apiVersion, kind): the order only matters for the first, complete load.
WATCHED = [
    (Namespace, "v1", "Namespace"),
    (Secret, "v1", "Secret"),
    (ConfigMap, "v1", "ConfigMap"),
    (Service, "v1", "Service"),
    (EndpointSlice, "discovery.k8s.io/v1", "EndpointSlice"),
    (Gateway, f"{m.GATEWAY_GROUP}/v1", "Gateway"),
    (HTTPRoute, f"{m.GATEWAY_GROUP}/v1", "HTTPRoute"),
    (ListenerSet, f"{m.GATEWAY_GROUP}/v1", "ListenerSet"),
    (ReferenceGrant, f"{m.GATEWAY_GROUP}/v1beta1", "ReferenceGrant"),
    (AgentgatewayPolicy, f"{m.POLICY_GROUP}/v1alpha1", "AgentgatewayPolicy"),
]


def _to_dict(obj, api_version: str, kind: str) -> dict:
    doc = obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
    doc.setdefault("apiVersion", api_version)
    doc.setdefault("kind", kind)
    return doc


def _text(value) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class Rejected:
    subject: str
    error: str  # with the subject, for the log and the admin address
    detail: str  # without it, for the object's own status


class KubeSource:
    def __init__(self, runtime: Runtime, kubeconfig: str | None, write_status: bool = True, backoff_max: float = 5.0):
        self.runtime = runtime
        self.config = KubeConfig.from_file(kubeconfig) if kubeconfig else KubeConfig.from_service_account()
        self.write_status = write_status
        self.backoff_max = backoff_max
        self.objects: dict[ObjectKey, m.Resource] = {}
        self.rejected: dict[ObjectKey, Rejected] = {}
        self._synced: set[str] = set()
        self._changed = asyncio.Event()
        self._written_status: dict[tuple[str, str], list] = {}
        self.connected = False

    # --- the loops ----------------------------------------------------------------------

    async def run(self) -> None:
        client = AsyncClient(config=self.config, field_manager="agw-reference")
        try:
            loops = [asyncio.create_task(self._kind_loop(client, *w)) for w in WATCHED]
            loops.append(asyncio.create_task(self._publisher(client)))
            await asyncio.gather(*loops)
        finally:
            await client.close()

    async def _kind_loop(self, client: AsyncClient, res, api_version: str, kind: str) -> None:
        delay = 0.2
        while True:
            try:
                version = await self._list(client, res, api_version, kind)
                delay = 0.2
                async for op, obj in client.watch(res, namespace=None if kind == "Namespace" else ALL_NS, resource_version=version):
                    self._event(op, _to_dict(obj, api_version, kind))
                log.info("watch of %s ended; listing again", kind)
            except asyncio.CancelledError:
                raise
            except ApiError as exc:
                if exc.status.code == 410:
                    log.info("watch of %s expired (410 Gone); listing again", kind)
                    continue
                if exc.status.code == 404 and kind not in self._synced:
                    # A cluster without this kind's CRD has no objects of it; serve the rest.
                    log.warning("%s: not served by the API server (is its CRD installed?); taken as empty", kind)
                    self._synced.add(kind)
                    self._changed.set()
                log.warning("%s: API error %s: %s; retrying in %.1f s", kind, exc.status.code, exc.status.message, delay)
            except Exception as exc:  # noqa: BLE001 -- any failure to reach the API: keep serving, retry
                self.connected = False
                log.warning("%s: cannot reach the API server (%s); keeping the last configuration, retrying in %.1f s", kind, type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    async def _list(self, client: AsyncClient, res, api_version: str, kind: str) -> str:
        items = client.list(res, namespace=None if kind == "Namespace" else ALL_NS)
        fresh: dict[ObjectKey, dict] = {}
        async for obj in items:
            doc = _to_dict(obj, api_version, kind)
            fresh[(kind, *object_key(doc)[1:])] = doc
        for key in [k for k in self.objects if k[0] == kind and k not in fresh]:
            del self.objects[key]
        for key in [k for k in self.rejected if k[0] == kind and k not in fresh]:
            del self.rejected[key]
        for doc in fresh.values():
            self._upsert(doc)
        if kind == "AgentgatewayPolicy":
            self._written_status.clear()  # a policy may have been deleted and created while we were away
        self.connected = True
        self._synced.add(kind)
        self._changed.set()
        return items.resourceVersion

    def _event(self, op: str, doc: dict) -> None:
        if op == "DELETED":
            key = object_key(doc)
            self.objects.pop(key, None)
            self.rejected.pop(key, None)
            # A policy created again under the same name starts without status.
            self._written_status.pop(key[1:], None)
        elif op in ("ADDED", "MODIFIED"):
            self._upsert(doc)
        else:
            return
        self._changed.set()

    def _upsert(self, doc: dict) -> None:
        """Take in one object; one that cannot be used is reported, and its last good version kept."""
        key = object_key(doc)
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        meta = meta if isinstance(meta, dict) else {}
        # creationTimestamp orders objects for tie-breaks, as the Gateway API asks.
        order = (_text(meta.get("creationTimestamp")), _text(meta.get("namespace")), _text(meta.get("name")))
        subject = describe(doc) if isinstance(doc, dict) else "object"
        try:
            obj = parse_object(doc, where="", order=order)
        except ManifestError as exc:
            error = str(exc)
            detail = f"{exc.field}: {exc.message}" if exc.field else exc.message
        except Exception as exc:
            log.debug("%s: unexpected error while reading it", subject, exc_info=True)
            error = f"{subject}: cannot be read ({type(exc).__name__})"
            detail = f"cannot be read ({type(exc).__name__})"
        else:
            if not isinstance(obj, Ignored):
                self.objects[key_of(obj)] = obj
                self.rejected.pop(key_of(obj), None)
            return
        if key not in self.rejected or self.rejected[key].error != error:
            if key in self.objects:
                log.error("%s; its last good version stays in force", error)
            elif refusals.stops_traffic({key[0]}):
                log.error("%s; it has no earlier good version, and no request is served until it has one or is deleted", error)
            else:
                log.error("%s; it has no earlier good version, and nothing of it is loaded", error)
        self.rejected[key] = Rejected(subject, error, detail)

    def publish(self) -> Config:
        """Put in force what the cluster holds, with the refusals that stop traffic and the
        status of the policies whose latest version was refused."""
        return self.runtime.publish(self.objects.values(), refused=self.stopping(), refused_policies=self.refused_policies())

    def stopping(self) -> tuple[str, ...]:
        """The refusals that keep the gateway from serving: objects refused at their first
        sight (no good version in force) of a kind that could open a route."""
        return tuple(r.error for key, r in sorted(self.rejected.items()) if key not in self.objects and refusals.stops_traffic({key[0]}))

    def refused_policies(self) -> dict[tuple[str, str], str]:
        """Why, per policy whose latest version was refused, for its status."""
        return {key[1:]: r.detail for key, r in self.rejected.items() if key[0] == "AgentgatewayPolicy"}

    async def _publisher(self, client: AsyncClient) -> None:
        while True:
            await self._changed.wait()
            # Let a burst of events (a relist, an apply of many objects) land first.
            await asyncio.sleep(0.01)
            self._changed.clear()
            if len(self._synced) < len(WATCHED):
                continue  # never serve a half-loaded cluster: no config until every kind is listed once
            try:
                config = self.publish()
            except Exception:
                log.error("cannot build a configuration from the cluster's objects; the last good one stays in force")
                log.debug("the failure", exc_info=True)
                continue
            if self.write_status:
                await self._write_status(client, config.status)

    # --- status -------------------------------------------------------------------------

    async def _write_status(self, client: AsyncClient, status: dict[tuple[str, str], dict]) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for (namespace, name), ours in status.items():
            if self._written_status.get((namespace, name)) == ours["ancestors"]:
                continue
            try:
                current = await client.get(AgentgatewayPolicy, name, namespace=namespace)
                doc = _to_dict(current, "", "")
                others = [a for a in (doc.get("status") or {}).get("ancestors", []) if a.get("controllerName") != CONTROLLER]
                generation = (doc.get("metadata") or {}).get("generation")
                mine = [
                    {**a, "conditions": [{**c, "lastTransitionTime": now, "observedGeneration": generation} for c in a["conditions"]]}
                    for a in ours["ancestors"]
                ]
                await client.patch(
                    AgentgatewayPolicy.Status, name, {"status": {"ancestors": others + mine}},
                    namespace=namespace, patch_type=PatchType.MERGE,
                )
                self._written_status[(namespace, name)] = ours["ancestors"]
            except ApiError as exc:
                log.warning("cannot write the status of policy %s/%s: %s", namespace, name, exc.status.message)
            except Exception as exc:  # noqa: BLE001 -- status is retried on the next change
                log.warning("cannot write the status of policy %s/%s: %s: %s", namespace, name, type(exc).__name__, exc)

    def report(self) -> list[dict]:
        return [{"object": r.subject, "error": r.error} for r in self.rejected.values()]
