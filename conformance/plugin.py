"""The pytest plugin: options, the target and world fixtures, feature gating and the report.

The plugin is installed with the package, so it is loaded in every pytest run of the
environment. It keeps to this suite's own scenarios (those tagged with an `APIKEY-...` ID):
other projects' tags, steps and tests are left alone. The step definitions are not shared
from here; `features/conftest.py` imports them for this suite's feature files only.
"""

from __future__ import annotations

import logging
import os
import time

import pytest

from . import inventory, masking, options, pages, report_dir, trace
from .convergence import Rule
from .processes import interrupt_on_termination
from .profiles import DEFAULT_PROFILES, FEATURES, ID_PATTERN, OTHER_TAGS, PAGE_PROFILES
from .pytest_bdd_gaps import RecordTransport
from .report import Report
from .steps.manifests import foreseen_keys
from .targets import SHARED, make_target
from .targets.base import Target
from .world import World


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    # Before pytest's JUnit and pytest-bdd's cucumber plugins read their paths.
    report_dir.point_outputs(config)


def pytest_configure(config: pytest.Config) -> None:
    for name, (profile, what) in FEATURES.items():
        config.addinivalue_line("markers", f"{name}: feature in {profile}: {what}")
    for tag in OTHER_TAGS:
        config.addinivalue_line("markers", f"{tag}: scenario group")
    options.check(config)
    if not _is_worker(config):
        report_dir.check_outputs(config)  # workers write no report of their own
    interrupt_on_termination()  # `kill -TERM` of a run stops what it started, as Ctrl-C does
    target = make_target(config)
    if target.not_parallel and _runs_workers(config) and not _is_worker(config):
        raise pytest.UsageError(f"-n (pytest-xdist) cannot be used with {target.name}: {target.not_parallel}")
    # A request may take at most a third of the time an expectation has, so a gateway
    # that never answers still leaves room for the expectation to report it.
    target.request_timeout = min(10.0, max(0.5, config.getoption("convergence_timeout") / 3))
    config.stash[_TARGET] = target
    # One rule for the run, read once: the steps wait by it and the report describes it.
    config.stash[_RULE] = Rule(
        threshold=config.getoption("convergence_threshold"),
        timeout=config.getoption("convergence_timeout"),
        interval=config.getoption("convergence_interval"),
        spaced=not target.confirms_changes,
    )
    report = config.stash[_REPORT] = Report(target)
    report.profiles, report.page_choice = choose_profiles(config, target)
    report.supported = set(config.getoption("supported_features") or target.supported_features)
    report.exempt = set(config.getoption("exempt_features"))
    report.skip_ids = set(config.getoption("skip_tests"))
    report.run = describe_run(config, config.stash[_RULE])
    report_dir.describe(config, report)
    config.pluginmanager.register(trace.StepHooks(), "agw-conformance-steps")
    # Under pytest-xdist, the scenario record of each of this suite's reports goes with the
    # report to the controller, where the cucumber JSON is written (masked on the worker).
    config.pluginmanager.register(RecordTransport(_carries_our_scenario), "agw-conformance-bdd-record")
    if config.pluginmanager.hasplugin("xdist") and not _is_worker(config):
        config.pluginmanager.register(_XdistController(report), "agw-conformance-xdist")
        if target.shares and _runs_workers(config) and not config.option.collectonly:
            config.pluginmanager.register(_SharedParts(target), "agw-conformance-shared")


def _runs_workers(config: pytest.Config) -> bool:
    return config.getoption("numprocesses", None) not in (None, 0)


def choose_profiles(config: pytest.Config, target: Target) -> tuple[set[str], str]:
    """The profiles this run judges, and why it checks the docs pages it checks.

    Besides --profiles (default core and extended), one version of the docs page: the one
    users of the target's version read, or every version where the target does not say
    (the reference implements them all); --docs-pages chooses instead.
    """
    given = config.getoption("profiles")
    chosen = set(given or DEFAULT_PROFILES)
    if config.getoption("docs_pages") is not None:
        names = config.getoption("docs_pages")
        return chosen | {p.profile for p in pages.choose(names)}, f"--docs-pages {','.join(names)}"
    if given is not None:
        return chosen, "--profiles"
    version = target.product_version()
    if version is None:
        return chosen | set(PAGE_PROFILES), f"every version: the {target.name} target does not name one product version"
    page = pages.for_version(version)
    return chosen | {page.profile}, f"the version of the {target.name} target, {version}, reads the page for {page.name}"


