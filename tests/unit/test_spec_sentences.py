"""Sections 2 and 3 of the spec and RULES hold each other one to one, sentence by sentence
(`tests/spec_sentences.py`, checked by `tests/spec_coverage.py --check`)."""

from __future__ import annotations

import spec_coverage
import spec_sentences

SPEC = spec_coverage.SPEC.read_text()


def test_every_sentence_of_sections_2_and_3_is_one_rule_and_every_rule_there_one_sentence():
    assert spec_coverage.sentence_problems() == []


def test_each_sentence_of_sections_2_and_3_is_found():
    found = spec_sentences.sentences(SPEC)
    assert {s.section for s in found} == {"2", "3"}
    # The sentences are found without their anchors: the same count either way.
    unanchored = spec_sentences.ANCHOR.sub("", SPEC)
    assert len(spec_sentences.sentences(unanchored)) == len(found)
    assert all(s.key is None for s in spec_sentences.sentences(unanchored))


def test_a_sentence_added_without_an_anchor_is_reported():
    spec = SPEC.replace("Changes take effect without a restart.", "Changes take effect without a restart. Keys expire after a day.")
    assert spec != SPEC
    problems = spec_coverage.sentence_problems(spec)
    assert len(problems) == 1
    assert "section 2" in problems[0] and "Keys expire after a day." in problems[0] and "no rule anchor" in problems[0]


def test_a_sentence_whose_anchor_is_removed_is_reported_and_so_is_its_rule():
    spec = SPEC.replace('<a id="rule-changes-live"></a>', "")
    problems = spec_coverage.sentence_problems(spec)
    assert any("Changes take effect without a restart." in p and "no rule anchor" in p for p in problems)
    assert any("RULES entry 'changes-live'" in p for p in problems)


def test_an_anchor_without_a_rule_or_used_twice_is_reported():
    spec = SPEC.replace('<a id="rule-changes-live"></a>', '<a id="rule-changes-at-once"></a>')
    assert any("rule-changes-at-once names no entry of RULES" in p for p in spec_coverage.sentence_problems(spec))
    spec = SPEC.replace('<a id="rule-changes-live"></a>', '<a id="rule-sources-merged"></a>')
    assert any("rule-sources-merged is used twice" in p for p in spec_coverage.sentence_problems(spec))


def test_two_sentences_under_one_anchor_are_reported():
    spec = SPEC.replace('error. <a id="rule-changes-live"></a>Changes', "error. Changes")
    assert spec != SPEC
    assert any("Changes take effect" in p and "no rule anchor" in p for p in spec_coverage.sentence_problems(spec))


def test_an_anchor_inside_a_sentence_is_reported():
    spec = SPEC.replace("without a restart.", 'without a <a id="rule-restarts"></a>restart.')
    assert any("holds 2 rule anchors" in p for p in spec_coverage.sentence_problems(spec))


def test_an_anchor_in_the_other_section_than_its_rule_is_reported():
    spec = SPEC.replace('<a id="rule-sources-merged"></a>Keys', "Keys")
    spec = spec.replace('<a id="rule-cookie"></a>', '<a id="rule-sources-merged"></a>')
    problems = spec_sentences.problems(spec, {"sources-merged": "2"}, sections=("3",))
    assert any("rule-sources-merged names a rule that RULES puts in section 2" in p for p in problems)


def test_sentences_end_outside_code_spans_and_parentheses_only():
    block = "A value (see `v1.1`. and so on. here) stays `one. sentence`. The next one? A third! And `x`."
    assert spec_sentences.split(block) == [
        "A value (see `v1.1`. and so on. here) stays `one. sentence`.", "The next one?", "A third!", "And `x`.",
    ]


def test_list_items_and_paragraphs_are_blocks_and_comments_and_citations_hold_no_rule():
    spec = """## 2. Where keys come from

<!-- A comment. With sentences. -->
Source: somewhere. And more.

First paragraph, two lines
of it. Second sentence.

- <a id="rule-a"></a>An item
  over two lines.
- <a id="rule-b"></a>Another.

## 3. Reading the credential
"""
    found = [(s.key, s.text) for s in spec_sentences.sentences(spec, ("2",))]
    assert found == [
        (None, "First paragraph, two lines of it."), (None, "Second sentence."), ("a", "An item over two lines."), ("b", "Another."),
    ]


def test_a_rule_outside_sections_2_and_3_without_its_anchor_is_reported():
    spec = SPEC.replace('<a id="rule-host-passed"></a>', "")
    assert spec != SPEC
    assert any("RULES entry 'host-passed'" in p and "no anchor rule-host-passed" in p for p in spec_coverage.sentence_problems(spec))


def test_an_anchor_outside_sections_2_and_3_in_another_section_or_twice_is_reported():
    spec = SPEC.replace('<a id="rule-host-passed"></a>', '<a id="rule-refusal-status"></a>')
    problems = spec_coverage.sentence_problems(spec)
    assert any("rule-refusal-status is used twice" in p for p in problems)
    assert any("section 6: the anchor rule-refusal-status names a rule that RULES puts in section 5" in p for p in problems)
