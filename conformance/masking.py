"""Keys out of every test report, where the report is made.

pytest and pytest-bdd write a scenario several ways: the terminal (`-v`, `-rA`,
`--tb=long`), JUnit XML, cucumber JSON, pytest-bdd's Gherkin reporter, and the captured
output and logs they carry. All of them read one object, the test report that
`pytest_runtest_makereport` returns, and pytest-bdd's scenario record attached to it.
Masking that report once, as it is made (conformance/plugin.py), cleans every output at
once, with or without `--report-dir`, and under pytest-xdist before it leaves the worker.

What is masked: every key the scenario configured, generated or presented, and every key
its steps will use (conformance.world.World.foresee), so a step that never ran because an
earlier one failed is masked as well.

Test names need no masking: an outline's examples are named by the values its title names,
never by a row (conformance/inventory.py), and no title names a key (tests check it).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pytest_bdd.reporting import test_report_context_registry


def mask_report(report: pytest.TestReport, redact: Callable[[str], str]) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (longrepr[0], longrepr[1], redact(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]
    report.user_properties = [(name, redact(value) if isinstance(value, str) else value) for name, value in report.user_properties]
    context = test_report_context_registry.get(report)
    if context is not None:
        context.name = redact(context.name)
        scenario = context.scenario
        scenario["name"] = redact(scenario["name"])
        for step in scenario["steps"]:
            step["name"] = redact(step["name"])
