"""Deployments the suite can run against, chosen by `--target`.

`reference` (default: the built-in reference gateway), `kubernetes` (any cluster, or one of
our own with `--envtest`), `agentgateway-local` (the real proxy alone) and `kind`.
"""

from __future__ import annotations

import importlib
import re
from importlib import metadata

import pytest

from .. import profiles as ft
from ..provenance import DISTRIBUTION
from .agentgateway.local import AgentgatewayLocalTarget
from .base import Target
from .reference import ReferenceTarget


def make_target(config: pytest.Config) -> Target:
    target = config.getoption("target")
    if target == "kubernetes":
        if config.getoption("envtest") and config.getoption("envtest_gateway") == "agentgateway":
            cluster = _cluster(target, "agentgateway.envtest", "AgentgatewayEnvtestTarget")
        elif config.getoption("envtest"):
            cluster = _cluster(target, "envtest", "EnvtestTarget")
        else:
            cluster = _cluster(target, "kubernetes", "KubernetesTarget")
        return cluster.from_options(config)
    if target == "kind":
        return _cluster(target, "kind", "KindTarget").from_options(config)
    if target == "agentgateway-local":
        return AgentgatewayLocalTarget.from_options(config)
    return ReferenceTarget(ft.REFERENCE_FEATURES, command=config.getoption("reference_command"), timeout=config.getoption("convergence_timeout"))


def _cluster(target: str, module: str, name: str) -> type[Target]:
    # Cluster targets import the Kubernetes client; the default run does not need it.
    try:
        return getattr(importlib.import_module(f".{module}", __package__), name)
    except ImportError as exc:
        raise pytest.UsageError(
            f"--target={target} needs the suite's kubernetes extra ({exc.name or exc} is not installed): {install_extra('kubernetes')}"
        ) from None


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
