"""What the suite needs from a deployment under test, and nothing more.

A target is driven only through manifests, HTTP, and (for cluster targets) the
Kubernetes API. Steps never ask which target they talk to.
"""

from __future__ import annotations

import abc
import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from ..deployment import DOCS, Deployment
from ..http import Request, Response, control_get
from ..waiting import TIMEOUTS


@dataclass(frozen=True, order=True)
class ObjectRef:
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, doc: dict) -> ObjectRef:
        meta = doc.get("metadata") or {}
        namespace = "" if doc.get("kind") == "Namespace" else meta.get("namespace") or "default"
        return cls(str(doc.get("kind")), namespace, str(meta.get("name")))

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


class Refused(Exception):
    """The target rejected a manifest; the message says why, as the target put it.

    `reason` says what kind of refusal it is, in the API server's words (its Status
    `reason`): only `Invalid` means the manifest broke the schema. A refusal for any other
    reason (`Forbidden`: no rights; `Conflict`, `AlreadyExists`; `NotFound`; `BadRequest`;
    `Ownership`: an object this suite did not create) says nothing about validation, and a
    check of validation must not count it. `fields` are the offending field paths, where
    the target names them (`spec.traffic.mode`, without a leading dot).
    """

    INVALID = "Invalid"

    def __init__(self, message: str, *, reason: str = "Unknown", fields: tuple[str, ...] | list[str] = ()):
        super().__init__(message)
        self.message, self.reason, self.fields = message, reason, tuple(fields)

    @property
    def invalid(self) -> bool:
        return self.reason == self.INVALID

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        # Keep the reason and fields when pickled (a worker's failure travels to the controller).
        return (self.__class__, (self.message,), {"reason": self.reason, "fields": self.fields})

    def __repr__(self) -> str:
        return f"Refused({self.message!r}, reason={self.reason!r}, fields={self.fields!r})"


class NotShown(Exception):
    """The target cannot show what its gateway loaded; the message says why."""


def documents(manifest: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(manifest) if d is not None]


def base_manifest(name: str, **values: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "manifests" / name).read_text()
    return text.format(**values) if values else text


