"""The suite's command-line options, and the checks that refuse combinations that cannot work."""

from __future__ import annotations

import pytest

from . import pages
from . import profiles as ft
from . import report_dir

TARGETS = ("reference", "kubernetes", "agentgateway-local", "kind")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add(parser: pytest.Parser) -> None:
    """Every option of the suite, in one group of `pytest --help`."""
    group = parser.getgroup("agw-conformance", "API key auth conformance")
    group.addoption("--target", choices=TARGETS, default="reference", help="deployment under test (default: reference)")
    group.addoption("--reference-command",
                    help="command that runs the reference gateway (default: python -m reference); also used by --envtest, and for the echo backend of --target=agentgateway-local")
    group.addoption("--convergence-threshold", type=int, default=3, help="matches in a row an expectation needs (default 3)")
    group.addoption("--convergence-timeout", type=float, default=30.0, help="seconds an expectation may take (default 30)")
    group.addoption("--convergence-interval", type=float, default=0.1, help="seconds before the next attempt after a miss, and between matches where the target does not confirm its changes (default 0.1)")
    group.addoption("--supported-features", type=_csv, help="features the target supports (default: what the target declares)")
    group.addoption("--exempt-features", type=_csv, default=[], help="features not to test even if supported")
    group.addoption("--skip-tests", type=_csv, default=[], help="scenario IDs not to run (e.g. APIKEY-EXT-012)")
    group.addoption("--profiles", type=_csv, default=None,
                    help=(f"profiles to run (default {', '.join(ft.DEFAULT_PROFILES)} and the docs page of the target's version; "
                          f"opt-in: {ft.RELIABILITY}; pages: {', '.join(ft.PAGE_PROFILES)})"))
    group.addoption("--docs-pages", type=_csv, default=None,
                    help=(f"versions of the docs page to check, besides the other profiles: {', '.join(pages.PAGES)}, all or none "
                          "(default: the page the target's version reads; all on the reference and on a cluster of unknown version)"))
    group.addoption("--load-seconds", type=float, default=30.0, help=f"how long the {ft.RELIABILITY} load with key churn runs (default 30)")
    group.addoption("--load-clients", type=int, default=8, help=f"concurrent clients of the {ft.RELIABILITY} load (default 8)")
    group.addoption("--hostile-slow-limit", type=float, default=30.0,
                    help=f"seconds a gateway may leave a client that never finishes its request connected ({ft.RELIABILITY}; default 30)")
    group.addoption("--conformance-report", help="write a ConformanceReport YAML to this path")
    group.addoption("--kubeconfig", help="kubeconfig of the cluster (--target=kubernetes)")
    group.addoption("--gateway-address", help="base URL of the gateway under test (--target=kubernetes)")
    group.addoption("--install-base", action="store_true", help="create the Gateway, httpbin route and Service (--target=kubernetes)")
    group.addoption("--envtest", action="store_true",
                    help="--target=kubernetes on a cluster of our own: envtest API server, go-httpbin, and the reference gateway watching it")
    group.addoption("--backend-address", help="HOST:PORT of an httpbin for the base EndpointSlice (--target=kubernetes with --install-base)")
    group.addoption("--envtest-gateway", choices=("reference", "agentgateway"), default=None,
                    help="gateway for --envtest: reference (default), or agentgateway: its controller and proxy built from AGW_AGENTGATEWAY_SRC")
    group.addoption("--agentgateway-binary",
                    help="agentgateway proxy binary (--target=agentgateway-local; default: built by clusters/agentgateway/build.sh from AGW_AGENTGATEWAY_SRC)")
    group.addoption("--kind-cluster", default="agw-conformance", help="name of the kind cluster to make or reuse (--target=kind)")
    group.addoption("--kind-keep", action="store_true", help="leave the kind cluster running after the run (--target=kind)")
    group.addoption("--agentgateway-version", help="agentgateway Helm chart version to install (--target=kind; default: the pinned release)")
    report_dir.add_options(group)


