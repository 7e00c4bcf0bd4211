"""The report schema names the features and profiles the suite has, no more and no fewer.

The schema is JSON for readers outside Python, so it holds these names a second time; this
test is what keeps the two the same (a feature added to `conformance/profiles.py` alone once
made every report that claimed it fail validation).
"""

import json

from conformance.locations import PACKAGE
from conformance.profiles import FEATURES, PAGE_PROFILES, PROFILES

SCHEMA = json.loads((PACKAGE / "schema" / "conformance-report.schema.json").read_text())


def test_the_schema_names_every_feature():
    assert sorted(SCHEMA["$defs"]["feature"]["enum"]) == sorted(FEATURES)


def test_the_schema_names_every_profile():
    profile_names = [branch for branch in SCHEMA["$defs"].values() if "name" in branch.get("properties", {})]
    assert profile_names, "the schema has no profile definition"
    assert sorted(profile_names[0]["properties"]["name"]["enum"]) == sorted(PROFILES)


def test_the_schema_knows_which_profiles_are_pages():
    text = json.dumps(SCHEMA)
    for page in PAGE_PROFILES:
        assert text.count(f'"{page}"') >= 2, f"{page}: the schema does not tell a page profile apart"
