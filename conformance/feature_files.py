"""Feature files read with the official Gherkin parser: scenarios with their tags, steps and examples.

pytest-bdd reads feature files with the same parser (`gherkin-official`), but its own model of
them is not part of its public API. The suite needs that model before any test runs (the
inventory a verdict is judged against, the tests' names, the tag checks), so it reads the files
itself, from the parser's documented output (the Cucumber messages `GherkinDocument`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from gherkin.errors import CompositeParserException
from gherkin.parser import Parser

# An outline's placeholder, as pytest-bdd renders it: the shortest `<...>`.
_PLACEHOLDER = re.compile(r"<(.+?)>")


class FeatureFileError(ValueError):
    """A feature file the Gherkin parser refuses; the message names the file and line."""


def fill(text: str, example: dict[str, str]) -> str:
    """`text` with each `<column>` the example has replaced by its value (others are left as written)."""
    return _PLACEHOLDER.sub(lambda m: example.get(m[1], m[0]), text)


@dataclass(frozen=True)
class Step:
    keyword: str
    name: str
    line: int
    docstring: str | None = None
    datatable: tuple[tuple[str, ...], ...] | None = None

    def render(self, example: dict[str, str]) -> Step:
        """The step as an outline's example runs it."""
        table = tuple(tuple(fill(c, example) for c in row) for row in self.datatable) if self.datatable is not None else None
        docstring = fill(self.docstring, example) if self.docstring is not None else None
        return Step(self.keyword, fill(self.name, example), self.line, docstring, table)


@dataclass(frozen=True)
class Scenario:
    """One scenario (or outline) of a feature file, as its title and tags say."""

    path: Path
    name: str  # the title as written: an outline's keeps its <placeholders>
    line: int
    tags: frozenset[str]  # its own, its rule's and its feature's, without the "@"
    steps: tuple[Step, ...]  # the background's first, as they run
    examples: tuple[dict[str, str], ...] = field(default=())  # an outline's rows, every Examples block in order

    def render(self, example: dict[str, str]) -> tuple[Step, ...]:
        return tuple(step.render(example) for step in self.steps)


@dataclass(frozen=True)
class FeatureFile:
    path: Path
    name: str
    scenarios: tuple[Scenario, ...]


def read(path: Path) -> FeatureFile:
    try:
        document = Parser().parse(path.read_text(encoding="utf-8"))
    except CompositeParserException as exc:
        raise FeatureFileError(f"{path.name}: {exc}") from None
    feature = document.get("feature")
    if feature is None:
        return FeatureFile(path, "", ())
    scenarios = tuple(_scenarios(path, feature["children"], _tags(feature), ()))
    return FeatureFile(path, feature["name"], scenarios)


def read_directory(directory: Path) -> list[FeatureFile]:
    return [read(path) for path in sorted(directory.glob("*.feature"))]


def _tags(node: dict) -> frozenset[str]:
    return frozenset(tag["name"].removeprefix("@") for tag in node.get("tags", ()))


def _scenarios(path: Path, children: list[dict], tags: frozenset[str], background: tuple[Step, ...]):
    for child in children:
        if "background" in child:
            background = background + tuple(_step(s) for s in child["background"]["steps"])
        elif "rule" in child:
            rule = child["rule"]
            # A rule's background adds to the feature's, for that rule's scenarios only.
            yield from _scenarios(path, rule["children"], tags | _tags(rule), background)
        elif "scenario" in child:
            node = child["scenario"]
            rows = tuple(row for block in node.get("examples", ()) for row in _rows(block))
            yield Scenario(path, node["name"], node["location"]["line"], tags | _tags(node),
                           background + tuple(_step(s) for s in node["steps"]), rows)


def _rows(block: dict) -> list[dict[str, str]]:
    header = block.get("tableHeader")
    if header is None:
        return []
    columns = [cell["value"] for cell in header["cells"]]
    return [dict(zip(columns, (cell["value"] for cell in row["cells"]), strict=True)) for row in block.get("tableBody", ())]


def _step(node: dict) -> Step:
    docstring = node.get("docString")
    table = node.get("dataTable")
    return Step(node["keyword"].strip(), node["text"], node["location"]["line"],
                docstring["content"] if docstring is not None else None,
                tuple(tuple(c["value"] for c in row["cells"]) for row in table["rows"]) if table is not None else None)
