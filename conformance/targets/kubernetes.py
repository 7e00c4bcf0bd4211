"""Any cluster, through its API: server-side apply, status from the API, traffic to an address.

Whatever serves the Gateway (agentgateway on kind, the reference gateway watching the
cluster, another vendor's proxy) is only reached by HTTP at `--gateway-address`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import socket
import ssl

import httpx
import pytest
import yaml
from lightkube import ApiError, Client, KubeConfig, codecs
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apps_v1 import Deployment
from lightkube.resources.core_v1 import ConfigMap, Namespace, Secret, Service, ServiceAccount
from lightkube.resources.discovery_v1 import EndpointSlice
from lightkube.types import PatchType

from ..profiles import CORE, in_profile
from ..waiting import TIMEOUTS, wait_until
from . import base_route
from .base import NotShown, ObjectRef, Refused, Target, documents, tls_context

FIELD_MANAGER = "agw-conformance"

RESOURCES = {
    "Namespace": Namespace,
    "Secret": Secret,
    "ConfigMap": ConfigMap,
    "Service": Service,
    "ServiceAccount": ServiceAccount,  # these two: httpbin, in a kind worker's own base
    "Deployment": Deployment,
    "EndpointSlice": EndpointSlice,
    # Registering these also teaches lightkube's codecs to load them from YAML.
    "Gateway": create_namespaced_resource("gateway.networking.k8s.io", "v1", "Gateway", "gateways"),
    "HTTPRoute": create_namespaced_resource("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"),
    "ListenerSet": create_namespaced_resource("gateway.networking.k8s.io", "v1", "ListenerSet", "listenersets"),
    "ReferenceGrant": create_namespaced_resource("gateway.networking.k8s.io", "v1beta1", "ReferenceGrant", "referencegrants"),
    "AgentgatewayPolicy": create_namespaced_resource("agentgateway.dev", "v1alpha1", "AgentgatewayPolicy", "agentgatewaypolicies"),
}


class KubernetesTarget(Target):
    name = "kubernetes"
    # Scenarios create objects of fixed names in the page's namespaces: on one shared
    # cluster, workers would overwrite each other's. Names of their own (Deployment.for_worker)
    # give each its own Gateway, and a Gateway of its own is served at an address of its own,
    # where --gateway-address names one.
    not_parallel = ("every worker would apply objects of the same names to one shared cluster, and a Gateway of each worker's own "
                    "would need an address of its own where --gateway-address gives one; --envtest gives each worker a cluster of its own, "
                    "--target=kind a Gateway and a mapped node port of its own")

    def __init__(self, kubeconfig: str, gateway_address: str, supported: frozenset[str], install: bool = False,
                 backend: str | None = None, timeout: float = TIMEOUTS.change):
        self.kubeconfig, self.address = kubeconfig, gateway_address.rstrip("/")
        self.supported_features = supported
        self.install, self.backend, self.timeout = install, backend, timeout
        self.client: Client | None = None
        self._base: list[ObjectRef] = []

    @classmethod
    def from_options(cls, config: pytest.Config) -> KubernetesTarget:
        kubeconfig, address = config.getoption("kubeconfig"), config.getoption("gateway_address")
        if not kubeconfig or not address:
            raise pytest.UsageError("--target=kubernetes needs --kubeconfig FILE and --gateway-address URL")
        problem = kubeconfig_problem(kubeconfig)
        if problem is not None:
            raise pytest.UsageError(f"--kubeconfig {kubeconfig}: cannot be used: {problem}")
        if not address.startswith(("http://", "https://")):
            raise pytest.UsageError(f"--gateway-address {address}: give a URL, such as http://192.0.2.10:80")
        if config.getoption("install_base") and not config.getoption("backend_address"):
            raise pytest.UsageError("--install-base needs --backend-address HOST:PORT (the httpbin the base EndpointSlice points at)")
        ca = config.getoption("gateway_ca")
        if ca is not None:
            problem = ca_problem(ca)
            if problem is not None:
                raise pytest.UsageError(f"--gateway-ca {ca}: cannot be used: {problem}")
            if not address.startswith("https://"):
                raise pytest.UsageError(f"--gateway-ca verifies an https address; --gateway-address {address} is not one")
        # A cluster could run anything: claim only the core unless told otherwise.
        target = cls(kubeconfig, address, frozenset(in_profile(CORE)), config.getoption("install_base"),
                     config.getoption("backend_address"), config.getoption("convergence_timeout"))
        target.gateway_ca = ca
        return target

    @property
    def gateway_url(self) -> str:
        return self.address

    def preflight(self) -> None:
        client = Client(config=KubeConfig.from_file(self.kubeconfig), field_manager=FIELD_MANAGER, timeout=TIMEOUTS.api_request)
        try:
            next(iter(client.list(Namespace, chunk_size=1)), None)  # reachable, and these credentials may read
            missing = _missing_kinds(client)
        except ApiError as exc:
            raise RuntimeError(f"the API server in {self.kubeconfig} refused a request: {exc.status.message}") from None
        except Exception as exc:  # noqa: BLE001 -- connection refused, TLS, DNS, timeout
            raise RuntimeError(f"the API server in {self.kubeconfig} did not answer: {type(exc).__name__}: {exc}") from None
        finally:
            client.close()
        if missing:
            raise RuntimeError(
                f"the cluster in {self.kubeconfig} does not serve {', '.join(missing)}: install the Gateway API standard CRDs "
                "and the agentgateway CRDs (helm chart agentgateway-crds) first, as clusters/kind/up.sh does"
            )
        url = httpx.URL(self.address)
        try:
            socket.create_connection((url.host, url.port or (443 if url.scheme == "https" else 80)), timeout=TIMEOUTS.api_request).close()
        except OSError as exc:
            raise RuntimeError(f"nothing accepts connections at --gateway-address {self.address}: {exc}") from None
        if not self.install:
            # The cluster brings its own "Before you begin": the address must serve it now.
            # (With --install-base the suite creates it, after this check.)
            base_route.check(self.address, timeout=TIMEOUTS.api_request, deployment=self.deployment, gateway_ca=self.gateway_ca)

    def start(self) -> None:
        self.client = Client(config=KubeConfig.from_file(self.kubeconfig), field_manager=FIELD_MANAGER)

    def stop(self) -> None:
        for ref in reversed(self._base):
            if ref.kind != "Namespace":  # namespaces may hold what others put there
                self.delete(ref)
        if self.client is not None:
            self.client.close()

    def install_base(self) -> None:
        if not self.install:
            return
        host, _, port = self.backend.rpartition(":")
        for manifest in self.base_manifests(host, port):
            self._base += self.apply(manifest)

    def apply(self, manifest: str) -> list[ObjectRef]:
        refs = []
        for doc in documents(manifest):
            ref = ObjectRef.of(doc)
            try:
                res = type(codecs.from_dict(doc))
            except Exception as exc:  # noqa: BLE001 -- lightkube raises several types for unknown kinds
                raise Refused(f"{ref}: {exc}", reason="UnknownKind") from None
            existing = self.get(ref) if ref.kind in RESOURCES else None
            if existing is not None and not _ours(existing):
                if ref.kind == "Namespace":
                    refs.append(ref)  # it is there already; using a namespace takes nothing over
                    continue
                raise Refused(
                    f"{ref} already exists and was not created by this suite (no field manager {FIELD_MANAGER!r}); the suite "
                    f"never takes over or deletes objects it did not create. Remove it, or run against a cluster without it.",
                    reason="Ownership",
                )
            try:
                self._apply_strictly(res, ref, doc)
            except ApiError as exc:
                if exc.status.code in (400, 403, 404, 409, 422) or _undeclared(exc.status):
                    raise refusal(exc) from None
                raise
            refs.append(ref)
        return refs

    def _apply_strictly(self, res, ref: ObjectRef, doc: dict) -> None:
        """Server-side apply of the document as written, with strict field validation, as
        kubectl applies by default: an unknown field is refused rather than dropped, so a
        misspelt field cannot quietly turn a feature off. (Server-side apply itself refuses a
        field the schema does not declare today, but as a 500: see `_undeclared`.)

        lightkube's `Client.apply` has no field validation parameter (1.0), and it sends the
        object as its model holds it (a typed model drops fields it does not know); its
        request layer takes both the parameter and the raw document.
        """
        self.client._client.request(
            "patch", res=res, name=ref.name, namespace=ref.namespace or None, obj=doc,
            headers={"Content-Type": PatchType.APPLY.value},
            params={"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"},
        )

    def _resource(self, kind: str):
        try:
            return RESOURCES[kind]
        except KeyError:
            raise ValueError(f"the kubernetes target does not know the kind {kind}") from None

    def delete(self, ref: ObjectRef) -> None:
        res = self._resource(ref.kind)
        namespace = ref.namespace or None
        existing = self.get(ref)
        if existing is None or not _ours(existing):
            return  # gone already, or someone else's: not ours to delete
        try:
            self.client.delete(res, ref.name, namespace=namespace)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            return
        wait_until(lambda: self.get(ref) is None, self.timeout, f"{ref} was not gone {self.timeout:g} s after its deletion")

    def get(self, ref: ObjectRef) -> dict | None:
        try:
            return self.client.get(self._resource(ref.kind), ref.name, namespace=ref.namespace or None).to_dict()
        except ApiError as exc:
            if exc.status.code == 404:
                return None
            raise

    def policy_status(self, namespace: str, name: str) -> dict | None:
        doc = self.get(ObjectRef("AgentgatewayPolicy", namespace, name))
        return None if doc is None else doc.get("status")

    def loaded_key_digests(self, ref: ObjectRef) -> dict[str, str] | None:
        # On a cluster the Secret in the API server is the store the gateway reads (its
        # controller watches it there), and what the docs page's `kubectl get secret -o yaml`
        # shows: its `data`, decoded, is what the gateway is given. Each entry's bytes are
        # digested as they are; for a raw entry, like the page's, those bytes are the key.
        # A JSON entry is not interpreted here: that reading is the controller's.
        if ref.kind != "Secret":
            raise NotShown(f"the {self.name} target reads only Secrets' entries from the API server, not {ref.kind}s'")
        secret = self.get(ref)
        if secret is None:
            return None
        digests = {}
        for entry, value in (secret.get("data") or {}).items():
            try:
                digests[entry] = hashlib.sha256(base64.b64decode(value, validate=True)).hexdigest()
            except (binascii.Error, ValueError):
                continue  # an API server never stores such a value; no key comes from it
        return digests


def ca_problem(path: str) -> str | None:
    """Why `path` holds no CA certificates to verify the gateway with, in one line, or None."""
    try:
        tls_context(path)
    except ssl.SSLError as exc:  # before OSError, of which it is one
        return f"not a PEM file of CA certificates ({exc.reason or exc})"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def kubeconfig_problem(path: str) -> str | None:
    """Why `path` is no kubeconfig the suite can use, in one line, or None.

    lightkube reads any YAML as a kubeconfig and fails on what it does not expect with
    errors about Python objects (`'str' object has no attribute 'get'`); the file is read
    first here, so the message says what is wrong with it.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            content = yaml.safe_load(fh)
    except OSError as exc:
        return exc.strerror or str(exc)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return f"not YAML ({' '.join(str(exc).split())})"
    if not isinstance(content, dict):
        what = "empty" if content is None else "plain text" if isinstance(content, str) else f"a YAML {type(content).__name__}"
        return f"not a kubeconfig: the file is {what}, where a kubeconfig is a YAML mapping with clusters, contexts and users"
    missing = [k for k in ("clusters", "contexts", "users") if not isinstance(content.get(k), list)]
    if missing:
        return f"not a kubeconfig: it has no {', no '.join(missing)} (a kubeconfig is a YAML mapping with clusters, contexts and users)"
    try:
        KubeConfig.from_dict(content, fname=path).get()  # its current context, as the run will use it
    except Exception as exc:  # noqa: BLE001 -- lightkube raises several types for what it cannot use
        return f"{type(exc).__name__}: {' '.join(str(exc).split())}"
    return None


