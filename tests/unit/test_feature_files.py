"""Rules every scenario follows, checked on the feature files themselves.

The files are read with the official Gherkin parser, and each Scenario Outline is expanded
into one scenario per Examples row (a "pickle": the row's values substituted into the
steps, the row's Examples tags added), exactly as pytest-bdd runs them.

The main rule, per expanded scenario: among its steps (Background steps first, as they
run), one that shows the gateway enforcing something (a refusal, or a credential taken off
the request) comes before any step that checks a success (a request that succeeds or is
forwarded, or an answer in 2xx or 3xx). So no scenario can pass against a gateway that does
not authenticate at all. Steps that only prepare (applying manifests, checking that
httpbin answers before any policy exists) are neither.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from gherkin.parser import Parser
from gherkin.pickles.compiler import Compiler
from gherkin.token_scanner import TokenScanner

from conformance import profiles

ROOT = Path(__file__).resolve().parents[2]
FEATURES = sorted((ROOT / "features").glob("*.feature"))
ENFORCEMENT = re.compile(r"(fails with a 401|is refused with|refused the gRPC way|is taken off the request|forwarded without the credential|manifest is refused)")
SUCCESS = re.compile(r"(the request succeeds|the request is forwarded|fails with a [23]\d\d)")


def parse(text: str, uri: str = "inline.feature") -> dict:
    document = Parser().parse(TokenScanner(text))
    document["uri"] = uri
    return document


def pickles(text: str, uri: str = "inline.feature") -> list[dict]:
    """Every scenario as it runs: outlines expanded per Examples row, with all its tags."""
    return Compiler().compile(parse(text, uri))


def scenarios(document: dict) -> list[dict]:
    """The Scenario and Scenario Outline nodes (also those inside a Rule), before expansion."""
    out = []
    for child in document["feature"]["children"]:
        if "scenario" in child:
            out.append(child["scenario"])
        for grandchild in child.get("rule", {}).get("children", []):
            if "scenario" in grandchild:
                out.append(grandchild["scenario"])
    return out


def step_texts(pickle: dict) -> list[str]:
    return [step["text"] for step in pickle["steps"]]


def enforcement_problem(pickle: dict) -> str | None:
    """Why this expanded scenario breaks the main rule, or None."""
    steps = step_texts(pickle)
    first_enforcement = next((i for i, s in enumerate(steps) if ENFORCEMENT.search(s)), None)
    first_success = next((i for i, s in enumerate(steps) if SUCCESS.search(s) and not ENFORCEMENT.search(s)), None)
    if first_enforcement is None:
        return "never shows the gateway enforcing anything"
    if first_success is not None and first_success < first_enforcement:
        return f"checks a success ({steps[first_success]!r}) before proving enforcement"
    return None


def tag_names(node: dict) -> list[str]:
    return [t["name"].lstrip("@") for t in node.get("tags", [])]


DOCUMENTS = {path.name: parse(path.read_text(), f"features/{path.name}") for path in FEATURES}
PICKLES = [(name, p) for name, doc in DOCUMENTS.items() for p in Compiler().compile(doc)]


def _pickle_id(name: str, pickle: dict) -> str:
    ids = [t for t in tag_names(pickle) if profiles.ID_PATTERN.match(t)]
    return f"{name}:{ids[0] if ids else '?'}:{pickle['name'][:50]}"


def test_there_are_scenarios():
    assert len(PICKLES) > 60


@pytest.mark.parametrize("name, pickle", PICKLES, ids=[_pickle_id(n, p) for n, p in PICKLES])
def test_enforcement_is_proved_before_any_success(name, pickle):
    problem = enforcement_problem(pickle)
    assert problem is None, f"{name}: '{pickle['name']}' {problem}"


@pytest.mark.parametrize("name, pickle", PICKLES, ids=[_pickle_id(n, p) for n, p in PICKLES])
def test_every_expanded_scenario_has_one_id_and_known_features(name, pickle):
    tags = tag_names(pickle)  # feature, rule, scenario and Examples tags together
    for tag in tags:
        profiles.check_tag(tag)
    ids = [t for t in tags if profiles.ID_PATTERN.match(t)]
    assert len(ids) == 1, f"{name}: '{pickle['name']}' has IDs {ids}"
    assert any(t in profiles.FEATURES for t in tags), f"{name}: '{pickle['name']}' names no feature"


def test_ids_are_unique_across_files():
    seen: dict[str, str] = {}
    for name, document in DOCUMENTS.items():
        for scenario in scenarios(document):
            for tag in tag_names(scenario):
                if profiles.ID_PATTERN.match(tag):
                    assert tag not in seen, f"{tag} is used by '{scenario['name']}' ({name}) and {seen[tag]}"
                    seen[tag] = f"'{scenario['name']}' ({name})"


def test_ids_are_not_on_examples_or_rules():
    """An ID belongs to one scenario; on an Examples block it would name only some rows."""
    for name, document in DOCUMENTS.items():
        for scenario in scenarios(document):
            for examples in scenario.get("examples", []):
                bad = [t for t in tag_names(examples) if profiles.ID_PATTERN.match(t)]
                assert not bad, f"{name}: Examples of '{scenario['name']}' carry the ID {bad}"


# --- the checks themselves, on small feature texts ------------------------------------------

OUTLINE_WITH_A_SUCCESS_ROW = '''
Feature: f
  @APIKEY-CORE-999 @APIKeyCore
  Scenario Outline: <case>
    When I send a request to the httpbin app without an API key
    Then <first>
    Then the request is refused with "no API Key found"

    Examples:
      | case   | first                                       |
      | fine   | the request fails with a 401 HTTP response code |
      | broken | the request succeeds                        |
'''


def test_an_outline_is_judged_per_examples_row():
    problems = {p["name"]: enforcement_problem(p) for p in pickles(OUTLINE_WITH_A_SUCCESS_ROW)}
    assert problems["fine"] is None
    assert problems["broken"] is not None and "before proving enforcement" in problems["broken"]


def test_background_steps_count_in_order():
    text = '''
Feature: f
  Background:
    Given the request succeeds
  @APIKEY-CORE-999 @APIKeyCore
  Scenario: s
    Then the request is refused with "no API Key found"
'''
    assert "before proving enforcement" in enforcement_problem(pickles(text)[0])


def test_examples_tags_reach_their_rows():
    text = '''
Feature: f
  @APIKEY-CORE-999
  Scenario Outline: <n>
    Then the request is refused with "x"

    @APIKeyCore
    Examples:
      | n |
      | a |

    @PermissiveMode
    Examples:
      | n |
      | b |
'''
    tags = {p["name"]: set(tag_names(p)) for p in pickles(text)}
    assert tags == {"a": {"APIKEY-CORE-999", "APIKeyCore"}, "b": {"APIKEY-CORE-999", "PermissiveMode"}}