class Target(abc.ABC):
    name: str = "?"
    supported_features: frozenset[str] = frozenset()
    # Why pytest-xdist workers cannot each run this target, or "" when they can (every
    # worker starting a gateway of its own on free ports).
    not_parallel: str = ""
    # True when each pytest-xdist worker renders the scenarios with names of its own
    # (Deployment.for_worker): its own Gateway and namespaces, created by its own base.
    worker_names: bool = False
    # True when pytest-xdist workers share parts of this target (an API server, a controller,
    # a cluster) that must exist once: the process that runs the workers starts them before
    # the first worker (`share`), hands each worker what it needs (`share` and `share_with`,
    # plain data, for `attach`), and stops them after the last (`unshare`).
    shares: bool = False
    # True when `apply` and `delete` return only once the gateway serves the change, and
    # nothing else changes its configuration: an expectation then cannot meet a change
    # still on its way, and the convergence rule takes its matches back to back
    # (conformance/convergence.py). Claim it only with a test that the first request after
    # each change sees it (tests/integration/test_confirmed_changes.py).
    confirms_changes: bool = False
    # The names of the Gateway and backend the scenarios' manifests are rendered with
    # (conformance/deployment.py); the docs page's unless the run's options say otherwise.
    deployment: Deployment = DOCS
    # PEM file of the CAs that verify an https gateway address; None: the system's.
    gateway_ca: str | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Target]:
        """Started, with the base objects installed; stopped (and its connections closed) after."""
        try:
            self.start()
            self.install_base()
            yield self
        finally:
            self.close_transport()
            self.stop()

    def share(self) -> dict:
        """Start what the workers share; what every worker needs to use it (see `shares`)."""
        return {}

    def share_with(self, worker: str) -> dict:
        """What is worker `worker`'s own among the shared parts (a port, say), beside `share`'s."""
        return {}

    def attach(self, shared: dict) -> None:
        """On a worker, before `start`: use the parts `share` started, as `shared` describes them."""

    def unshare(self) -> None:
        """Stop what `share` started; safe to call when it started nothing."""

    def base_manifests(self, backend_address: str, backend_port: str) -> list[str]:
        """The page's "Before you begin" objects with this deployment's names, then the EndpointSlice
        that points its httpbin Service at `backend_address:backend_port`."""
        return [self.deployment.render(base_manifest("base.yaml")),
                self.deployment.render(base_manifest("endpointslice.yaml", address=backend_address, port=backend_port))]

    def versions(self) -> dict[str, str]:
        """What the target is made of, and at which versions, for the report (component -> version)."""
        return {}

    def product_version(self) -> str | None:
        """The version of the gateway product, known before anything starts, or None when the target
        cannot name one (the reference, a vendor's cluster): it chooses the docs page a run checks."""
        return None

    def preflight(self) -> None:
        """Raise, quickly, if the deployment cannot be reached at all.

        Called once before the first scenario, so that a dead target is reported in seconds
        rather than after a convergence timeout per scenario. Targets that start their own
        programs have nothing to check yet.
        """

    @abc.abstractmethod
    def start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    @abc.abstractmethod
    def install_base(self) -> None:
        """Create the page's "Before you begin" objects, when the target wants them."""

    @abc.abstractmethod
    def apply(self, manifest: str) -> list[ObjectRef]:
        """Create or update every object in `manifest`; raise Refused if the target rejects one."""

    @abc.abstractmethod
    def delete(self, ref: ObjectRef) -> None:
        """Delete an object and wait until it is gone; deleting a missing object is fine."""

    def delete_all(self, refs: list[ObjectRef]) -> None:
        """Delete these objects, in this order, and wait until all are gone. A target that can
        take them out in one change does, so that a scenario's clean-up is one change."""
        for ref in refs:
            self.delete(ref)

    @abc.abstractmethod
    def get(self, ref: ObjectRef) -> dict | None:
        """The object as the API would return it (Secrets with base64 `data`), or None."""

    @abc.abstractmethod
    def policy_status(self, namespace: str, name: str) -> dict | None:
        """`status` of an AgentgatewayPolicy, or None when the target reports none."""

    def loaded_key_digests(self, ref: ObjectRef) -> dict[str, str] | None:
        """What the gateway loaded from a Secret or ConfigMap: entry name -> lowercase hex
        SHA-256 of the key it holds for that entry (for a `keyHash` entry, that hash).
        None when the gateway holds no such object; entries that gave no key are left out.

        A digest, because it is the form the product itself treats as publishable: the real
        proxy keeps only SHA-256 digests of keys (`APIKeyHash::from_raw_key` in upstream
        `crates/agentgateway/src/http/apikey.rs`), and ConfigMaps may carry keys as
        `keyHash: sha256:<hex>`. The key in clear is never exposed.

        Raises NotShown, with the reason, when the target cannot show what its gateway
        loaded; a step that needs it then reports its check as not made. Reading back the
        harness's own record, or the file it wrote, would prove nothing about the gateway.
        """
        raise NotShown(f"the {self.name} target cannot show which keys its gateway loaded")

    @property
    @abc.abstractmethod
    def gateway_url(self) -> str:
        """Base URL traffic is sent to; the scenario's host goes in the Host header."""

    # Each request is bounded so that a gateway which accepts a connection and never
    # answers costs one failed attempt, not a hung run. The plugin lowers it to fit the
    # convergence budget.
    request_timeout: float = TIMEOUTS.request
    _transport: httpx.HTTPTransport | None = None

    def send(self, request: Request) -> Response:
        """One request, sent as given: no cookie jar, no default headers beyond the ones
        curl would send. Connections are pooled across requests, as a client would."""
        headers = [(b"host", request.host.encode())]
        names = {(n.decode("latin-1") if isinstance(n, bytes) else n).lower() for n, _ in request.headers}
        if "user-agent" not in names:
            headers.append((b"user-agent", b"agw-conformance"))
        if "accept" not in names:
            headers.append((b"accept", b"*/*"))
        headers += [(_b(n), _b(v)) for n, v in request.headers]
        url = httpx.URL(self.gateway_url + request.path)
        limit = self.request_timeout
        extensions = {"timeout": httpx.Timeout(limit).as_dict()}
        if "#" in request.path:
            # A client library drops a URL's #fragment before sending; a careless client
            # sends it, and a gateway must not read it as part of the query.
            extensions["target"] = request.path.encode()
        req = httpx.Request(request.method, url, headers=headers, content=request.body, extensions=extensions)
        try:
            response = self._client_transport().handle_request(req)
            try:
                body = response.read()
            finally:
                response.close()
        except httpx.HTTPError as exc:
            return Response(0, (), b"", error=f"{type(exc).__name__}: {exc}")
        return Response(response.status_code, tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw), body)

    def control_get(self, url: str, timeout: float) -> httpx.Response:
        """A GET to one of the target's own programs (an admin endpoint), over the target's
        pooled connections, closed with them (`close_transport`)."""
        return control_get(self._client_transport(), url, timeout)

    def _client_transport(self) -> httpx.HTTPTransport:
        if self._transport is None:
            self._transport = httpx.HTTPTransport(retries=0, verify=tls_context(self.gateway_ca))
        return self._transport

    def close_transport(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """How an https gateway address is verified: by the CAs of `ca_file`, or the system's."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


class AddressTarget(Target):
    """A gateway known only by its address: it can be sent traffic, not configured.

    For measuring or testing `send` itself against any HTTP server."""

    def __init__(self, url: str, request_timeout: float = Target.request_timeout, gateway_ca: str | None = None):
        self.url, self.request_timeout, self.gateway_ca = url, request_timeout, gateway_ca

    def start(self) -> None:
        pass

    stop = install_base = start

    def apply(self, manifest: str) -> list[ObjectRef]:
        raise NotImplementedError("an address alone cannot be configured")

    def delete(self, ref: ObjectRef) -> None:
        raise NotImplementedError("an address alone cannot be configured")

    def get(self, ref: ObjectRef) -> dict | None:
        return None

    def policy_status(self, namespace: str, name: str) -> dict | None:
        return None

    @property
    def gateway_url(self) -> str:
        return self.url


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")