# The custom kinds every scenario needs: without their CRDs nothing can be applied.
_NEEDED_KINDS = ("Gateway", "HTTPRoute", "AgentgatewayPolicy")


def _missing_kinds(client: Client) -> list[str]:
    """Kinds whose CRD the cluster lacks. Listing needs only read access to the kind, not to CRDs."""
    missing = []
    for kind in _NEEDED_KINDS:
        res = RESOURCES[kind]
        try:
            next(iter(client.list(res, namespace="default", chunk_size=1)), None)
        except Exception as exc:  # noqa: BLE001 -- only a 404 means "no such kind"; anything else is re-raised
            # An ApiError carries the API's Status; a whole API group missing is a bare 404
            # page, which lightkube raises as its HTTP client's status error instead.
            code = getattr(getattr(exc, "status", None), "code", None) or getattr(getattr(exc, "response", None), "status_code", None)
            if code != 404:
                raise
            missing.append(f"{kind} ({res._api_info.resource.group}/{res._api_info.resource.version})")
    return missing


# How the API server names a field the schema does not define: `.spec.traffic.x: field not
# declared in schema` (server-side apply), or `unknown field "spec.traffic.x"` (strict field
# validation of other writes).
_UNDECLARED = re.compile(r'(?:^|[\s(:])\.?([A-Za-z0-9_.\[\]-]+): field not declared in schema|unknown field "([^"]+)"')


