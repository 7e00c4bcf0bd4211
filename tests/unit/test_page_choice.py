"""Which versions of the docs page a run checks: the target's version decides, options override."""

from __future__ import annotations

import pytest

from conformance.plugin import choose_profiles
from conformance.profiles import CORE, EXTENDED, PAGE_PROFILES


class _Config:
    def __init__(self, **options):
        self.options = {"profiles": None, "docs_pages": None, **options}

    def getoption(self, name):
        return self.options[name]


class _Target:
    name = "test"

    def __init__(self, version):
        self.version = version

    def product_version(self):
        return self.version


@pytest.mark.parametrize(("version", "page"), [
    ("v1.4.1 (163ea2146acb)", "APIKEY-DOCS-1.4"),  # the proxy's --version
    ("029a7d988", "APIKEY-DOCS-1.4"),  # a build of upstream main reads main's page
    ("v1.3.1", "APIKEY-DOCS-1.0-1.3"),
])
def test_a_target_of_one_version_is_checked_against_its_page(version, page):
    chosen, why = choose_profiles(_Config(), _Target(version))
    assert chosen == {CORE, EXTENDED, page}
    assert version in why


def test_a_target_without_a_version_is_checked_against_every_page():
    chosen, why = choose_profiles(_Config(), _Target(None))
    assert chosen == {CORE, EXTENDED, *PAGE_PROFILES}
    assert why.startswith("every version")


def test_docs_pages_overrides_the_target_and_profiles_keeps_its_own_choice():
    assert choose_profiles(_Config(docs_pages=["2026-02-19"]), _Target("v1.4.1"))[0] == {CORE, EXTENDED, "APIKEY-DOCS-2026-02-19"}
    assert choose_profiles(_Config(docs_pages=["none"]), _Target(None))[0] == {CORE, EXTENDED}
    assert choose_profiles(_Config(profiles=[CORE]), _Target("v1.4.1")) == ({CORE}, "--profiles")
