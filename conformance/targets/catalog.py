"""The deployments `--target` chooses, each with the options it reads.

Each kind of target says how it is selected (`--target`, and for a cluster of our own
`--envtest` and `--envtest-gateway`), where its class lives, and which options it reads.
The plugin adds the options to `pytest --help` grouped by the kinds that read them, and
refuses an option given to a kind that does not declare it, naming those that do: the
refusal is made from the declarations, so it cannot drift from them.

The classes are imported only once chosen: the cluster targets need the kubernetes extra,
which a run on the reference does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..deployment import DOCS


@dataclass(frozen=True)
class Option:
    flags: tuple[str, ...]
    attrs: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def dest(self) -> str:
        return self.attrs.get("dest") or self.flags[0].lstrip("-").replace("-", "_")

    @property
    def flag(self) -> str:
        return self.flags[0]

    @property
    def default(self):
        return self.attrs.get("default", False if self.attrs.get("action") == "store_true" else None)


def option(*flags: str, **attrs) -> Option:
    return Option(flags, attrs)


@dataclass(frozen=True)
class TargetKind:
    # How a run selects it: (--target, --envtest, --envtest-gateway), as the options hold them.
    target: str
    envtest: bool
    envtest_gateway: str | None
    module: str  # relative to this package
    cls: str
    options: tuple[Option, ...] = ()
    needs_extra: str | None = None

    @property
    def selected_by(self) -> str:
        words = f"--target={self.target}"
        if self.envtest:
            words += " --envtest"
        if self.envtest_gateway == "agentgateway":
            words += " --envtest-gateway=agentgateway"
        return words


# --- the options, declared once each and read by the kinds that name them -----------------

REFERENCE_COMMAND = option(
    "--reference-command",
    help="command that runs the reference gateway (default: python -m reference); also used by --envtest, "
         "and for the echo backend of --target=agentgateway-local")
ENVTEST = option("--envtest", action="store_true",
                 help="--target=kubernetes on a cluster of our own: envtest API server, go-httpbin, and the reference gateway watching it")
ENVTEST_GATEWAY = option(
    "--envtest-gateway", choices=("reference", "agentgateway"), default=None,
    help="gateway for --envtest: reference (default), or agentgateway: its controller and proxy built from AGW_AGENTGATEWAY_SRC")

# Where the deployment's Gateway and backend are, when not where the docs page puts them
# (conformance/deployment.py): scenarios' manifests and requests are rendered with them.
DEPLOYMENT = (
    option("--gateway-name", default=DOCS.gateway_name, help=f"name of the Gateway under test (default: {DOCS.gateway_name})"),
    option("--gateway-namespace", default=DOCS.gateway_namespace,
           help=f"namespace of the Gateway and of the scenarios' policies and key stores (default: {DOCS.gateway_namespace})"),
    option("--gateway-class", default=DOCS.gateway_class, help=f"GatewayClass of the Gateway (default: {DOCS.gateway_class})"),
    option("--listener-name", default=DOCS.listener_name, help=f"name of the Gateway's HTTP listener (default: {DOCS.listener_name})"),
    option("--listener-port", type=int, default=DOCS.listener_port,
           help=f"port of the Gateway's HTTP listener, as its manifest says (default: {DOCS.listener_port})"),
    option("--backend-namespace", default=DOCS.backend_namespace,
           help=f"namespace of the httpbin backend and its HTTPRoute (default: {DOCS.backend_namespace})"),
    option("--backend-host", default=DOCS.backend_host,
           help=f"hostname of the httpbin HTTPRoute, sent as the Host of every request (default: {DOCS.backend_host})"),
)

KINDS = (
    TargetKind("reference", False, None, "reference", "ReferenceTarget", (REFERENCE_COMMAND, *DEPLOYMENT)),
    TargetKind("kubernetes", False, None, "kubernetes", "KubernetesTarget", (
        option("--kubeconfig", help="kubeconfig of the cluster (--target=kubernetes)"),
        option("--gateway-address", help="base URL of the gateway under test, http:// or https:// (--target=kubernetes)"),
        option("--gateway-ca", help="PEM file of the CA certificates that verify an https --gateway-address (default: the system's)"),
        option("--install-base", action="store_true", help="create the Gateway, httpbin route and Service (--target=kubernetes)"),
        option("--backend-address", help="HOST:PORT of an httpbin for the base EndpointSlice (--target=kubernetes with --install-base)"),
        *DEPLOYMENT,
    ), needs_extra="kubernetes"),
    TargetKind("kubernetes", True, "reference", "envtest", "EnvtestTarget",
               (ENVTEST, ENVTEST_GATEWAY, REFERENCE_COMMAND, *DEPLOYMENT), needs_extra="kubernetes"),
    TargetKind("kubernetes", True, "agentgateway", "agentgateway.envtest", "AgentgatewayEnvtestTarget",
               (ENVTEST, ENVTEST_GATEWAY), needs_extra="kubernetes"),
    TargetKind("agentgateway-local", False, None, "agentgateway.local", "AgentgatewayLocalTarget", (
        option("--agentgateway-binary",
               help="agentgateway proxy binary (--target=agentgateway-local; default: built by clusters/agentgateway/build.sh "
                    "from AGW_AGENTGATEWAY_SRC)"),
        REFERENCE_COMMAND,
    )),
    TargetKind("kind", False, None, "kind", "KindTarget", (
        option("--kind-cluster", default="agw-conformance", help="name of the kind cluster to make or reuse (--target=kind)"),
        option("--kind-keep", action="store_true", help="leave the kind cluster running after the run (--target=kind)"),
        option("--agentgateway-version", help="agentgateway Helm chart version to install (--target=kind; default: the pinned release)"),
    ), needs_extra="kubernetes"),
)

TARGETS = tuple(dict.fromkeys(k.target for k in KINDS))


def chosen(target: str, envtest: bool, envtest_gateway: str | None) -> TargetKind:
    """The kind these options select (--envtest without --envtest-gateway runs the reference)."""
    if target == "kubernetes" and envtest:
        wanted = (target, True, envtest_gateway or "reference")
    else:
        wanted = (target, False, None)
    return next(k for k in KINDS if (k.target, k.envtest, k.envtest_gateway) == wanted)


def declared_by(opt: Option) -> list[TargetKind]:
    return [k for k in KINDS if any(o.dest == opt.dest for o in k.options)]


def grouped() -> list[tuple[tuple[TargetKind, ...], list[Option]]]:
    """Every option once, grouped by the kinds that read it, in the order the kinds declare them."""
    groups: dict[tuple[TargetKind, ...], list[Option]] = {}
    seen: set[str] = set()
    for kind in KINDS:
        for opt in kind.options:
            if opt.dest not in seen:
                seen.add(opt.dest)
                groups.setdefault(tuple(declared_by(opt)), []).append(opt)
    return list(groups.items())