def _undeclared(status) -> list[str]:
    """The unknown fields a refusal names, when it is a refusal of unknown fields.

    Such a refusal is a 400 (BadRequest) from strict field validation, or, for server-side
    apply, a 500 without a reason: the API server does not classify its "failed to create
    typed patch object" error (kubernetes/kubernetes#122480, #139253), though the client's
    document is at fault.
    """
    if status.code not in (400, 500):
        return []
    return [(a or b).lstrip(".") for a, b in _UNDECLARED.findall(status.message or "")]


def refusal(exc: ApiError) -> Refused:
    """An API server's refusal, keeping its reason and the fields it names.

    The Status `reason` says what kind of refusal it was (`Invalid` is the only one that
    says the object broke the schema); the fields come from `details.causes[].field`. A
    refusal of unknown fields is a schema refusal too, whatever its code says; the fields
    are then only in the message, so they are read from there.
    """
    status = exc.status
    reason = status.reason or _REASONS.get(status.code or 0, "Unknown")
    causes = (status.details.causes if status.details is not None else None) or []
    fields = [c.field.lstrip(".") for c in causes if c.field]
    undeclared = _undeclared(status)
    if undeclared:
        reason, fields = Refused.INVALID, fields + undeclared
    return Refused(status.message or "", reason=reason, fields=tuple(dict.fromkeys(fields)))


# The API's reasons for the codes a write can be refused with, for a Status that gives none.
_REASONS = {400: "BadRequest", 403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid"}


def _ours(doc: dict) -> bool:
    """Whether this suite applied the object (server-side apply records it as a field manager)."""
    managers = (doc.get("metadata") or {}).get("managedFields") or []
    return any(m.get("manager") == FIELD_MANAGER for m in managers)
