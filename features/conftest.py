"""This directory's feature files, collected as pytest tests named after their scenarios.

Each `.feature` file is a test file of its own, and each scenario a test called by its ID
tag and title, so a run reads `features/docs_page_2026_02_19.feature::APIKEY-DOC-001 Set up API
key auth PASSED`, and `pytest features/status.feature` runs one file (the report still
judges every scenario of this directory, and lists the others as not selected). An
outline's examples are named as `conformance/inventory.py` says. Test locations (and so
skip reasons) point at the scenario's line in the feature file, not at pytest-bdd's code.

The step definitions live in `conformance.steps`; importing them here (rather than from the
installed plugin) keeps them from matching the steps of other projects that use pytest-bdd.
"""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from pytest_bdd import scenario
from pytest_bdd.feature import get_feature

from conformance import inventory
from conformance.inventory import example_ids, scenario_test_name
from conformance.steps import *  # noqa: F403 -- pytest-bdd steps are fixtures, found by name

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # The verdict is judged against every scenario of this directory (conformance/inventory.py).
    inventory.declare(config, HERE)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".feature":
        return FeatureFile.from_parent(parent, path=file_path)
    return None


def _place() -> None:
    """Stands in for a scenario's place in its feature file (see `_placed_at`)."""


def _placed_at(path: Path, line: int) -> types.FunctionType:
    # pytest reports a test's location (and a skip's) from its function's code, or from the
    # object the function's `place_as` names: here a function whose code claims the line.
    return types.FunctionType(_place.__code__.replace(co_filename=str(path), co_firstlineno=line), {})


def _rename_examples(function, ids: list[str]) -> None:
    marks = []
    for mark in getattr(function, "pytestmark", []):
        if mark.name == "parametrize" and mark.args[0] == "_pytest_bdd_example":
            params = [pytest.param(*p.values, id=i, marks=p.marks) for p, i in zip(mark.args[1], ids, strict=True)]
            mark = pytest.mark.parametrize("_pytest_bdd_example", params).mark
        marks.append(mark)
    function.pytestmark = marks


class FeatureFile(pytest.Module):
    """A feature file as a module whose test functions are its scenarios."""

    def _getobj(self):
        # pytest-bdd shows a feature as "<its directory's name>/<file name>": features/x.feature.
        directory, filename = str(self.path.parent), self.path.name
        feature = get_feature(directory, filename)
        module = types.ModuleType(feature.rel_filename)
        for name, template in feature.scenarios.items():

            @scenario(filename, name, features_base_dir=directory)
            def bound() -> None:
                pass

            if template.examples:
                _rename_examples(bound, example_ids(template))
            bound.place_as = _placed_at(self.path, template.line_number)
            bound.__test__ = True  # collected by this name, which is no Python identifier
            test = scenario_test_name(template)
            while test in vars(module):
                test += " (again)"
            setattr(module, test, bound)
        return module
