"""Each committed copy of the docs page is mirrored by its feature file, block by block.

Every manifest and command of a page copy (its `yaml` and `sh` code blocks) must appear
in the docstrings of the page's feature file, verbatim, and in the page's order. When
upstream changes the page and the copy is refreshed, this test says what the feature
file no longer mirrors, instead of the two drifting apart in silence.

The page's manifests live in two more places: the suite's named manifests
(`conformance/manifests/`, the page's Secret and policies a scenario applies by name) and
the setup for trying the reference gateway by hand (`examples/manifests/`). The page
copies are the source: a policy, Secret or ConfigMap of either is one of a page copy's
manifests, object for object, and the examples are the suite's own base and named
manifests, so that a copy cannot drift from the page it says it is.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from conformance import pages

ROOT = Path(__file__).resolve().parents[2]
FEATURES = ROOT / "features"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>\w*)[ \t]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S)
_HEREDOC = re.compile(r"^kubectl apply -f ?- <<EOF\n(?P<manifest>.*)\nEOF$", re.S)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def page_blocks(copy: str) -> list[list[str]]:
    """The manifests (without their `kubectl apply` heredoc) and commands of a page, in order."""
    blocks = []
    for fence in _FENCE.finditer(copy):
        if fence["lang"] not in ("yaml", "sh"):
            continue  # example output and diagrams are not steps
        text = textwrap.dedent(fence["body"]).strip("\n")
        heredoc = _HEREDOC.match(text)
        blocks.append(_lines(heredoc["manifest"] if heredoc else text))
    return blocks


def docstrings(feature: str) -> list[list[str]]:
    """The docstrings of a feature file, each dedented as Gherkin dedents it (to its opening quotes)."""
    out, lines, current, indent = [], feature.splitlines(), None, 0
    for line in lines:
        if line.strip() == '"""':
            if current is None:
                current, indent = [], len(line) - len(line.lstrip())
            else:
                out.append([c[indent:].rstrip() for c in current])
                current = None
        elif current is not None:
            current.append(line)
    assert current is None, "a docstring is not closed"
    return out


def _found_at(block: list[str], docs: list[list[str]]) -> int | None:
    """Index of the first docstring that holds `block`: a manifest whole, a command as consecutive lines."""
    for index, doc in enumerate(docs):
        if any(doc[i : i + len(block)] == block for i in range(len(doc) - len(block) + 1)):
            return index
    return None


@pytest.mark.parametrize("page", pages.PAGES.values(), ids=lambda p: p.name)
def test_every_manifest_and_command_of_the_page_is_in_its_feature_in_order(page: pages.Page) -> None:
    copy = (FEATURES / "pages" / page.copy).read_text()
    feature = (FEATURES / page.feature).read_text()
    assert f"@{page.tag}" in feature.splitlines()[0], f"{page.feature} is not tagged @{page.tag} on its first line"
    blocks, docs = page_blocks(copy), docstrings(feature)
    assert len(blocks) >= 5, f"{page.copy}: only {len(blocks)} manifests and commands found; is it a page copy?"
    missing = ["\n".join(b) for b in blocks if _found_at(b, docs) is None]
    assert not missing, f"{page.feature} does not mirror these blocks of {page.copy}:\n\n" + "\n\n".join(missing)
    places = [_found_at(b, docs) for b in blocks]
    assert places == sorted(places), f"{page.feature} mirrors the blocks of {page.copy} out of the page's order: {places}"


def test_a_changed_manifest_is_found() -> None:
    # The check itself can fail: one changed line of a manifest is no longer mirrored.
    page = pages.CURRENT
    copy = (FEATURES / "pages" / page.copy).read_text().replace("mode: Optional", "mode: Permissive")
    docs = docstrings((FEATURES / page.feature).read_text())
    assert [b for b in page_blocks(copy) if _found_at(b, docs) is None] == [page_blocks(copy)[-1]]


