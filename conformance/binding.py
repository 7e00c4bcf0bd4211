"""The suite's feature files bound as pytest tests, through pytest-bdd's public `scenario()`.

Each `.feature` file is collected as a test module of its own, and each scenario as a test
called by its ID tag and title (`features/status.feature::APIKEY-CORE-001 Title`); an
outline's examples are named as `conformance/inventory.py` says. A test's location (and so
a skip's) is the scenario's line in its feature file, not pytest-bdd's code.

The scenarios are read from the files (conformance/feature_files.py) before they are bound,
so their tags are checked, and their ID tags registered as markers, without asking
pytest-bdd which scenario it is binding at the time.
"""

from __future__ import annotations

import os
import types
from pathlib import Path

import pytest
from pytest_bdd import scenario

from . import feature_files, inventory
from .profiles import ID_PATTERN, check_tag
from .pytest_bdd_gaps import name_examples

_BOUND = pytest.StashKey[dict[tuple[Path, str], feature_files.Scenario]]()


def declare(config: pytest.Config, directory: Path) -> None:
    """The suite's feature files are those of `directory`: check their tags and register their IDs.

    Called at configure, before pytest-bdd marks any scenario with its tags (an ID is a
    marker, and `--strict-markers` refuses one that is not registered).
    """
    inventory.declare(config, directory)
    config.stash[_BOUND] = {}
    for feature in _read(directory):
        for template in feature.scenarios:
            for tag in sorted(check_tags(template)):
                config.addinivalue_line("markers", f"{tag}: conformance scenario ID")


def check_tags(template: feature_files.Scenario) -> set[str]:
    """The scenario's ID tags, after checking that each of its tags is one the suite knows and
    that it has one ID. A scenario without any ID is not the suite's and is not checked."""
    ids = {t for t in template.tags if ID_PATTERN.match(t)}
    if not ids:
        return ids
    where = f"{template.path.name}: {template.name}"
    for tag in sorted(template.tags):
        try:
            check_tag(tag)
        except ValueError as exc:
            raise pytest.UsageError(f"{where}: {exc}") from None
    if len(ids) > 1:
        raise pytest.UsageError(f"{where}: a scenario carries exactly one ID tag, this one has {', '.join('@' + i for i in sorted(ids))}")
    return ids


def _read(directory: Path) -> list[feature_files.FeatureFile]:
    try:
        return feature_files.read_directory(directory)
    except feature_files.FeatureFileError as exc:
        raise pytest.UsageError(str(exc)) from None


def collect(file_path: Path, parent: pytest.Collector) -> pytest.Module:
    """A feature file as a test module whose test functions are its scenarios."""
    module = pytest.Module.from_parent(parent, path=file_path)
    module.obj = _bind(file_path, parent.config)
    return module


def _bind(path: Path, config: pytest.Config) -> types.ModuleType:
    try:
        feature = feature_files.read(path)
    except feature_files.FeatureFileError as exc:
        raise pytest.UsageError(str(exc)) from None
    # pytest-bdd shows a feature as "<its directory's name>/<file name>": features/x.feature.
    module = types.ModuleType(f"{path.parent.name}/{path.name}")
    bound = config.stash.setdefault(_BOUND, {})
    for template in feature.scenarios:
        test = inventory.scenario_test_name(template)
        if test in vars(module):
            # pytest-bdd finds a scenario by its title, so two alike in one file cannot both be bound.
            raise pytest.UsageError(f"{path.name}:{template.line}: another scenario of this file is called {template.name!r}")

        @scenario(path.name, template.name, features_base_dir=str(path.parent))
        def function() -> None:
            pass

        if template.examples:
            name_examples(function, inventory.example_ids(template))
        function.__test__ = True  # collected by this name, which is no Python identifier
        setattr(module, test, function)
        bound[(path, test)] = template
    return module


def scenario_of(item: pytest.Item) -> feature_files.Scenario | None:
    """The scenario a test of the suite's feature files runs, found by its file and test name."""
    name = getattr(item, "originalname", None)
    return item.config.stash.get(_BOUND, {}).get((item.path, name))


def place(item: pytest.Item) -> None:
    """Point the test's location at its scenario's line in the feature file."""
    template = scenario_of(item)
    if template is not None:
        item.location = (os.path.relpath(item.path, item.config.rootpath), template.line - 1, item.name)
