"""The suite's step definitions, for this directory's feature files only.

They live in `conformance.steps`; importing them here (rather than from the installed
plugin) keeps them from matching the steps of other projects that use pytest-bdd.
"""

from conformance.steps import *  # noqa: F403 -- pytest-bdd steps are fixtures, found by name
