"""Where the suite's files are: its feature files, its cluster scripts and its pytest settings.

In a checkout they are where the repository keeps them: `features/`, `clusters/` and
`pyproject.toml` at its top. An installed copy (a wheel) carries the same directories
inside this package, `conformance/features/` and `conformance/clusters/`, and the
checkout's pytest settings as `conformance/pytest.ini` (setup.py writes both), so either
way `ROOT / "features"` is the suite and `ROOT / "clusters"` its cluster scripts, and a
run from either has the same test names (`features/<file>.feature::<scenario>`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent

# The checkout is recognised by the files only a checkout has next to this package.
CHECKOUT = (PACKAGE.parent / "features" / "conftest.py").is_file() and (PACKAGE.parent / "pyproject.toml").is_file()
ROOT = PACKAGE.parent if CHECKOUT else PACKAGE
FEATURES = ROOT / "features"
CLUSTERS = ROOT / "clusters"
# pytest's settings for the suite: the checkout's own, or the copy its build made of them.
PYTEST_CONFIG = ROOT / "pyproject.toml" if CHECKOUT else PACKAGE / "pytest.ini"
