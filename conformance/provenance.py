"""Which suite a report comes from: its version, and the git commit its files were taken from.

In a checkout the commit is read from git as the run starts, with `-dirty` when tracked
files differ from it (untracked files do not count: they are not part of any commit). An
installed copy has no git: its build wrote the commit into `_build_info.py` (setup.py),
by the same rule, so a wheel built from a dirty tree says `-dirty` too. An sdist carries
that file, so a wheel built from the sdist still knows the commit. Anything else reports
`unknown`, never a guess.

Only the standard library here: setup.py loads this file by its path at build time, when
the suite's dependencies are not installed.
"""

from __future__ import annotations

import ast
import subprocess
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "agw-apikey-conformance"
BUILD_INFO = "_build_info.py"  # written into the package by the build, never committed
UNKNOWN = "unknown"


def suite_version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def suite_commit() -> str:
    """The checkout's commit when running from one, else the commit the build recorded, else `unknown`."""
    package = Path(__file__).resolve().parent
    return git_commit(package.parent) or recorded_commit(package / BUILD_INFO) or UNKNOWN


def git_commit(top: Path) -> str | None:
    """HEAD of the git checkout whose top directory is `top` (`-dirty` if tracked files changed).

    None when `top` is not the top of a checkout: an installed copy inside some other
    repository (a virtual environment in a project's tree) is not a checkout of the suite.
    """
    git = ["git", "-C", str(top)]
    try:
        found = subprocess.run([*git, "rev-parse", "--show-toplevel"], capture_output=True, text=True, timeout=10)
        if found.returncode != 0 or Path(found.stdout.strip()).resolve() != top.resolve():
            return None
        head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0 or dirty.returncode != 0:
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def recorded_commit(path: Path) -> str | None:
    """The commit a build wrote into `path` (see `build_info`), or None without one.

    Read, not imported: setup.py reads an sdist's file the same way, without importing the package.
    """
    try:
        tree = ast.parse(path.read_text(), str(path))
    except (OSError, SyntaxError):
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["COMMIT"]:
            value = node.value.value if isinstance(node.value, ast.Constant) else None
            return value if isinstance(value, str) and value and value != UNKNOWN else None
    return None


def build_info(commit: str) -> str:
    """The text of `_build_info.py` for a build of `commit`."""
    return f'"""Written by the build (setup.py): the commit this copy of the suite was built from."""\n\nCOMMIT = {commit!r}\n'