def test_the_copies_are_listed_with_their_website_commit() -> None:
    index = (FEATURES / "pages" / "README.md").read_text()
    for page in pages.PAGES.values():
        assert page.copy in index and page.website_commit in index, f"features/pages/README.md does not list {page.copy} at {page.website_commit}"
    listed = {p.copy for p in pages.PAGES.values()}
    on_disk = {p.name for p in (FEATURES / "pages").glob("*.md")} - {"README.md"}
    assert on_disk == listed, f"page copies without a page, or pages without a copy: {sorted(on_disk ^ listed)}"


@pytest.mark.parametrize(("version", "page"), [
    ("v1.4.1 (163ea2146acb)", "1.4.x"), ("v1.4.1", "1.4.x"), ("1.5.0", "1.4.x"), ("029a7d988", "1.4.x"),
    ("v1.3.1", "1.0.x-1.3.x"), ("v1.0.0", "1.0.x-1.3.x"), ("1.2.1 (abc)", "1.0.x-1.3.x"), ("v2.0.0", "1.4.x"),
])
def test_the_page_for_a_version(version: str, page: str) -> None:
    assert pages.for_version(version).name == page


# Kinds of the page's own manifests; the Gateway and the sample app come from the page's
# "Before you begin", which links to other pages instead of holding them.
PAGE_KINDS = {"AgentgatewayPolicy", "Secret", "ConfigMap"}
SUITE_MANIFESTS = ROOT / "conformance" / "manifests"
EXAMPLES = ROOT / "examples" / "manifests"


def page_objects() -> list[dict]:
    """Every manifest of every page copy, parsed (commands and broken blocks left out)."""
    out = []
    for page in pages.PAGES.values():
        for block in page_blocks((FEATURES / "pages" / page.copy).read_text()):
            try:
                out += [d for d in yaml.safe_load_all("\n".join(block)) if isinstance(d, dict)]
            except yaml.YAMLError:
                continue  # a shell command
    return out


def objects(path: Path, **values: str) -> list[dict]:
    text = path.read_text()
    return [d for d in yaml.safe_load_all(text.format(**values) if values else text) if d]


def not_on_any_page(paths: list[Path], on_pages: list[dict]) -> list[str]:
    return [f"{path.parent.name}/{path.name}: {doc['kind']} {doc['metadata']['name']}"
            for path in paths for doc in objects(path) if doc["kind"] in PAGE_KINDS and doc not in on_pages]


def test_the_page_manifests_the_suite_and_the_examples_hold_are_the_pages_own() -> None:
    paths = sorted(SUITE_MANIFESTS.glob("*.yaml")) + sorted(EXAMPLES.glob("*.yaml"))
    assert sum(doc["kind"] in PAGE_KINDS for path in paths for doc in objects(path)) >= 5
    assert not_on_any_page(paths, page_objects()) == []


def test_a_page_manifest_that_differs_from_every_page_is_found(tmp_path: Path) -> None:
    # The check itself can fail: the Strict policy naming another Secret is on no page.
    changed = tmp_path / "apikey-auth-strict.yaml"
    changed.write_text((SUITE_MANIFESTS / "apikey-auth-strict.yaml").read_text().replace("name: apikey\n", "name: apikeys\n"))
    assert not_on_any_page([changed], page_objects()) == [f"{tmp_path.name}/apikey-auth-strict.yaml: AgentgatewayPolicy apikey-auth"]


def suite_setup() -> list[dict]:
    """What a scenario starts from (base objects and a backend at the echo's address of the
    examples), and the page's Secret and Strict policy, as the suite holds them."""
    docs = objects(SUITE_MANIFESTS / "base.yaml") + objects(SUITE_MANIFESTS / "endpointslice.yaml", address="127.0.0.1", port="8000")
    for doc in docs:
        # Not on the docs page, and the one difference: the suite's Gateway lets ListenerSets
        # add listeners (its ListenerSetTargets scenarios), the example's follows the page.
        doc.get("spec", {}).pop("allowedListeners", None)
    return docs + objects(SUITE_MANIFESTS / "apikey-secret.yaml") + objects(SUITE_MANIFESTS / "apikey-auth-strict.yaml")


def test_the_examples_are_the_suites_setup_with_the_pages_secret_and_policy() -> None:
    examples = [doc for path in sorted(EXAMPLES.glob("*.yaml")) for doc in objects(path)]
    assert examples == suite_setup()
