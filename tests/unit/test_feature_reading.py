"""How the suite reads feature files (conformance/feature_files.py) and checks their tags
before binding them (conformance/binding.py), on small feature files written for each case."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conformance import binding, feature_files

OUTLINE = """\
    @APIKeyCore
    Feature: Keys
      Background:
        Given an agentgateway proxy is set up

      @APIKEY-CORE-900
      Scenario Outline: <mode> mode, <credential> key
        Given the "<mode>" policy
        When I send the key "<key>"
          \"\"\"
          key: <key>
          \"\"\"
        Then it answers <status> for <unknown>

        Examples:
          | mode   | credential | key  | status |
          | Strict | a valid    | k-1  | 200    |

        @Other
        Examples:
          | mode     | credential | key | status |
          | Optional | no         |     | 200    |

      Rule: Selectors
        Background:
          Given a selected Secret

        @APIKEY-EXT-901 @SecretSelector
        Scenario: Selected
          When I send a request
    """


def write(tmp_path: Path, text: str, name: str = "keys.feature") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_scenario_carries_its_features_its_rules_and_its_own_tags(tmp_path):
    outline, selected = feature_files.read(write(tmp_path, OUTLINE)).scenarios
    assert outline.tags == {"APIKeyCore", "APIKEY-CORE-900"}
    assert selected.tags == {"APIKeyCore", "APIKEY-EXT-901", "SecretSelector"}
    assert (outline.line, selected.line) == (7, 29)


def test_background_steps_come_first_the_rules_only_for_its_own_scenarios(tmp_path):
    outline, selected = feature_files.read(write(tmp_path, OUTLINE)).scenarios
    assert [s.name for s in selected.steps] == ["an agentgateway proxy is set up", "a selected Secret", "I send a request"]
    assert [s.name for s in outline.steps][:2] == ["an agentgateway proxy is set up", 'the "<mode>" policy']


def test_an_outline_has_every_row_of_every_examples_block_in_order(tmp_path):
    outline, selected = feature_files.read(write(tmp_path, OUTLINE)).scenarios
    assert [row["mode"] for row in outline.examples] == ["Strict", "Optional"]
    assert outline.examples[1]["key"] == ""
    assert selected.examples == ()


def test_an_example_fills_the_steps_text_and_docstring_and_leaves_unknown_placeholders(tmp_path):
    outline, _ = feature_files.read(write(tmp_path, OUTLINE)).scenarios
    steps = outline.render(outline.examples[0])
    assert [s.name for s in steps] == ["an agentgateway proxy is set up", 'the "Strict" policy', 'I send the key "k-1"',
                                       "it answers 200 for <unknown>"]
    assert steps[2].docstring == "key: k-1"
    assert feature_files.fill(outline.name, outline.examples[1]) == "Optional mode, no key"


def test_a_file_the_parser_refuses_is_named(tmp_path):
    with pytest.raises(feature_files.FeatureFileError, match="broken.feature"):
        feature_files.read(write(tmp_path, "Scenario: no feature above\n  Given a\n", "broken.feature"))


def scenario(tmp_path: Path, tags: str) -> feature_files.Scenario:
    [only] = feature_files.read(write(tmp_path, f"Feature: F\n  {tags}\n  Scenario: S\n    Given a\n")).scenarios
    return only


def test_the_suites_scenario_has_one_id_and_known_tags(tmp_path):
    assert binding.check_tags(scenario(tmp_path, "@APIKEY-CORE-900 @APIKeyCore")) == {"APIKEY-CORE-900"}


def test_an_unknown_tag_on_the_suites_scenario_is_refused(tmp_path):
    with pytest.raises(pytest.UsageError, match=r"keys.feature: S: unknown tag @nightly"):
        binding.check_tags(scenario(tmp_path, "@APIKEY-CORE-900 @nightly"))


def test_a_scenario_with_two_ids_is_refused(tmp_path):
    with pytest.raises(pytest.UsageError, match="exactly one ID tag, this one has @APIKEY-CORE-900, @APIKEY-CORE-901"):
        binding.check_tags(scenario(tmp_path, "@APIKEY-CORE-900 @APIKEY-CORE-901"))


def test_a_scenario_without_an_id_is_not_the_suites_and_its_tags_are_not_judged(tmp_path):
    assert binding.check_tags(scenario(tmp_path, "@nightly @smoke")) == set()
