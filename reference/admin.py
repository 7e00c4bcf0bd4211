"""The admin address: readiness, a redacted config dump, policy status and, when asked for,
the digests of the keys loaded.

`/config_dump` and `/status/policies` show no form of a key: keys are a count, and files
are named by inode and modification time. `/status/keys` is the exception, served only
with `agw-reference serve --admin-key-digests`: per Secret and ConfigMap entry, the SHA-256
digest of the key the gateway loaded from it. That is the form the product itself keeps
(the proxy holds only digests) and accepts in the open (`keyHash` entries in ConfigMaps),
and it lets a conformance run check what the gateway loaded rather than what was written
to its store; but whoever reads a digest can test guesses of a key offline, so it is off
unless the operator turns it on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from agwmodel import entries
from agwmodel import model as m

from .config import AuthPolicy, Config, stored_key
from .keys import InvalidEntry
from .runtime import Runtime, key_of

KEY_STORES = ("Secret", "ConfigMap")


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
        # Keys are never shown here, not even hashed: the count is all an operator needs
        # (digests only at /status/keys, when the operator turns it on).
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


def key_digests(objects: Iterable[m.Resource]) -> list[dict]:
    """Every Secret and ConfigMap the gateway holds, each entry that gave a key with that
    key's SHA-256 digest (lowercase hex; for a `keyHash` entry, the hash itself).

    Stores are listed whether or not a policy uses them yet, as the gateway holds them
    either way. An invalid entry gave no key and is left out: its problem is reported in
    the status of the policies that use it.
    """
    out = []
    for store in sorted((o for o in objects if o.meta.kind in KEY_STORES), key=lambda o: (o.meta.kind, o.meta.namespace, o.meta.name)):
        digests = {}
        for entry_name, value in sorted(store.data.items()):
            try:
                digests[entry_name] = stored_key(store, value).digest.hex()
            except InvalidEntry:
                continue
        out.append({"kind": store.meta.kind, "namespace": store.meta.namespace, "name": store.meta.name, "sha256": digests})
    return out


def _key_sources(config: Config, namespace: str, name: str, objects: Iterable[m.Resource], origins: dict) -> dict:
    """The Secrets or ConfigMaps a policy reads, each with where it comes from.

    The policy's conditions say what the controller would say about the keys in force. When
    the latest version of one of its Secrets was refused, those keys are the last good
    version's, and the policy's entry says so, so that "Accepted" is not read as "my new
    Secret is in force".
    """
    policy = next((ap.policy for ap in config.policies if (ap.policy.meta.namespace, ap.policy.meta.name) == (namespace, name)), None)
    if policy is None or policy.api_key is None or not origins:
        return {}
    stores, _ = entries.stores(policy.api_key, namespace, objects)
    listed = [{"kind": s.meta.kind, "namespace": s.meta.namespace, "name": s.meta.name, **origins.get(key_of(s), {})} for s in stores]
    refused = [f"{s['kind']} {s['namespace']}/{s['name']}: {s['message']}" for s in listed if s.get("latestVersion") == "Refused"]
    return {"keySources": listed, **({"keysInForce": "LastGoodVersion", "keysMessage": "; ".join(refused)} if refused else {})}


def _name(ap: AuthPolicy | None) -> str | None:
    return f"{ap.policy.meta.namespace}/{ap.policy.meta.name}" if ap else None


def create_app(runtime: Runtime, sources: Callable[[], list[dict]], provenance: Callable[[], dict] | None = None,
               *, key_digests_shown: bool = False) -> Starlette:
    """`provenance`, when the source has files, says per object which file it comes from,
    whether that file's latest version was refused, and which other files define it too.
    `key_digests_shown` adds `/status/keys` (see the module docstring)."""

    async def ready(request: Request):
        config = runtime.config
        if config is None:
            return PlainTextResponse("not ready: no configuration loaded yet", status_code=503)
        if config.refused:
            lines = "".join(f"\n  {line}" for line in config.refused)
            return PlainTextResponse(f"not ready: refused, with no earlier good version, and nothing is served until "
                                     f"each has one or is removed:{lines}\n", status_code=503)
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
            {"namespace": ns, "name": name, "status": st, **origins.get(("AgentgatewayPolicy", ns, name), {}),
             **_key_sources(config, ns, name, runtime.objects.values(), origins)}
            for (ns, name), st in sorted(config.status.items())
        ]
        return JSONResponse({"generation": config.generation if config else 0, "policies": items})

    def keys(request: Request):
        # A plain function, so Starlette runs it in a worker thread: while many keys are
        # parsed and hashed, the event loop that also serves traffic keeps getting turns.
        return JSONResponse({"stores": key_digests(runtime.objects.values())})

    routes = [
        Route("/healthz/ready", ready),
        Route("/config_dump", dump),
        Route("/status/policies", status),
    ]
    if key_digests_shown:
        routes.append(Route("/status/keys", keys))
    return Starlette(routes=routes)
