"""The programs from outside Python that the tests and the benchmark run: how each is found,
what needs it, and how to install it.

    python tests/system_tools.py NAME...             exit 1, saying how to install whichever is missing
    python tests/system_tools.py --packages NAME...  the Debian packages of the missing ones, one a line

Each tox environment that needs some checks them first (`commands_pre` in tox.ini), so a
`tox run` without them stops at once with the command to run rather than failing tests
after minutes; `.ci/run` installs the packages the second form names; a test that needs
one fails with the same command when it is run alone (`helpers.system_tool`).

Only the standard library here: `.ci/run` runs this before any virtual environment exists.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Tool:
    names: tuple[str, ...]  # looked up on PATH, in this order
    needed_by: str
    package: str | None = None  # Debian's package
    install: str = ""  # how to get it where Debian's package will not do
    env: str | None = None  # a variable naming the program, which wins over PATH
    paths: tuple[str, ...] = ()  # where it lives when not on PATH (Debian puts nginx in /usr/sbin)

    def find(self) -> str | None:
        if self.env and os.environ.get(self.env):
            return os.environ[self.env]
        found = next(filter(None, map(shutil.which, self.names)), None)
        return found or next((p for p in self.paths if os.access(p, os.X_OK)), None)

    def how_to_install(self) -> str:
        how = self.install or f"apt-get install {self.package}"
        return how + (f" (or set {self.env} to the program)" if self.env else "")


TOOLS = {
    "shellcheck": Tool(("shellcheck",), "the check of every shell script and of the workflows' scripts", package="shellcheck"),
    "jq": Tool(("jq",), "the kind tier's container engine scripts", package="jq"),
    "chromium": Tool(("chromium", "chromium-browser", "google-chrome"), "the HTML report's rendering checks", package="chromium",
                     env="AGW_CHROMIUM"),
    "wrk": Tool(("wrk",), "the benchmark's load", package="wrk"),
    "nginx": Tool(("nginx",), "the benchmark's static backend and its nginx variants", package="nginx-light",
                  paths=("/usr/sbin/nginx",)),
    # Debian's Go is older than the go.mod files need; the envtest build finds it in /usr/local/go too.
    "go": Tool(("go",), "the envtest control plane build and the kind tier's checkers",
               install="Go 1.26 or newer from https://go.dev/dl/, on PATH", paths=("/usr/local/go/bin/go",)),
}


def missing(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - TOOLS.keys())
    if unknown:
        raise SystemExit(f"system_tools.py: unknown tool {', '.join(unknown)}; known: {', '.join(TOOLS)}")
    return [name for name in names if TOOLS[name].find() is None]


def main(argv: list[str]) -> int:
    if argv[:1] == ["--packages"]:
        for name in missing(argv[1:]):
            if TOOLS[name].package is None:
                raise SystemExit(f"system_tools.py: {name} has no Debian package to install: {TOOLS[name].how_to_install()}")
            print(TOOLS[name].package)
        return 0
    absent = missing(argv)
    for name in absent:
        print(f"{name} is not installed (needed by {TOOLS[name].needed_by}): {TOOLS[name].how_to_install()}", file=sys.stderr)
    packages = [TOOLS[name].package for name in absent if TOOLS[name].package]
    if len(packages) > 1:
        print(f"all at once: apt-get install {' '.join(packages)}", file=sys.stderr)
    return 1 if absent else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
