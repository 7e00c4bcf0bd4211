"""Rules every scenario follows, checked on the feature files themselves.

The main one: a scenario proves that the gateway enforces something (a refusal, or a
credential taken off the request) before it checks any success, so no check can pass
against a gateway that does not authenticate at all.
"""

import re
from pathlib import Path

import pytest

from conformance import features as ft

FEATURES = sorted((Path(__file__).resolve().parents[1] / "features").glob("*.feature"))
ENFORCEMENT = re.compile(r"(fails with a 401|is refused with|refused the gRPC way|is taken off the request|forwarded without the credential|manifest is refused)")
SUCCESS = re.compile(r"(the request succeeds|the request is forwarded|fails with a [23]\d\d)")


def scenarios(path: Path):
    """(tags, title, steps) per scenario, without docstrings and without Background steps."""
    tags: list[str] = []
    current = None
    in_doc = False
    for line in path.read_text().splitlines():
        text = line.strip()
        if text.startswith('"""'):
            in_doc = not in_doc
            continue
        if in_doc or not text or text.startswith("#"):
            continue
        keyword = text.split(" ", 1)[0]
        if text.startswith("@"):
            tags += [t.lstrip("@") for t in text.split()]
        elif text.startswith(("Scenario:", "Scenario Outline:")):
            current = (tags, text.partition(":")[2].strip(), [])
            yield current
            tags = []
        elif text.startswith(("Feature:", "Background:")):
            current, tags = None, []
        elif text.startswith("Examples"):
            tags = []  # tags of an Examples block belong to its rows, not to the next scenario
        elif current is not None and keyword in ("Given", "When", "Then", "And", "But"):
            current[2].append(text.split(" ", 1)[1])


ALL = [(path.name, s) for path in FEATURES for s in scenarios(path)]


def test_there_are_scenarios():
    assert len(ALL) > 20


@pytest.mark.parametrize("name, scenario", ALL, ids=[f"{n}:{s[1][:40]}" for n, s in ALL])
def test_enforcement_is_proved_before_any_success(name, scenario):
    _, title, steps = scenario
    first_enforcement = next((i for i, s in enumerate(steps) if ENFORCEMENT.search(s)), None)
    first_success = next((i for i, s in enumerate(steps) if SUCCESS.search(s) and not ENFORCEMENT.search(s)), None)
    assert first_enforcement is not None, f"{name}: '{title}' never shows the gateway enforcing anything"
    if first_success is not None:
        assert first_enforcement < first_success, f"{name}: '{title}' checks a success before proving enforcement"


def test_every_scenario_has_one_unique_id_and_known_features():
    seen = {}
    for name, (tags, title, _) in ALL:
        ids = [t for t in tags if ft.ID_PATTERN.match(t)]
        assert len(ids) == 1, f"{name}: '{title}' has IDs {ids}"
        assert ids[0] not in seen, f"{ids[0]} is used by '{title}' and '{seen[ids[0]]}'"
        seen[ids[0]] = title
        needs = [t for t in tags if t in ft.FEATURES]
        assert needs, f"{name}: '{title}' names no feature"
        for tag in tags:
            ft.check_tag(tag)
