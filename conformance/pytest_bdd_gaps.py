"""What pytest-bdd offers no public way to do, in one place, each with the upstream change it waits for.

Everything else the suite asks of pytest-bdd goes through its public API (`scenario()`, the
step decorators, the `pytest_bdd_*` hooks and the item's markers). The two workarounds
below touch pytest-bdd's internals; each is written up as a patch for pytest-bdd in
`docs/upstream/`, and goes away (with this module) when pytest-bdd has it.

1. Outline example ids (docs/upstream/pytest-bdd-example-ids.md). pytest-bdd names an
   example by its whole row (`-`.join of its values), and a row may hold an API key, which
   pytest then prints as a test name before any masking could act. There is no hook for
   the id, so the suite rewrites the ids of the parametrization pytest-bdd put on the
   bound scenario (its private argument `_pytest_bdd_example`).

2. The scenario record of a test report (docs/upstream/pytest-bdd-report-record.md).
   pytest-bdd keeps what its cucumber JSON writes (the scenario and its steps) beside each
   report, in `pytest_bdd.reporting.test_report_context_registry`, not in the report. So
   (a) masking the keys out of a report must reach into that registry, and (b) under
   pytest-xdist the record stays on the worker, and the controller's cucumber JSON has no
   scenario at all; `RecordTransport` carries it along with the report.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_bdd.reporting import ReportContext, test_report_context_registry

# The parametrized argument pytest-bdd gives each scenario function it binds (pytest_bdd/scenario.py).
_EXAMPLE_ARGUMENT = "_pytest_bdd_example"


def name_examples(function: Callable, ids: list[str]) -> None:
    """Give the examples of the outline bound to `function` the test ids `ids`, in row order."""
    marks = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == _EXAMPLE_ARGUMENT:
            params = [pytest.param(*p.values, id=i, marks=p.marks) for p, i in zip(mark.args[1], ids, strict=True)]
            mark = pytest.mark.parametrize(_EXAMPLE_ARGUMENT, params).mark
        marks.append(mark)
    function.pytestmark = marks


class ScenarioRecord:
    """The parts of a report's scenario record that can hold text a step was given."""

    def __init__(self, context: ReportContext):
        self._context = context

    def rewrite_texts(self, change: Callable[[str], str]) -> None:
        """Pass the test name, the scenario name and each step's text through `change`."""
        context = self._context
        context.name = change(context.name)
        context.scenario["name"] = change(context.scenario["name"])
        for step in context.scenario["steps"]:
            step["name"] = change(step["name"])


def record_of(report: pytest.TestReport) -> ScenarioRecord | None:
    context = test_report_context_registry.get(report)
    return ScenarioRecord(context) if context is not None else None


class RecordTransport:
    """Carries the scenario record of each report the suite chooses from an xdist worker to the controller.

    The record travels in the serialized report (masked already, with the report, on the
    worker) and is put back beside the report on the controller, where pytest-bdd's
    cucumber JSON is written.
    """

    FIELD = "agw-conformance-bdd-record"

    def __init__(self, carries: Callable[[pytest.TestReport], bool]):
        self.carries = carries

    @pytest.hookimpl(wrapper=True)
    def pytest_report_to_serializable(self, config: pytest.Config, report):
        data = yield
        context = test_report_context_registry.get(report) if isinstance(report, pytest.TestReport) else None
        if isinstance(data, dict) and context is not None and self.carries(report):
            data[self.FIELD] = {"name": context.name, "scenario": context.scenario}
        return data

    @pytest.hookimpl(wrapper=True)
    def pytest_report_from_serializable(self, config: pytest.Config, data: dict):
        record = data.pop(self.FIELD, None) if isinstance(data, dict) else None
        report = yield
        if record is not None and isinstance(report, pytest.TestReport):
            test_report_context_registry[report] = ReportContext(scenario=record["scenario"], name=record["name"])
        return report
