"""The documentation says what the code and the committed results say: the commands it
gives run from a source checkout as written (every directory they name exists, and a
gateway started from the example manifests has its echo backend where those manifests send
traffic), docs/running.md lists every option as the parser has it, and it does not call a
tier that has committed results one that never ran."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from conformance import option_list, tables

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_BLOCK = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)


def shell_blocks() -> list[tuple[str, str]]:
    return [(page.relative_to(ROOT).as_posix(), block) for page in PAGES for block in _BLOCK.findall(page.read_text())]


def test_every_manifests_directory_the_docs_name_exists():
    named = [(page, m[1]) for page, block in shell_blocks() for m in re.finditer(r"--manifests\s+(\S+)", block)]
    assert named  # the pages do start the reference gateway by hand
    missing = [f"{page}: --manifests {path}" for page, path in named if not (ROOT / path).is_dir()]
    assert not missing, missing


def test_an_echo_started_beside_the_example_manifests_listens_where_they_send_traffic():
    slices = [d for p in sorted((ROOT / "examples" / "manifests").glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())
              if d and d.get("kind") == "EndpointSlice"]
    ports = {port["port"] for d in slices for port in d.get("ports") or []}
    for page, block in shell_blocks():
        if "--manifests examples/manifests" not in block:
            continue
        echoes = {int(m[1]) for m in re.finditer(r"agw-reference echo --listen [\d.]+:(\d+)", block)}
        assert echoes and echoes <= ports, f"{page}: an echo on {sorted(echoes)}, the example manifests send traffic to {sorted(ports)}"


RUNNING = ROOT / "docs" / "running.md"


def generated_section(text: str, marker: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(marker) + 1
    return lines[start:lines.index("<!-- end generated -->", start)]


def test_running_md_lists_every_option_as_the_parser_has_it():
    text = RUNNING.read_text()
    assert "<!-- generated: options -->" in text.splitlines(), "docs/running.md has no generated table of options"
    assert generated_section(text, "<!-- generated: options -->") == option_list.table(), (
        "the options table of docs/running.md differs from the options: run python -m conformance.tables")
    names = [n for names, _ in option_list.recorded() for n in names]
    assert len(names) >= 30 and all(f"`{n}" in text or f", {n}=" in text for n in names)


def test_a_stale_options_table_is_found():
    text = RUNNING.read_text()
    table = generated_section(text, "<!-- generated: options -->")
    stale = text.replace(table[-1] + "\n", "")  # an option missing from the page
    assert tables.render(stale) == text


def test_running_md_does_not_call_a_target_with_committed_results_one_that_never_ran():
    section = RUNNING.read_text().partition("## What was run where, in detail")[2]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    for path in sorted((ROOT / "docs" / "results").glob("*.yaml")):
        target = yaml.safe_load(path.read_text())["target"]
        for row in (r for r in rows if f"`--target={target}`" in r or f"`--target={target}:" in r):
            assert f"docs/results/{path.name}" in row, f"the row for --target={target} does not name {path.name}: {row}"
            assert "has run yet" not in row and "never ran" not in row, row


def test_every_test_the_readme_and_running_md_name_exists():
    # A claim backed by a test names it; a renamed or removed test must not leave the claim
    # pointing at nothing.
    named = []
    for page in (ROOT / "README.md", RUNNING):
        named += [(page.name, m[1], m[2]) for m in re.finditer(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", page.read_text())]
    assert len(named) > 10
    for page, path, test in named:
        assert (ROOT / path).is_file(), f"{page} names {path}, which does not exist"
        if test:
            assert re.search(rf"^def {test}\(", (ROOT / path).read_text(), re.M), f"{page} names {path}::{test}, which does not exist"


def test_the_readme_vendor_command_names_the_vendor_with_options_that_exist():
    section = (ROOT / "README.md").read_text().partition("## Run it against your gateway")[2].partition("\n## ")[0]
    command = section.partition("agw-conformance run")[2].partition("```")[0]
    given = set(re.findall(r"(--[a-z][a-z-]+)", command))
    known = {n for names, _ in option_list.recorded() for n in names}
    assert given <= known, f"the README's vendor command gives options the suite does not have: {sorted(given - known)}"
    assert {"--implementation-organization", "--implementation-project", "--implementation-version"} <= given, (
        "the README's vendor command does not name the vendor, so its report would name no implementation")
