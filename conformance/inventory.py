"""Every scenario of the suite, read from its feature files, and the names tests carry.

A verdict is judged against this inventory, never against what pytest happened to
collect: `pytest features/status.feature` collects one file, but the profiles still
expect every scenario of every file, and the ones not collected are listed as not run.

Names. A scenario's test is called by its ID tag and title (`APIKEY-DOC-001 Set up API
key auth`); an outline's examples are told apart by the values the title names
(`[Strict, a valid]`), or by their row number, never by the whole row, which may hold a
key. The report names a scenario by its ID and, for an example, that example's id:
`APIKEY-CORE-003[Strict, no]`. The same functions name the collected tests
(conformance/binding.py) and the inventory's entries, so the two always match. Both read the
feature files with `conformance.feature_files`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from . import feature_files, pages
from .profiles import FEATURES, ID_PATTERN, profile_of

_PLACEHOLDER = re.compile(r"<([^<>]+)>")
_DIRECTORY = pytest.StashKey[Path]()


@dataclass(frozen=True)
class Entry:
    """One scenario, or one example of an outline, as the report counts it."""

    name: str  # APIKEY-CORE-003[Strict, no]
    scenario_id: str
    needs: frozenset[str]  # the features it needs
    file: str  # the feature file's name, relative to the suite's directory
    line: int
    title: str = ""  # the scenario's title as written (an outline's keeps its <placeholders>)
    page: str | None = None  # the tag of the docs page it mirrors (@page-1.4.x), if any

    @property
    def profile(self) -> str:
        return profile_of(set(self.needs), self.page)


def scenario_test_name(template: feature_files.Scenario) -> str:
    """`APIKEY-DOC-001 Set up API key auth`: the scenario's ID tag, then its title."""
    ids = sorted(t for t in template.tags if ID_PATTERN.match(t))
    return " ".join([*ids, template.name])


def example_ids(template: feature_files.Scenario) -> list[str]:
    """One id per example row: the values the title names, else the row's number.

    Two rows that the title names alike get their row number added, so ids are unique
    without pytest's own de-duplication (which the inventory could not foresee).
    """
    named = _PLACEHOLDER.findall(template.name)
    ids = [", ".join(row[n] for n in named if n in row) or f"example {number}" for number, row in enumerate(template.examples, 1)]
    return [f"{i} (row {number})" if ids.count(i) > 1 else i for number, i in enumerate(ids, 1)]


def entry_name(scenario_id: str, example: str | None = None) -> str:
    return f"{scenario_id}[{example}]" if example else scenario_id


def name_of(nodeid: str) -> str | None:
    """The report's name for a test's node id, or None when the test is not a scenario of ours.

    `features/x.feature::APIKEY-EXT-060 Title[Strict, no]` names `APIKEY-EXT-060[Strict, no]`.
    """
    test = nodeid.rpartition("::")[2]
    scenario_id = test.partition(" ")[0]
    if not ID_PATTERN.match(scenario_id):
        return None
    example = test.rpartition("[")[2][:-1] if test.endswith("]") else None
    return entry_name(scenario_id, example)


def load(directory: Path) -> dict[str, Entry]:
    """Every scenario (and outline example) of every feature file in `directory`."""
    entries: dict[str, Entry] = {}
    for feature in feature_files.read_directory(directory):
        path = feature.path
        for template in feature.scenarios:
            tags = template.tags
            ids = [t for t in tags if ID_PATTERN.match(t)]
            if len(ids) != 1:
                continue  # the tag checks (conformance/binding.py) say what is wrong with it
            needs = frozenset(t for t in tags if t in FEATURES)
            page_tags = sorted(tags & pages.BY_TAG.keys())
            if len(page_tags) > 1:
                raise pytest.UsageError(f"{path.name}:{template.line}: a scenario mirrors one page, "
                                        f"this one is tagged {', '.join('@' + t for t in page_tags)}")
            examples = example_ids(template) if template.examples else [None]
            for example in examples:
                name = entry_name(ids[0], example)
                if name in entries:
                    raise pytest.UsageError(f"{path.name}:{template.line}: the scenario ID {ids[0]} is used twice "
                                            f"(also in {entries[name].file}:{entries[name].line})")
                entries[name] = Entry(name, ids[0], needs, path.name, template.line, template.name,
                                      page_tags[0] if page_tags else None)
    return entries


def declare(config: pytest.Config, directory: Path) -> None:
    """Called by the conftest that binds the suite's feature files: here they all are."""
    config.stash[_DIRECTORY] = directory


def declared(config: pytest.Config) -> Path | None:
    return config.stash.get(_DIRECTORY, None)
