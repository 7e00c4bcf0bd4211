"""Running one of the build scripts under `clusters/` (conformance/locations.py says where they are) for the path it prints.

Every build script of the project (the envtest assets, the agentgateway proxy and
controller, the kind node) prints progress on stderr and, as its last line on stdout, the
one path it made: `last_path` runs one and returns that path, or says which script failed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .locations import ROOT


class BuildFailed(RuntimeError):
    """A build script exited non-zero or printed nothing; its own messages went to stderr."""


def last_path(script: Path, env: dict[str, str] | None = None) -> Path:
    """Run `script` with bash (progress on our stderr); the path it prints last on stdout."""
    proc = subprocess.run(["bash", str(script)], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env, check=False)
    lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
    name = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    if proc.returncode != 0:
        raise BuildFailed(f"{name} failed with exit code {proc.returncode} (its messages are above)")
    if not lines:
        raise BuildFailed(f"{name} printed nothing on stdout")
    return Path(lines[-1])
