"""The published versions of the docs page "API key auth", each mirrored by one feature file.

Upstream renders one source file, `assets/agw-docs/pages/security/apikey-auth.md` in the
repository agentgateway/website, differently for each version folder of the site, and has
rewritten it over time. Each version a user can read (or could, for the first one) is a
profile of its own, so that a report says which page a gateway was checked against. The
copy each feature mirrors is kept in `features/pages/`; a test holds every manifest and
command of a copy to its feature file (tests/unit/test_docs_pages.py).

A run checks the page that matches the target's version (`for_version`), or the pages
named by `--docs-pages`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SOURCE = "assets/agw-docs/pages/security/apikey-auth.md"
REPOSITORY = "agentgateway/website"


@dataclass(frozen=True)
class Page:
    name: str  # the --docs-pages value, and the feature's tag: @page-<name>
    profile: str
    readers: str  # who reads this version of the page
    website_commit: str
    copy: str  # the committed copy, under features/pages/
    feature: str  # the feature file that mirrors it, under features/

    @property
    def tag(self) -> str:
        return f"page-{self.name}"

    def describe(self) -> dict:
        """What a report says of the page a profile mirrors."""
        return {"version": self.name, "readers": self.readers, "repository": REPOSITORY, "source": SOURCE,
                "websiteCommit": self.website_commit, "copy": f"features/pages/{self.copy}"}


SEED = Page("2026-02-19", "APIKEY-DOCS-2026-02-19", "every version, as published on 2026-02-19 (the suite's first mirror)",
            "f9d73ee6e90ba268df9a55092fe9e540eb4d2392", "apikey-auth-2026-02-19.md", "docs_page_2026_02_19.feature")
CURRENT = Page("1.4.x", "APIKEY-DOCS-1.4", "agentgateway 1.4.x (latest) and main (1.5.x), since 2026-07-23",
               "f14302b2e63307d4c3fe77a9d00a65c034975c4e", "apikey-auth-1.4.x-and-main.md", "docs_page_1_4_x.feature")
OLDER = Page("1.0.x-1.3.x", "APIKEY-DOCS-1.0-1.3", "agentgateway 1.0.x to 1.3.x, since 2026-06-26",
             "f14302b2e63307d4c3fe77a9d00a65c034975c4e", "apikey-auth-1.0.x-to-1.3.x.md", "docs_page_1_0_x_to_1_3_x.feature")

PAGES: dict[str, Page] = {p.name: p for p in (SEED, CURRENT, OLDER)}
BY_PROFILE: dict[str, Page] = {p.profile: p for p in PAGES.values()}
BY_TAG: dict[str, Page] = {p.tag: p for p in PAGES.values()}

_RELEASE = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+ (].*)?$")


def for_version(version: str) -> Page:
    """The page users of `version` read: a release (`v1.3.1`, `1.4.1 (163ea2146acb)`) by its
    minor version; anything else (a commit of upstream main) reads the page of main."""
    match = _RELEASE.match(version.strip())
    if match and (int(match[1]), int(match[2])) < (1, 4):
        return OLDER
    return CURRENT


def choose(names: list[str]) -> list[Page]:
    """The pages `--docs-pages` names: page names, `all`, or `none`; ValueError naming what is unknown."""
    if names == ["all"]:
        return list(PAGES.values())
    if names == ["none"]:
        return []
    unknown = [n for n in names if n not in PAGES]
    if unknown or not names:
        raise ValueError(f"--docs-pages: unknown page {', '.join(unknown) or '(empty)'}; known: {', '.join(PAGES)}, all, none")
    return [PAGES[n] for n in names]
