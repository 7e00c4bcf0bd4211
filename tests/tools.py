"""Tools the checks of the kind tier build or find: Go programs built once into a cache
outside the repository, and programs from the system (shellcheck, Chromium).

Nothing here is skipped quietly: a missing tool fails the test with what to install.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIND = ROOT / "clusters" / "kind"


def read_env(path: Path) -> dict[str, str]:
    from conformance.targets.kind import read_env as read

    return read(path)


def cache_dir() -> Path:
    home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(os.environ.get("AGW_TOOLS_CACHE") or home / "agw-conformance" / "tools")
    path.mkdir(parents=True, exist_ok=True)
    return path


def go() -> str:
    found = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
    if found is None:
        pytest.fail("Go (1.26) is needed to build the checkers (actionlint, the kind config checker); put it on PATH")
    return found


def _run_go(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([go(), *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local", **(env or {})})
    assert done.returncode == 0, f"go {' '.join(args)} failed:\n{done.stderr[-3000:]}"


def actionlint() -> Path:
    """actionlint at the pinned version, built from its Go module once."""
    version = read_env(KIND / "versions.env")["ACTIONLINT_VERSION"]
    binary = cache_dir() / f"actionlint-{version}" / "actionlint"
    if not binary.exists():
        _run_go(["install", f"github.com/rhysd/actionlint/cmd/actionlint@{version}"], ROOT,
                {"GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod"})
    return binary


def helm() -> Path:
    """helm at the pinned version: from the PATH if it is that version, else built once."""
    version = read_env(KIND / "versions.env")["HELM_VERSION"]
    found = shutil.which("helm")
    if found:
        done = subprocess.run([found, "version", "--template", "{{.Version}}"], capture_output=True, text=True)
        if done.stdout.strip() == version:
            return Path(found)
    binary = cache_dir() / f"helm-{version}" / "helm"
    if not binary.exists():
        # About 3 minutes on 2 cores the first time; cached after.
        _run_go(["install", f"helm.sh/helm/v3/cmd/helm@{version}"], ROOT, {"GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod"})
    return binary


def configcheck() -> Path:
    """clusters/kind/configcheck, built once per content of its sources."""
    src = KIND / "configcheck"
    digest = hashlib.sha256(b"".join((src / n).read_bytes() for n in ("go.mod", "go.sum", "main.go"))).hexdigest()[:16]
    binary = cache_dir() / f"kind-configcheck-{digest}"
    if not binary.exists():
        _run_go(["build", "-mod=readonly", "-o", str(binary), "."], src)
    return binary


def go_module_dir(module: str, version: str) -> Path:
    """Where the Go module proxy's zip of module@version is extracted (downloaded once)."""
    done = subprocess.run([go(), "mod", "download", "-json", f"{module}@{version}"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"})
    info = json.loads(done.stdout or "{}")
    assert done.returncode == 0 and info.get("Dir"), f"go mod download {module}@{version}: {info.get('Error') or done.stderr[-2000:]}"
    return Path(info["Dir"])


def system_tool(*names: str, env: str | None = None, package: str) -> str:
    if env and os.environ.get(env):
        return os.environ[env]
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{' or '.join(names)} is not installed: apt-get install {package}" + (f" (or set {env})" if env else ""))
