"""The suite's command-line options, and the checks that refuse combinations that cannot work."""

from __future__ import annotations

import pytest

from . import pages, report_dir
from .profiles import DEFAULT_PROFILES, FEATURES, ID_PATTERN, PAGE_PROFILES, PROFILES, RELIABILITY
from .targets import catalog
from .targets.catalog import TARGETS


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add(parser: pytest.Parser) -> None:
    """Every option of the suite: those of every run in one group of `pytest --help`, then a group
    for each set of targets that read an option of their own (conformance/targets/catalog.py)."""
    group = parser.getgroup("agw-conformance", "API key auth conformance")
    group.addoption("--target", choices=TARGETS, default="reference", help="deployment under test (default: reference)")
    group.addoption("--convergence-threshold", type=int, default=3, help="matches in a row an expectation needs (default 3)")
    group.addoption("--convergence-timeout", type=float, default=30.0, help="seconds an expectation may take (default 30)")
    group.addoption("--convergence-interval", type=float, default=0.1, help="seconds before the next attempt after a miss, and between matches where the target does not confirm its changes (default 0.1)")
    group.addoption("--supported-features", type=_csv, help="features the target supports (default: what the target declares)")
    group.addoption("--exempt-features", type=_csv, default=[], help="features not to test even if supported")
    group.addoption("--skip-tests", type=_csv, default=[], help="scenario IDs not to run (e.g. APIKEY-EXT-012)")
    group.addoption("--profiles", type=_csv, default=None,
                    help=(f"profiles to run (default {', '.join(DEFAULT_PROFILES)} and the docs page of the target's version; "
                          f"opt-in: {RELIABILITY}; pages: {', '.join(PAGE_PROFILES)})"))
    group.addoption("--docs-pages", type=_csv, default=None,
                    help=(f"versions of the docs page to check, besides the other profiles: {', '.join(pages.PAGES)}, all or none "
                          "(default: the page the target's version reads; all on the reference and on a cluster of unknown version)"))
    group.addoption("--load-seconds", type=float, default=30.0, help=f"how long the {RELIABILITY} load with key churn runs (default 30)")
    group.addoption("--load-clients", type=int, default=8, help=f"concurrent clients of the {RELIABILITY} load (default 8)")
    group.addoption("--hostile-slow-limit", type=float, default=30.0,
                    help=f"seconds a gateway may leave a client that never finishes its request connected ({RELIABILITY}; default 30)")
    group.addoption("--conformance-report", help="write a ConformanceReport YAML to this path")
    report_dir.add_options(group)
    for kinds, declared in catalog.grouped():
        where = ", ".join(k.selected_by for k in kinds)
        target_group = parser.getgroup(f"agw-conformance: {where}", f"API key auth conformance, only with {where}")
        for opt in declared:
            target_group.addoption(*opt.flags, **opt.attrs)


def check(config: pytest.Config) -> None:
    """Refuse, before anything starts, options that cannot work as given."""
    check_target_options(config)
    for flag, dest in (("--supported-features", "supported_features"), ("--exempt-features", "exempt_features")):
        unknown = sorted(set(config.getoption(dest) or ()) - set(FEATURES))
        if unknown:
            raise pytest.UsageError(f"{flag}: unknown feature(s) {names_unknown(unknown, FEATURES)}; known: {', '.join(FEATURES)}")
    try:
        pages.choose(config.getoption("docs_pages") or ["none"])
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    named_pages = sorted(set(config.getoption("profiles") or ()) & set(PAGE_PROFILES))
    if named_pages and config.getoption("docs_pages") is not None:
        raise pytest.UsageError(f"--profiles names the page profile(s) {', '.join(named_pages)} and --docs-pages chooses pages too; use one")
    unknown = sorted(set(config.getoption("profiles") or ()) - set(PROFILES))
    if unknown:
        raise pytest.UsageError(f"--profiles: unknown profile(s) {names_unknown(unknown, PROFILES)}; known: {', '.join(PROFILES)}")
    bad = sorted(i for i in config.getoption("skip_tests") if not ID_PATTERN.match(i))
    if bad:
        raise pytest.UsageError(f"--skip-tests: {', '.join(bad)} is not a scenario ID (like APIKEY-EXT-012)")
    port = config.getoption("listener_port")
    if not 0 < port < 65536:
        raise pytest.UsageError(f"--listener-port {port}: a port is 1 to 65535")
    for name in ("convergence_threshold", "convergence_timeout", "convergence_interval", "load_seconds", "load_clients", "hostile_slow_limit"):
        if config.getoption(name) <= 0:
            raise pytest.UsageError(f"--{name.replace('_', '-')} must be greater than 0")


def check_target_options(config: pytest.Config) -> None:
    """Refuse an option that the chosen target does not read, naming the targets that do."""
    kind = catalog.chosen(config.getoption("target"), config.getoption("envtest"), config.getoption("envtest_gateway"))
    for kinds, declared in catalog.grouped():
        if kind in kinds:
            continue
        for opt in declared:
            if config.getoption(opt.dest) != opt.default:
                raise pytest.UsageError(f"{opt.flag} has no effect with {kind.selected_by}; "
                                        f"it only applies to {', '.join(k.selected_by for k in kinds)}")


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
