"""Where the Gateway under test lives, when a deployment does not use the docs page's names.

The docs page, and every scenario after it, assumes its "Before you begin": the Gateway
`agentgateway-proxy` of class `agentgateway` in `agentgateway-system`, with a listener
`http` on port 80, and httpbin in `httpbin`, reached as `www.example.com`. A vendor's
Gateway may have other names. A `Deployment` holds the names of this run, and `render`
gives a scenario's manifest with the page's names replaced by them.

Rendering works on the parsed documents and replaces values only in the fields that hold
these names (an object's namespace, a Namespace's name, a Gateway's class, name and
listeners, the references to a Gateway or a namespace, a route's hostnames). Anything
else, a Secret's entries or a label, is left as it is, even if it happens to hold one of
the names. With the page's own names nothing is rendered: a manifest is applied as written.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, fields, replace

import yaml

# Gateway API reference lists and single references, under `spec`.
_REF_LISTS = ("targetRefs", "parentRefs")
_REF_ONE = ("targetRef", "parentRef")


@dataclass(frozen=True)
class Deployment:
    gateway_name: str = "agentgateway-proxy"
    gateway_namespace: str = "agentgateway-system"
    gateway_class: str = "agentgateway"
    listener_name: str = "http"
    listener_port: int = 80
    backend_namespace: str = "httpbin"
    backend_host: str = "www.example.com"

    # --- what differs from the page ------------------------------------------------------

    def changed(self) -> dict[str, tuple[object, object]]:
        """The fields that differ from the docs page's: name -> (page's value, this run's)."""
        page = DOCS
        return {f.name: (getattr(page, f.name), getattr(self, f.name)) for f in fields(self)
                if getattr(page, f.name) != getattr(self, f.name)}

    def describe(self) -> dict:
        """For the report: every value (in the report's camelCase), and which differ from the page."""
        out = {_camel(f.name): getattr(self, f.name) for f in fields(self)}
        out["differsFromDocs"] = [_camel(name) for name in self.changed()]
        note = self.change_note()
        if note is not None:
            out["note"] = note + "; the docs-page scenarios applied the page's manifests with these names"
        return out

    def change_note(self) -> str | None:
        """One line saying how this run changed the page's names, or None when it did not."""
        changed = self.changed()
        if not changed:
            return None
        return "the docs page's names are changed for this deployment: " + ", ".join(
            f"{name.replace('_', ' ')} {page} -> {ours}" for name, (page, ours) in changed.items())

    def for_worker(self, worker: str | None) -> Deployment:
        """These names, made this pytest-xdist worker's own (`gw0`, `gw1`, ...), or these
        names as they are outside pytest-xdist (`worker` None or "master").

        Each worker gets its own Gateway in namespaces of its own, so that workers applying
        the same scenarios to one API server cannot overwrite, or clean up, each other's
        objects: every namespaced object a scenario applies is in one of the page's two
        namespaces, so it lands in the worker's, and the only cluster-wide objects are those
        namespaces. A Gateway of its own, not the shared one with hostnames of its own, keeps
        the scenarios about Gateway-level policies correct: a policy targeting the Gateway
        would otherwise apply to every worker's routes. The class, listener and hostname
        stay: they name no object, and a Gateway of its own is served at an address of its own.
        """
        if worker in (None, "", "master"):
            return self
        return replace(self, gateway_name=f"{self.gateway_name}-{worker}",
                       gateway_namespace=f"{self.gateway_namespace}-{worker}",
                       backend_namespace=f"{self.backend_namespace}-{worker}")

    # --- single names, as steps write them -----------------------------------------------

    def namespace(self, name: str) -> str:
        return {DOCS.gateway_namespace: self.gateway_namespace, DOCS.backend_namespace: self.backend_namespace}.get(name, name)

    def gateway(self, name: str) -> str:
        return self.gateway_name if name == DOCS.gateway_name else name

    def host(self, name: str) -> str:
        return self.backend_host if name == DOCS.backend_host else name

    def listener(self, name: str) -> str:
        return self.listener_name if name == DOCS.listener_name else name

    def object_names(self, text: str) -> str:
        """`text` with each `NAMESPACE/NAME` of the page's namespaces (as status messages name
        objects: `secret agentgateway-system/nope not found`) written with this deployment's names."""
        if not self.changed():
            return text
        return _QUALIFIED.sub(lambda m: f"{self.namespace(m[1])}/{self.gateway(m[2])}", text)

    # --- manifests -----------------------------------------------------------------------

    def render(self, manifest: str) -> str:
        """`manifest` with the page's names replaced by this deployment's (see the module docstring).

        A manifest that is not YAML (a scenario may mean it to be broken) is returned as it is.
        """
        if not self.changed():
            return manifest
        try:
            docs = [d for d in yaml.safe_load_all(manifest) if d is not None]
        except yaml.YAMLError:
            return manifest
        rendered = [self.render_object(d) if isinstance(d, dict) else d for d in docs]
        return manifest if rendered == docs else yaml.safe_dump_all(rendered, sort_keys=False)

    def render_object(self, doc: dict) -> dict:
        out = copy.deepcopy(doc)
        kind = out.get("kind")
        meta = out.get("metadata")
        if isinstance(meta, dict):
            if isinstance(meta.get("namespace"), str):
                meta["namespace"] = self.namespace(meta["namespace"])
            if kind == "Namespace" and isinstance(meta.get("name"), str):
                meta["name"] = self.namespace(meta["name"])
            if kind == "Gateway" and isinstance(meta.get("name"), str):
                meta["name"] = self.gateway(meta["name"])
        spec = out.get("spec")
        if not isinstance(spec, dict):
            return out
        if kind == "Gateway":
            if spec.get("gatewayClassName") == DOCS.gateway_class:
                spec["gatewayClassName"] = self.gateway_class
            for listener in _dicts(spec.get("listeners")):
                self._listener(listener)
        if kind == "ListenerSet":
            for listener in _dicts(spec.get("listeners")):
                self._listener(listener)
        for key in _REF_LISTS:
            for ref in _dicts(spec.get(key)):
                self._reference(ref, parent=key.startswith("parent"))
        for key in _REF_ONE:
            if isinstance(spec.get(key), dict):
                self._reference(spec[key], parent=key.startswith("parent"))
        for rule in _dicts(spec.get("rules")):
            for ref in _dicts(rule.get("backendRefs")):
                self._reference(ref, parent=False)
        if kind == "ReferenceGrant":
            for ref in _dicts(spec.get("from")) + _dicts(spec.get("to")):
                self._reference(ref, parent=False)
        if isinstance(spec.get("hostnames"), list):
            spec["hostnames"] = [self.host(h) if isinstance(h, str) else h for h in spec["hostnames"]]
        return out

    def _listener(self, listener: dict) -> None:
        if listener.get("name") == DOCS.listener_name:
            listener["name"] = self.listener_name
        if listener.get("port") == DOCS.listener_port:
            listener["port"] = self.listener_port

    def _reference(self, ref: dict, *, parent: bool) -> None:
        if isinstance(ref.get("namespace"), str):
            ref["namespace"] = self.namespace(ref["namespace"])
        # A parentRef without a kind refers to a Gateway (the Gateway API's default).
        to_gateway = ref.get("kind", "Gateway" if parent else None) == "Gateway"
        if to_gateway and isinstance(ref.get("name"), str):
            ref["name"] = self.gateway(ref["name"])
        if to_gateway and isinstance(ref.get("sectionName"), str):
            ref["sectionName"] = self.listener(ref["sectionName"])


DOCS = Deployment()
_QUALIFIED = re.compile(rf"(?<![\w./-])({re.escape(DOCS.gateway_namespace)}|{re.escape(DOCS.backend_namespace)})/([a-z0-9][a-z0-9.-]*)")


def _dicts(value) -> list[dict]:
    if isinstance(value, dict):
        return [value]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(w.capitalize() for w in rest)
