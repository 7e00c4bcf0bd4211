"""The rules of the spec (`docs/spec.md`), each named by its anchor there.

Every rule of `RULES` (`tests/mutation/mutants.py`) is named by one anchor
`<a id="rule-KEY"></a>` in the spec, KEY being its entry, in the section where the spec
states it. In the sections listed in `ANCHORED`, every sentence begins with one: the
sentence is the rule, `RULES` holds no second wording of it, and `docs/spec-coverage.md`
shows the sentence itself. In the others the anchor stands where the rule is stated (a
list item, a clause, a cell of the decision table), and `RULES` keeps a one-line summary
of it for the coverage page, which links each rule to its anchor. An anchor is an HTML
element that Markdown renders as nothing, so the spec reads as before, and a link can
point at the rule.

`tests/spec_coverage.py --check` holds the two to each other: a sentence of `ANCHORED`
without an anchor, an anchor used twice, with no rule or in another section than its
rule's, and a rule with no anchor are each an error.

A sentence ends at `.`, `!` or `?` followed by a space or the end of its paragraph or list
item, except inside a code span or parentheses (`v1.1`, `:953-957`, `(Basic ...)`).
A paragraph that begins with `Source:` names where the section comes from and holds no rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANCHORED = ("2", "3")  # the spec's sections whose sentences are rules, one each
ANCHOR = re.compile(r'<a id="rule-([a-z0-9]+(?:-[a-z0-9]+)*)"></a>')
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^## (\d+)\. (.*)$", re.MULTILINE)
_ITEM = re.compile(r"^\s*(?:[-*] |\d+\. )")
CITATION = "Source:"


@dataclass(frozen=True)
class Sentence:
    section: str
    key: str | None  # from its anchor; None when it has none
    text: str  # as written, its anchor removed and its lines joined
    anchors: int  # how many anchors it holds (one, at its start, when it is right)


def titles(spec: str) -> dict[str, str]:
    """The spec's sections, number -> title, in its order: the one place they are written."""
    return {heading.group(1): heading.group(2).strip() for heading in _HEADING.finditer(spec)}


def anchors(spec: str) -> list[tuple[str, str]]:
    """(section, key) of every rule anchor of the spec, in its order."""
    return [(number, found.group(1)) for number in titles(spec)
            for found in ANCHOR.finditer(_COMMENT.sub("", section_body(spec, number)))]


def section_body(spec: str, number: str) -> str:
    """The text of section `number`, from its heading to the next one ('' if there is none)."""
    headings = list(_HEADING.finditer(spec))
    for i, heading in enumerate(headings):
        if heading.group(1) == number:
            end = headings[i + 1].start() if i + 1 < len(headings) else len(spec)
            return spec[spec.index("\n", heading.start()) + 1 : end]
    return ""


def blocks(body: str) -> list[str]:
    """Paragraphs and list items, each as one line; comments left out."""
    out: list[list[str]] = []
    current: list[str] | None = None
    for line in _COMMENT.sub("", body).splitlines():
        if not line.strip():
            current = None
            continue
        if _ITEM.match(line) or current is None:
            current = [_ITEM.sub("", line, count=1).strip()]
            out.append(current)
        else:
            current.append(line.strip())
    return [" ".join(lines) for lines in out]


def split(block: str) -> list[str]:
    """The sentences of one paragraph or list item."""
    out, start, depth, in_code = [], 0, 0, False
    for i, c in enumerate(block):
        if c == "`":
            in_code = not in_code
        elif in_code:
            continue
        elif c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif c in ".!?" and depth == 0 and (i + 1 == len(block) or block[i + 1] == " "):
            out.append(block[start : i + 1].strip())
            start = i + 1
    if block[start:].strip():
        out.append(block[start:].strip())
    return out


def sentences(spec: str, sections: tuple[str, ...] = ANCHORED) -> list[Sentence]:
    """Every sentence of these sections, in the spec's order, but those of citations."""
    out = []
    for number in sections:
        for block in blocks(section_body(spec, number)):
            if block.startswith(CITATION):
                continue
            for text in split(block):
                found = ANCHOR.findall(text)
                first = ANCHOR.match(text)
                out.append(Sentence(number, first.group(1) if first else None, ANCHOR.sub("", text).strip(), len(found)))
    return out


def problems(spec: str, rules: dict[str, str], sections: tuple[str, ...] = ANCHORED) -> list[str]:
    """What keeps the sentences of these sections and the rules (key -> section) one to one."""
    out = []
    seen: dict[str, str] = {}
    for s in sentences(spec, sections):
        where = f"docs/spec.md section {s.section}"
        if s.key is None or s.anchors != 1:
            what = "has no rule anchor at its start" if s.key is None else f"holds {s.anchors} rule anchors"
            out.append(f'{where}: the sentence "{_short(s.text)}" {what}; begin it with <a id="rule-KEY"></a>, '
                       "KEY being its entry in RULES")
            continue
        if s.key in seen:
            out.append(f"{where}: the anchor rule-{s.key} is used twice")
        seen[s.key] = s.section
        if s.key not in rules:
            out.append(f"{where}: the anchor rule-{s.key} names no entry of RULES (tests/mutation/mutants.py)")
        elif rules[s.key] != s.section:
            out.append(f"{where}: the anchor rule-{s.key} names a rule that RULES puts in section {rules[s.key]}")
    for section, key in anchors(spec):
        if section in sections:
            continue  # checked sentence by sentence above
        where = f"docs/spec.md section {section}"
        if key in seen:
            out.append(f"{where}: the anchor rule-{key} is used twice")
        seen[key] = section
        if key not in rules:
            out.append(f"{where}: the anchor rule-{key} names no entry of RULES (tests/mutation/mutants.py)")
        elif rules[key] != section:
            out.append(f"{where}: the anchor rule-{key} names a rule that RULES puts in section {rules[key]}")
    for key, section in rules.items():
        if key in seen:
            continue
        if section in sections:
            out.append(f"RULES entry {key!r} (tests/mutation/mutants.py) is in section {section}, "
                       f"but no sentence of docs/spec.md section {section} carries the anchor rule-{key}")
        else:
            out.append(f"RULES entry {key!r} (tests/mutation/mutants.py) is in section {section}, "
                       f"but docs/spec.md section {section} has no anchor rule-{key} where it states the rule")
    return out


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
