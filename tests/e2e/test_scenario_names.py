"""What a run calls each scenario, checked on real runs of the suite (pytester, in a subprocess).

Every test is named after its feature file, scenario ID and title; an outline's examples
by what the title names, never by a row that may hold a key; a skipped scenario points at
its line in the feature file and names the feature the target lacks.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance import feature_files
from conformance.profiles import ID_PATTERN, PROFILES

pytest_plugins = ["pytester"]

FEATURES = Path(__file__).resolve().parents[2] / "features"
NODEID = re.compile(r"^features/(?P<file>\w+\.feature)::(?P<id>APIKEY-[A-Z0-9]+-\d{3}) (?P<title>[^\[]+)(\[(?P<example>[^\]]+)\])?$")


def ours(pytester: pytest.Pytester, *args: str):
    return pytester.runpytest_subprocess(str(FEATURES), "-p", "no:cacheprovider", *args)


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    result = ours(pytester, "--collect-only", "-q", *args)
    lines = [line for line in result.stdout.lines if "::" in line]
    assert lines, result.stdout.str()[-2000:]
    return lines


def outlines() -> list[tuple[str, feature_files.Scenario]]:
    return [(f.path.name, t) for f in feature_files.read_directory(FEATURES) for t in f.scenarios if t.examples]


def test_every_scenario_is_named_by_its_file_id_and_title(pytester):
    # Every profile, the opt-in one included, so that every scenario is collected.
    nodeids = collected(pytester, "--profiles", ",".join(PROFILES))
    titles = {}
    for feature in feature_files.read_directory(FEATURES):
        for template in feature.scenarios:
            [scenario_id] = [t for t in template.tags if ID_PATTERN.match(t)]
            titles[(feature.path.name, scenario_id)] = template.name
    seen = set()
    for nodeid in nodeids:
        match = NODEID.match(nodeid)
        assert match, f"not named by feature file, scenario ID and title: {nodeid}"
        assert titles[(match["file"], match["id"])] == match["title"], nodeid
        seen.add((match["file"], match["id"]))
    assert seen == set(titles)
    assert not any("test_case" in n or "test_features.py" in n for n in nodeids)


def test_outline_examples_are_named_without_the_values_their_titles_do_not_show(pytester):
    # A column the title does not name may hold a key (or a header with one); its values
    # must not reach node IDs, which pytest prints, and reports and CI logs keep.
    nodeids = collected(pytester)
    checked = 0
    for filename, template in outlines():
        [scenario_id] = [t for t in template.tags if ID_PATTERN.match(t)]
        examples_shown = [NODEID.match(n)["example"] for n in nodeids if f"{filename}::{scenario_id} " in n]
        assert len(examples_shown) == len(template.examples), (filename, scenario_id)
        shown = set(re.findall(r"<([^<>]+)>", template.name))
        for row in template.examples:
            for column, value in row.items():
                if column not in shown and len(value) >= 8:
                    assert not any(value in e for e in examples_shown), f"{filename}: {template.name}: the {column} column shows in a test name"
                    checked += 1
    assert checked >= 10
    assert not any("N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy" in n for n in nodeids)
    assert "features/decision_table.feature::APIKEY-CORE-010 <mode> mode, <credential> key in the Authorization header[Strict, a valid]" in nodeids


def test_one_feature_file_can_be_run_by_its_path(pytester):
    result = pytester.runpytest_subprocess(str(FEATURES / "status.feature"), "-p", "no:cacheprovider", "--collect-only", "-q")
    lines = [line for line in result.stdout.lines if "::" in line]
    assert lines and all(line.startswith("features/status.feature::APIKEY-") for line in lines), result.stdout.str()[-2000:]


def test_a_skip_points_at_the_feature_file_and_names_the_missing_feature(pytester):
    result = ours(pytester, "-v", "-rs", "--supported-features", "APIKeyCore", "-k", "APIKEY-DOC-002 or APIKEY-EXT-060")
    out = result.stdout.str()
    assert result.ret == 0, out[-3000:]
    line = (FEATURES / "credential_removal.feature").read_text().splitlines().index("  @APIKEY-EXT-060 @KeyLocation") + 2
    # Paths are shown relative to the working directory, which here is pytester's.
    assert re.search(rf"SKIPPED \[1\] \S*/features/credential_removal\.feature:{line}: "
                     r"APIKEY-EXT-060 needs KeyLocation, which the target does not support", out), out[-3000:]
    assert "features/docs_page_2026_02_19.feature::APIKEY-DOC-002 Cleanup PASSED" in out
    assert "pytest_bdd" not in out


def test_no_scenario_or_example_name_holds_a_key_its_steps_use():
    # Names reach every output before any masking could (`-v` prints them as a test
    # starts), so they must be clean by construction: no key a scenario's steps configure,
    # generate or present (as the reports foresee them) may appear in its name.
    from conformance.inventory import entry_name, example_ids
    from conformance.steps.manifests import foreseen_keys

    checked = 0
    for feature in feature_files.read_directory(FEATURES):
        for template in feature.scenarios:
            scenario_id = next(t for t in template.tags if ID_PATTERN.match(t))
            rows = template.examples or ({},)
            names = example_ids(template) if template.examples else [None]
            for row, example in zip(rows, names, strict=True):
                foreseen = foreseen_keys(template.render(row))
                name = f"{entry_name(scenario_id, example)} {feature_files.fill(template.name, row)}"
                leaked = [k for k in (f.reveal() for f in foreseen) if len(k.strip()) >= 4 and k in name]
                assert not leaked, f"{feature.path.name}: {name} holds a key"
                checked += bool(foreseen)
    assert checked > 50  # most scenarios configure keys: the check saw them
