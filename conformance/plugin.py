"""The pytest plugin: options, the target and world fixtures, feature gating and the report."""

from __future__ import annotations

import pytest

from . import features as ft
from .convergence import Rule
from .report import Report
from .steps import *  # noqa: F403 -- steps are fixtures; importing them here shares them with every feature file
from .targets.base import Target
from .world import World

TARGETS = ("reference", "kubernetes")


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("agw-conformance", "API key auth conformance")
    group.addoption("--target", choices=TARGETS, default="reference", help="deployment under test (default: reference)")
    group.addoption("--reference-command", help="command that runs the reference gateway (default: python -m reference); also used by --envtest")
    group.addoption("--convergence-threshold", type=int, default=3, help="matches in a row an expectation needs (default 3)")
    group.addoption("--convergence-timeout", type=float, default=30.0, help="seconds an expectation may take (default 30)")
    group.addoption("--convergence-interval", type=float, default=0.1, help="seconds between attempts (default 0.1)")
    group.addoption("--supported-features", type=_csv, help="features the target supports (default: what the target declares)")
    group.addoption("--exempt-features", type=_csv, default=[], help="features not to test even if supported")
    group.addoption("--skip-tests", type=_csv, default=[], help="scenario IDs not to run (e.g. APIKEY-EXT-012)")
    group.addoption("--profiles", type=_csv, default=[ft.CORE, ft.EXTENDED], help=f"profiles to run ({ft.CORE}, {ft.EXTENDED})")
    group.addoption("--conformance-report", help="write a ConformanceReport YAML to this path")
    group.addoption("--kubeconfig", help="kubeconfig of the cluster (--target=kubernetes)")
    group.addoption("--gateway-address", help="base URL of the gateway under test (--target=kubernetes)")
    group.addoption("--install-base", action="store_true", help="create the Gateway, httpbin route and Service (--target=kubernetes)")
    group.addoption("--envtest", action="store_true",
                    help="--target=kubernetes on a cluster of our own: envtest API server, go-httpbin, and the reference gateway watching it")
    group.addoption("--backend-address", help="HOST:PORT of an httpbin for the base EndpointSlice (--target=kubernetes with --install-base)")


def _make_target(config: pytest.Config) -> Target:
    # Cluster targets import the Kubernetes client; the default run does not need it.
    if config.getoption("target") == "kubernetes" and config.getoption("envtest"):
        from .targets.envtest import EnvtestTarget

        return EnvtestTarget.from_options(config)
    if config.getoption("target") == "kubernetes":
        from .targets.kubernetes import KubernetesTarget

        return KubernetesTarget.from_options(config)
    from .targets.reference import ReferenceTarget

    return ReferenceTarget(ft.REFERENCE_FEATURES, command=config.getoption("reference_command"), timeout=config.getoption("convergence_timeout"))


def pytest_configure(config: pytest.Config) -> None:
    for name, (profile, what) in ft.FEATURES.items():
        config.addinivalue_line("markers", f"{name}: feature in {profile}: {what}")
    for tag in ft.OTHER_TAGS:
        config.addinivalue_line("markers", f"{tag}: scenario group")
    _CONFIG[:] = [config]
    config.stash[_TARGET] = _make_target(config)
    config.stash[_REPORT] = Report(config.stash[_TARGET])


_TARGET = pytest.StashKey[Target]()
_REPORT = pytest.StashKey[Report]()
_CONFIG: list[pytest.Config] = []  # pytest-bdd's tag hook gets no config argument


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function):
    try:
        kind = ft.check_tag(tag)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if kind == "id" and _CONFIG:
        # IDs are too many to list in the ini file; each is registered as it is seen.
        _CONFIG[0].addinivalue_line("markers", f"{tag}: conformance scenario ID")
    return getattr(pytest.mark, tag)(function)


def scenario_tags(item: pytest.Item) -> tuple[str | None, set[str]]:
    scenario_id, needs = None, set()
    for mark in item.iter_markers():
        if ft.ID_PATTERN.match(mark.name):
            scenario_id = mark.name
        elif mark.name in ft.FEATURES:
            needs.add(mark.name)
    return scenario_id, needs


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target = config.stash[_TARGET]
    supported = set(config.getoption("supported_features") or target.supported_features)
    unknown = supported - set(ft.FEATURES)
    if unknown:
        raise pytest.UsageError(f"--supported-features: unknown feature(s) {sorted(unknown)}; known: {', '.join(ft.FEATURES)}")
    supported -= set(config.getoption("exempt_features"))
    profiles = set(config.getoption("profiles"))
    report = config.stash[_REPORT]
    report.supported = supported
    keep, deselected = [], []
    for item in items:
        scenario_id, needs = scenario_tags(item)
        if scenario_id is None:
            keep.append(item)  # not a conformance scenario (unit tests)
            continue
        profile = ft.profile_of(needs)
        if profile not in profiles:
            deselected.append(item)
            continue
        missing = sorted(needs - supported)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"not supported by the target: {', '.join(missing)}"))
            report.unsupported(scenario_id, profile, missing)
        elif scenario_id in config.getoption("skip_tests"):
            item.add_marker(pytest.mark.skip(reason=f"{scenario_id} skipped by --skip-tests"))
            report.skipped(item.nodeid, scenario_id, profile)
        else:
            report.expect(item.nodeid, scenario_id, profile)
        keep.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config):
    target = pytestconfig.stash[_TARGET]
    try:
        target.start()
        target.install_base()
        yield target
    finally:
        target.stop()


@pytest.fixture(scope="session")
def convergence(pytestconfig: pytest.Config) -> Rule:
    return Rule(
        threshold=pytestconfig.getoption("convergence_threshold"),
        timeout=pytestconfig.getoption("convergence_timeout"),
        interval=pytestconfig.getoption("convergence_interval"),
    )


@pytest.fixture
def world(target: Target, convergence: Rule):
    world = World(target, convergence)
    try:
        yield world
    finally:
        world.cleanup()


class _ReportHooks:
    def __init__(self, report: Report):
        self.report = report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.report.record(report)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        for line in self.report.summary_lines():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        path = session.config.getoption("conformance_report")
        if path:
            self.report.write(path)


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.pluginmanager.register(_ReportHooks(session.config.stash[_REPORT]), "agw-conformance-report")