# Options that only mean something on some targets: (option, dest, where it applies, test).
_TARGET_ONLY = (
    ("--kubeconfig", "kubeconfig", "--target=kubernetes without --envtest", lambda t, e: t == "kubernetes" and not e),
    ("--gateway-address", "gateway_address", "--target=kubernetes without --envtest", lambda t, e: t == "kubernetes" and not e),
    ("--install-base", "install_base", "--target=kubernetes without --envtest", lambda t, e: t == "kubernetes" and not e),
    ("--backend-address", "backend_address", "--target=kubernetes with --install-base", lambda t, e: t == "kubernetes" and not e),
    ("--envtest", "envtest", "--target=kubernetes", lambda t, e: t == "kubernetes"),
    ("--envtest-gateway", "envtest_gateway", "--target=kubernetes --envtest", lambda t, e: t == "kubernetes" and e),
    ("--reference-command", "reference_command", "--target=reference, --envtest or --target=agentgateway-local",
     lambda t, e: t in ("reference", "agentgateway-local") or e),
    ("--agentgateway-binary", "agentgateway_binary", "--target=agentgateway-local", lambda t, e: t == "agentgateway-local"),
    ("--kind-keep", "kind_keep", "--target=kind", lambda t, e: t == "kind"),
    ("--agentgateway-version", "agentgateway_version", "--target=kind", lambda t, e: t == "kind"),
)


def check(config: pytest.Config) -> None:
    """Refuse, before anything starts, options that cannot work as given."""
    target, envtest = config.getoption("target"), config.getoption("envtest")
    for flag, dest, where, applies in _TARGET_ONLY:
        if config.getoption(dest) and not applies(target, envtest):
            raise pytest.UsageError(f"{flag} has no effect with --target={target}{' --envtest' if envtest else ''}; it only applies to {where}")
    for flag, dest in (("--supported-features", "supported_features"), ("--exempt-features", "exempt_features")):
        unknown = sorted(set(config.getoption(dest) or ()) - set(ft.FEATURES))
        if unknown:
            raise pytest.UsageError(f"{flag}: unknown feature(s) {names_unknown(unknown, ft.FEATURES)}; known: {', '.join(ft.FEATURES)}")
    try:
        pages.choose(config.getoption("docs_pages") or ["none"])
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    named_pages = sorted(set(config.getoption("profiles") or ()) & set(ft.PAGE_PROFILES))
    if named_pages and config.getoption("docs_pages") is not None:
        raise pytest.UsageError(f"--profiles names the page profile(s) {', '.join(named_pages)} and --docs-pages chooses pages too; use one")
    unknown = sorted(set(config.getoption("profiles") or ()) - set(ft.PROFILES))
    if unknown:
        raise pytest.UsageError(f"--profiles: unknown profile(s) {names_unknown(unknown, ft.PROFILES)}; known: {', '.join(ft.PROFILES)}")
    bad = sorted(i for i in config.getoption("skip_tests") if not ft.ID_PATTERN.match(i))
    if bad:
        raise pytest.UsageError(f"--skip-tests: {', '.join(bad)} is not a scenario ID (like APIKEY-EXT-012)")
    for name in ("convergence_threshold", "convergence_timeout", "convergence_interval", "load_seconds", "load_clients", "hostile_slow_limit"):
        if config.getoption(name) <= 0:
            raise pytest.UsageError(f"--{name.replace('_', '-')} must be greater than 0")


_SHOWN_UNKNOWN = 5


def names_unknown(unknown: list[str], known) -> str:
    """Unknown names for a one-line error: the suite's name for any that is only written in
    another case, first; at most a few, each cut short, then how many there are in all."""
    by_folded = {k.lower(): k for k in known}
    shown = [f"{u} (did you mean {by_folded[u.lower()]}?)" for u in unknown if u.lower() in by_folded]
    shown += [u if len(u) <= 40 else u[:40] + "..." for u in unknown if u.lower() not in by_folded]
    text = ", ".join(shown[:_SHOWN_UNKNOWN])
    if len(shown) > _SHOWN_UNKNOWN:
        text += f", and {len(shown) - _SHOWN_UNKNOWN} more ({len(shown)} unknown)"
    return text