def describe_run(config: pytest.Config, rule: Rule) -> dict:
    """How this run was made, for the report: what it selected and how it waited."""
    option = config.option
    selection = {"paths": [os.path.relpath(a, config.rootpath) if os.path.isabs(a) else a for a in config.args]}
    for key, value in (("keyword", option.keyword), ("markers", option.markexpr), ("deselect", option.deselect),
                       ("ignore", option.ignore), ("ignoreGlob", option.ignore_glob), ("maxfail", option.maxfail),
                       ("skipTests", config.getoption("skip_tests")), ("profiles", config.getoption("profiles")),
                       ("docsPages", config.getoption("docs_pages"))):
        if value:
            selection[key] = list(value) if isinstance(value, (list, tuple)) else value
    return {
        "selection": selection,
        "convergence": {"threshold": rule.threshold, "intervalSeconds": rule.interval, "timeoutSeconds": rule.timeout, "matchesSpaced": rule.spaced},
        "workers": getattr(option, "numprocesses", None) or 0,
    }


def _load_inventory(config: pytest.Config, report: Report) -> None:
    """The suite's whole inventory, once the conftest that binds its feature files has said where it is."""
    directory = inventory.declared(config)
    if directory is not None and not report.inventory:
        report.inventory = inventory.load(directory)


_TARGET = pytest.StashKey[Target]()
_REPORT = pytest.StashKey[Report]()
_RULE = pytest.StashKey[Rule]()


def scenario_tags(item: pytest.Item) -> tuple[str | None, set[str]]:
    scenario_id, needs = None, set()
    for mark in item.iter_markers():
        if ID_PATTERN.match(mark.name):
            scenario_id = mark.name
        elif mark.name in FEATURES:
            needs.add(mark.name)
    return scenario_id, needs


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselect, so the report knows what they took out
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    target, report = config.stash[_TARGET], config.stash[_REPORT]
    _load_inventory(config, report)
    keep, deselected, runnable, seen = [], [], 0, set()
    for item in items:
        name = inventory.name_of(item.nodeid)
        if name is None or scenario_tags(item)[0] is None:
            keep.append(item)  # not a scenario of this suite
            continue
        entry = report.inventory.get(name)
        if entry is None:
            raise pytest.UsageError(f"{item.nodeid}: not in the suite's inventory of scenarios "
                                    f"({inventory.declared(config) or 'no features/conftest.py declared one'})")
        seen.add(entry.scenario_id)
        report.collect([name])
        if entry.profile not in report.profiles:
            deselected.append(item)
            continue
        verdict = report.verdict(entry)
        if verdict.kind == "run":
            runnable += 1
        else:
            # The item's location is the scenario's line in its feature file (conformance/binding.py).
            item.add_marker(pytest.mark.skip(reason=verdict.reason))
        keep.append(item)
    known = {e.scenario_id for e in report.inventory.values()} or seen
    unknown = sorted(report.skip_ids - known)
    if unknown and seen:
        raise pytest.UsageError(f"--skip-tests: the suite has no scenario with the ID {', '.join(unknown)}")
    if seen and not runnable:
        raise pytest.UsageError(
            f"no scenario is left to run: profiles {', '.join(sorted(report.profiles))}, supported features "
            f"{', '.join(sorted(report.supported - report.exempt)) or 'none'}; check --profiles, --supported-features and --exempt-features"
        )
    if deselected:
        by_profile: dict[str, list[str]] = {}
        for item in deselected:
            entry = report.inventory[inventory.name_of(item.nodeid)]
            by_profile.setdefault(entry.profile, []).append(entry.name)
        config.stash[_DESELECTED_BY_PROFILE] = by_profile
        config.hook.pytest_deselected(items=deselected)
        items[:] = keep
    if runnable:
        try:
            target.preflight()
        except Exception as exc:  # noqa: BLE001 -- any reason the target is unreachable ends the run here
            raise pytest.UsageError(f"the {target.name} target is not reachable: {exc}") from None


_DESELECTED_BY_PROFILE = pytest.StashKey[dict[str, list[str]]]()


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    """Why the suite deselected what it did: pytest only counts them ("2 deselected")."""
    by_profile = config.stash.get(_DESELECTED_BY_PROFILE, {})
    checked = config.stash[_REPORT].page_choice
    return [f"{len(names)} deselected by the suite: {', '.join(sorted(names))}, of the profile {profile}, " + (
            f"a docs page this run does not check ({checked}; --docs-pages chooses)" if profile in pages.BY_PROFILE
            else f"not among --profiles (default {', '.join(DEFAULT_PROFILES)})") for profile, names in sorted(by_profile.items())]


