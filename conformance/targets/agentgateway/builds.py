"""The agentgateway builds: clusters/agentgateway*/build.sh, run from a source tree, print the binary they made."""

from __future__ import annotations

import glob
import json
import os
import subprocess
from pathlib import Path

from ...buildscripts import last_path
from ...locations import CLUSTERS
from ...waiting import TIMEOUTS

CONTROLLER_BUILD = CLUSTERS / "agentgateway-controller" / "build.sh"
PROXY_BUILD = CLUSTERS / "agentgateway" / "build.sh"


def run_build(script: Path, env: dict[str, str] | None = None) -> Path:
    """Run a build script (progress on our stderr); the executable it prints last."""
    path = last_path(script, env)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{script.relative_to(CLUSTERS.parent)} printed {path}, which is not an executable")
    return path


def binary_version(binary: str) -> str:
    """What `agentgateway --version` says: `v1.4.1 (163ea2146acb)`, or why it says nothing."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=TIMEOUTS.command, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({type(exc).__name__})"
    text = (done.stdout or done.stderr).strip()
    try:
        info = json.loads(text)  # the proxy prints its build information as JSON
    except ValueError:
        return text.splitlines()[0][:200] if text else "unknown"
    version, revision = str(info.get("version") or "unknown"), str(info.get("git_revision") or "")
    return f"{version} ({revision[:12]})" if revision else version


def cached_proxy() -> str | None:
    """A proxy binary to use when none is named: AGW_AGENTGATEWAY_BINARY, else the newest build in the cache."""
    given = os.environ.get("AGW_AGENTGATEWAY_BINARY")
    if given:
        return given
    cache = os.environ.get("AGW_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "agw-conformance")
    found = sorted(glob.glob(os.path.join(cache, "agentgateway", "*", "bin", "agentgateway")))
    return found[-1] if found else None
