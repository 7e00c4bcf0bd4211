"""Deployments the suite can run against, chosen by `--target`.

`reference` (default: the built-in reference gateway), `kubernetes` (any cluster, or one of
our own with `--envtest`), `agentgateway-local` (the real proxy alone) and `kind`.
"""

from __future__ import annotations

import importlib
import re
from importlib import metadata

import pytest

from ..deployment import Deployment
from ..provenance import DISTRIBUTION
from . import catalog
from .base import Target
from .reference import ReferenceTarget


def make_target(config: pytest.Config) -> Target:
    kind = catalog.chosen(config.getoption("target"), config.getoption("envtest"), config.getoption("envtest_gateway"))
    try:
        cls = getattr(importlib.import_module(f".{kind.module}", __package__), kind.cls)
    except ImportError as exc:
        if kind.needs_extra is None:
            raise
        # Cluster targets import the Kubernetes client; the default run does not need it.
        raise pytest.UsageError(
            f"--target={kind.target} needs the suite's {kind.needs_extra} extra ({exc.name or exc} is not installed): "
            f"{install_extra(kind.needs_extra)}"
        ) from None
    target = cls.from_options(config)
    target.deployment = deployment_of(config, kind)
    if target.worker_names:
        target.deployment = target.deployment.for_worker(worker_id(config))
    shared = getattr(config, "workerinput", {}).get(SHARED)
    if target.shares and shared is not None:
        target.attach(shared)
    return target


# The key of a worker's input under which the process running the workers hands it what
# the target's shared parts are (Target.share and Target.share_with).
SHARED = "agw-conformance-shared"


def worker_id(config: pytest.Config) -> str | None:
    """This pytest-xdist worker's id (`gw0`, ...); `gwN` on the controller of workers, whose
    target only describes the run in the report (its workers' names, N for each one's
    number); None outside pytest-xdist."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput.get("workerid")
    return "gwN" if config.getoption("numprocesses", None) not in (None, 0) else None


def deployment_of(config: pytest.Config, kind: catalog.TargetKind) -> Deployment:
    """The Gateway's and backend's names from the options, for a kind that reads them; the page's otherwise."""
    names = {opt.dest: config.getoption(opt.dest) for opt in catalog.DEPLOYMENT if opt in kind.options}
    return Deployment(**names)


def install_extra(extra: str) -> str:
    """The command that installs an extra of the installed suite: its requirements, as its metadata lists them.

    The suite is not on the package index, so `pip install 'agw-apikey-conformance[kubernetes]'`
    would find nothing; the extra's own requirements are.
    """
    try:
        requires = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        requires = []
    wanted = [spec.strip() for spec, _, marker in (r.partition(";") for r in requires)
              if re.fullmatch(rf"""\s*extra\s*==\s*["']{re.escape(extra)}["']\s*""", marker)]
    if not wanted:
        return f"install the suite with its {extra} extra (pip install -e '.[{extra}]' in a clone)"
    return "pip install " + " ".join(f"'{spec}'" for spec in wanted)
