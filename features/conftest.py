"""This directory's feature files, collected as pytest tests named after their scenarios.

Each `.feature` file is a test file of its own, and each scenario a test called by its ID
tag and title, so a run reads `features/docs_page_2026_02_19.feature::APIKEY-DOC-001 Set up API
key auth PASSED`, and `pytest features/status.feature` runs one file (the report still
judges every scenario of this directory, and lists the others as not selected). How they
are bound, named and placed is `conformance/binding.py`.

The step definitions live in `conformance.steps`; importing them here (rather than from the
installed plugin) keeps them from matching the steps of other projects that use pytest-bdd.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import binding
from conformance.steps import *  # noqa: F403 -- pytest-bdd steps are fixtures, found by name

HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    # The verdict is judged against every scenario of this directory (conformance/inventory.py).
    binding.declare(config, HERE)


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if file_path.suffix == ".feature":
        return binding.collect(file_path, parent)
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    binding.place(item)
