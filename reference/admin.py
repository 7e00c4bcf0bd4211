"""The admin address: readiness, a redacted config dump, and policy status."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from .config import AuthPolicy, Config
from .runtime import Runtime


def _policy_dump(ap: AuthPolicy) -> dict:
    auth = ap.auth
    source = {"kind": auth.source.kind}
    if auth.source.name:
        source["name"] = auth.source.name
    if auth.source.kind != "secretRef":
        source["matchLabels"] = auth.source.match_labels
    meta = ap.policy.meta
    return {
        "namespace": meta.namespace,
        "name": meta.name,
        "targets": [{"kind": t.kind, "name": t.name, "sectionName": t.section_name} for t in ap.policy.targets],
        "phase": ap.policy.phase,
        "inheritance": ap.policy.inheritance,
        "mode": auth.mode,
        "source": source,
        "location": {"kind": auth.location.kind, "name": auth.location.name, "prefix": auth.location.prefix},
        # Keys are never shown, not even hashed: the count is all an operator needs.
        "keys": "<redacted>",
        "keyCount": len(ap.keys),
        "problems": list(ap.problems),
    }


def config_dump(config: Config) -> dict:
    listeners = []
    for view in config.listeners:
        gw = view.gateway.meta
        listeners.append(
            {
                "gateway": f"{gw.namespace}/{gw.name}",
                "listener": view.listener.name,
                "hostname": view.listener.hostname,
                "routes": sorted({f"{c.route.meta.namespace}/{c.route.meta.name}" for c in view.candidates}),
                "preRoutingPolicy": _name(view.pre_policy),
                "postRoutingPolicies": {"/".join(map(str, k)): _name(p) for k, p in sorted(view.post_policy.items())},
            }
        )
    return {
        "generation": config.generation,
        "listeners": listeners,
        "backends": {f"{ns}/{name}:{port}": [f"{a}:{p}" for a, p in eps] for (ns, name, port), eps in sorted(config.backends.items())},
        "policies": [_policy_dump(p) for p in config.policies],
    }


def _name(ap: AuthPolicy | None) -> str | None:
    return f"{ap.policy.meta.namespace}/{ap.policy.meta.name}" if ap else None


def create_app(runtime: Runtime, sources: Callable[[], list[dict]], provenance: Callable[[], dict] | None = None) -> Starlette:
    """`provenance`, when the source has files, says per object which file it comes from,
    whether that file's latest version was refused, and which other files define it too."""

    async def ready(request: Request):
        if runtime.config is None:
            return PlainTextResponse("not ready: no configuration loaded yet", status_code=503)
        return PlainTextResponse("ready")

    async def dump(request: Request):
        config = runtime.config
        body = config_dump(config) if config else {}
        body["sources"] = sources()
        return JSONResponse(body)

    async def status(request: Request):
        config = runtime.config
        origins = provenance() if provenance is not None and config is not None else {}
        items = [] if config is None else [
            {"namespace": ns, "name": name, "status": st, **origins.get(("AgentgatewayPolicy", ns, name), {})}
            for (ns, name), st in sorted(config.status.items())
        ]
        return JSONResponse({"generation": config.generation if config else 0, "policies": items})

    return Starlette(
        routes=[
            Route("/healthz/ready", ready),
            Route("/config_dump", dump),
            Route("/status/policies", status),
        ]
    )
