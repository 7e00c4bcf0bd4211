"""Run `agw-reference` with one mutant applied: launch.py MUTANT|none ARGS..."""

import sys

import mutants

name, *args = sys.argv[1:]
if name != "none":
    mutants.apply(mutants.BY_NAME[name])

from reference.cli import main  # noqa: E402 -- must come after the mutation

sys.exit(main(args))