@pytest.hookimpl(trylast=True)
def pytest_deselected(items: list[pytest.Item]) -> None:
    # -k, -m and --deselect take scenarios out after our own choice; the report lists them.
    if items:
        items[0].config.stash[_REPORT].deselected(n for n in (inventory.name_of(i.nodeid) for i in items) if n)


_STEP_ERROR = pytest.StashKey[tuple[str, Exception]]()
_WORLD = pytest.StashKey[World]()  # steps ask for the world by name, so it is not among the item's funcargs


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:
    request.node.stash[_STEP_ERROR] = (f"{feature.rel_filename}:{step.line_number}: {step.keyword} {step.name}", exception)


_FORESEEN = pytest.StashKey[set[str]]()


def pytest_bdd_before_scenario(request, feature, scenario) -> None:
    # Learn the scenario's keys from its text before it runs, so that every output can mask
    # the steps it never reaches as well as those it does (conformance/masking.py). Done for
    # every pytest-bdd scenario, the suite's or a user's with its steps: reading the text
    # needs no fixture, and what it finds is only ever used to mask.
    request.node.stash[_FORESEEN] = foreseen_keys(scenario.steps)


@pytest.hookimpl(wrapper=True, tryfirst=True)  # outermost: after pytest-bdd has attached its record
def pytest_runtest_makereport(item: pytest.Item, call):
    """A failed expectation reads as the Gherkin step it broke, and no report holds a key.

    The harness's own messages already say what was expected, what came back and the
    request (credentials redacted), or which change never took effect; the traceback would
    add 50 lines of pytest-bdd and,
    in its locals, the keys in clear. Anything that is not a failed expectation (a bug
    in the harness, say) keeps its traceback, masked like the rest of the report.
    """
    report = yield
    if inventory.name_of(item.nodeid) is not None:
        if report.skipped and isinstance(report.longrepr, tuple) and report.location[1] is not None:
            # pytest places a skip by mark at the test function's code, pytest-bdd's; the
            # test's own location is its scenario's line in the feature file (conformance/binding.py).
            report.longrepr = (str(item.path), report.location[1] + 1, report.longrepr[2])
        failure = item.stash.get(_STEP_ERROR, None)
        # A TimeoutError is the target's too: a change it never put in force (conformance/waiting.py).
        if report.when == "call" and report.failed and failure is not None and isinstance(failure[1], (AssertionError, TimeoutError)):
            scenario_id, _ = scenario_tags(item)
            if scenario_id is not None:
                where, exc = failure
                report.longrepr = f"{scenario_id} › {where}\n{exc}"
    if _WORLD in item.stash or item.stash.get(_FORESEEN, None):
        masking.mask_report(report, lambda text: redact(text, item))
    return report


def redact(text: str, item: pytest.Item) -> str:
    """`text` without any key the scenario configured, presented or will use."""
    world = item.stash.get(_WORLD, None)
    if world is not None:
        return world.redact(text)
    return masking.redact(text, item.stash.get(_FORESEEN, ()))


def _carries_our_scenario(report: pytest.TestReport) -> bool:
    return inventory.name_of(report.nodeid) is not None or any(name == trace.TRACE_PROPERTY for name, _ in report.user_properties)


_LOG_MASK = masking.LogMask()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem):
    # Log records go to the log file and live logs as they are made (masking.LogMask). The
    # handlers of the root logger are pytest's (and any a conftest added) for the whole loop.
    _LOG_MASK.cover(logging.getLogger().handlers)
    _LOG_MASK.redact = lambda text: redact(text, item)
    result = yield
    # Left set when the test was interrupted: pytest_keyboard_interrupt still needs it.
    _LOG_MASK.redact = None
    return result


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter keeps the traceback to print
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    if _LOG_MASK.redact is not None:
        masking.hide_keys_of_interrupt(excinfo, _LOG_MASK.redact)


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest, pytestconfig: pytest.Config):
    target = pytestconfig.stash[_TARGET]
    try:
        try:
            target.start()
            target.install_base()
        except Exception as exc:  # noqa: BLE001 -- a shared set-up failure is reported once, not per scenario
            message = f"the {target.name} target could not be set up, so no scenario can run: {type(exc).__name__}: {exc}"
            # On a pytest-xdist worker, the exit alone reaches the controller as a worker that
            # ended in the middle of a scenario (an INTERNALERROR without this message); a
            # worker's `shouldstop` is what the controller stops the run with, and shows.
            if _is_worker(pytestconfig):
                request.session.shouldstop = message
            pytest.exit(message, returncode=pytest.ExitCode.INTERNAL_ERROR)
        pytestconfig.stash[_REPORT].note_target()
        yield target
    finally:
        target.close_transport()
        target.stop()


