"""`agw-conformance`: the suite run from any directory, installed or from a checkout.

    agw-conformance run [pytest options]   the feature files, with the suite's pytest settings
    agw-conformance --version              the suite's version and commit

`run` is `pytest features/` as in the checkout (README's first command): the same feature
files, settings (strict markers and config, warnings as errors), root directory and so the
same test names, with the options given after `run` (`--target`, `--report-dir`, `-k`,
...). Relative paths in them are taken from the directory it is run in. pytest runs in a
process of its own (the plugin's modules are rewritten by pytest when imported, which they
cannot be once this one has imported them), started with `python -P` so that a directory
named `conformance` where it is run cannot stand in for the installed package.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import locations
from .provenance import DISTRIBUTION, suite_commit, suite_version


def pytest_command(options: Sequence[str], cwd: Path) -> list[str]:
    """The pytest command line that runs the suite with `options`, launched from `cwd`."""
    return [
        sys.executable, "-P", "-m", "pytest",
        "-c", str(locations.PYTEST_CONFIG), "--rootdir", str(locations.ROOT),
        # pytest's cache belongs where the run is made, not inside an installed package.
        "-o", f"cache_dir={cwd / '.pytest_cache'}",
        str(locations.FEATURES), *options,
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agw-conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="store_true", help="print the suite's version and git commit")
    commands = parser.add_subparsers(dest="command", metavar="run")
    commands.add_parser("run", help="run the feature files; every option after `run` goes to pytest (see `agw-conformance run --help`)",
                        add_help=False)
    args, options = parser.parse_known_args(argv)
    if args.version:
        print(f"{DISTRIBUTION} {suite_version()} (commit {suite_commit()})")
        return 0
    if args.command != "run":
        parser.print_usage(sys.stderr)
        print("agw-conformance: say `run` (then pytest options), or --version", file=sys.stderr)
        return 2
    missing = [str(path) for path in (locations.FEATURES / "conftest.py", locations.PYTEST_CONFIG) if not path.is_file()]
    if missing:
        print(f"agw-conformance: this copy of the suite lacks {' and '.join(missing)}; "
              "install a wheel built by `python -m build`, or run from a checkout", file=sys.stderr)
        return 2
    command = pytest_command(options, Path.cwd())
    sys.stdout.flush()
    os.execv(command[0], command)  # pytest takes this process over: its exit code, its signals


if __name__ == "__main__":
    sys.exit(main())