@pytest.fixture(scope="session")
def convergence(pytestconfig: pytest.Config) -> Rule:
    return pytestconfig.stash[_RULE]


@pytest.fixture
def world(request: pytest.FixtureRequest, target: Target, convergence: Rule):
    world = request.node.stash[_WORLD] = World(target, convergence)
    world.foreseen |= request.node.stash.get(_FORESEEN, set())
    try:
        yield world
    finally:
        try:
            world.cleanup()
        finally:
            trace.attach(request.node, world)  # steps, manifests, exchanges, keys masked


class _ReportHooks:
    def __init__(self, report: Report, config: pytest.Config):
        self.report, self.config = report, config
        self.written: list[str] = []
        self.unwritten: list[str] = []  # a line per report that could not be written

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.report.record(report)

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config) -> None:
        if exitstatus == pytest.ExitCode.USAGE_ERROR:
            return  # nothing ran; the usage error says why
        if config.option.collectonly:
            if self.report.is_ours() and not _is_worker(config):
                terminalreporter.write_line("no verdict: --collect-only runs no scenario (no ConformanceReport or HTML report is written)")
            return
        for line in self.report.summary_lines():
            terminalreporter.write_line(line)
        if not _is_worker(config):
            if not self.report.is_ours() and config.getoption("conformance_report"):
                terminalreporter.write_line("no ConformanceReport written: this run collected no scenario of the suite")
            for line in report_dir.where_lines(config, self.written, self.unwritten):
                terminalreporter.write_line(line, red=line.startswith("could not"))

    @pytest.hookimpl(wrapper=True, trylast=True)  # innermost wrapper: around pytest's and pytest-bdd's writers
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int):
        """The ConformanceReport and the HTML first; then JUnit XML and cucumber JSON, which
        pytest and pytest-bdd write; then the manifests into the cucumber JSON.

        A report that cannot be written (the paths were checked at configure, but a disk
        can fill or a directory go) is said in one line after the verdict, which is printed
        all the same, and the run does not exit 0.
        """
        _load_inventory(self.config, self.report)
        if _is_worker(self.config):
            # The controller writes the report; it gets this worker's part here.
            self.config.workeroutput["agw-conformance-report"] = self.report.state()
            return (yield)
        if exitstatus == pytest.ExitCode.USAGE_ERROR or self.config.option.collectonly:
            return (yield)  # nothing ran: no verdict to write
        self.written, self.unwritten = report_dir.write(session.config, self.report)
        started = time.time()
        try:
            result = yield
        except OSError as exc:
            if exc.filename is None or not report_dir.is_output(self.config, str(exc.filename)):
                raise
            # pytest stops calling writers at the first that fails: say which were not reached.
            self.unwritten += report_dir.not_written_after(self.config, str(exc.filename), exc, started)
            result = None
        else:
            self.unwritten += report_dir.attach(self.config, self.report)
        if self.unwritten and session.exitstatus == pytest.ExitCode.OK:
            # A run that was asked for a report and has none is not a success to a script
            # that reads only the exit code.
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return result


class _XdistController:
    """On the xdist controller: merge what each worker saw into the one report."""

    def __init__(self, report: Report):
        self.report = report

    def pytest_testnodedown(self, node, error) -> None:
        state = getattr(node, "workeroutput", {}).get("agw-conformance-report")
        if state:
            self.report.merge(state)


class _SharedParts:
    """On the xdist controller, for a target whose workers share parts (Target.shares): they
    are started before the first worker, each worker is told how to use them, and they are
    stopped after the last worker, also when the run is interrupted."""

    def __init__(self, target: Target):
        self.target = target
        self.shared: dict = {}

    @pytest.hookimpl(tryfirst=True)  # before pytest-xdist starts the workers (its own sessionstart is trylast)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            self.shared = self.target.share()
        except Exception as exc:  # noqa: BLE001 -- reported once, as a failed set-up of the target is
            pytest.exit(f"the parts of the {self.target.name} target that every worker shares could not be set up, "
                        f"so no scenario can run: {type(exc).__name__}: {exc}", returncode=pytest.ExitCode.INTERNAL_ERROR)

    def pytest_configure_node(self, node) -> None:
        node.workerinput[SHARED] = {**self.shared, **self.target.share_with(node.gateway.id)}

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.target.unshare()


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.pluginmanager.register(_ReportHooks(session.config.stash[_REPORT], session.config), "agw-conformance-report")
