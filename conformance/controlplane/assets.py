"""Where the control plane's binaries and CRDs come from (see the package docstring)."""

from __future__ import annotations

import os
from pathlib import Path

from ..buildscripts import BuildFailed, last_path
from ..locations import CLUSTERS


class ControlPlaneError(RuntimeError):
    """Building, finding or starting the control plane failed."""


def build_script() -> Path:
    """Path of ``clusters/envtest/build.sh``: in the checkout, or in the installed copy (conformance/locations.py)."""
    return CLUSTERS / "envtest" / "build.sh"


def check_assets(path: Path, origin: str) -> Path:
    missing = [b for b in ("kube-apiserver", "etcd") if not os.access(path / b, os.X_OK)]
    if missing:
        raise ControlPlaneError(
            f"{origin}={path} must be a directory holding executable kube-apiserver and etcd; missing: {', '.join(missing)}"
        )
    return path


def find_assets(*, build: bool = True) -> Path:
    """The directory holding ``kube-apiserver`` and ``etcd``.

    ``KUBEBUILDER_ASSETS`` if set, else the output of ``clusters/envtest/build.sh``
    (run with its progress on our stderr; ``build=False`` refuses to run it).
    """
    env = os.environ.get("KUBEBUILDER_ASSETS")
    if env:
        return check_assets(Path(env).expanduser().resolve(), "KUBEBUILDER_ASSETS")
    script = build_script()
    if not build:
        raise ControlPlaneError(f"KUBEBUILDER_ASSETS is not set (run {script} to build the assets)")
    if not script.is_file():
        raise ControlPlaneError(f"KUBEBUILDER_ASSETS is not set and {script} does not exist")
    try:
        return check_assets(last_path(script), f"the output of {script}")
    except BuildFailed as exc:
        raise ControlPlaneError(str(exc)) from None


def find_crds(assets: Path, crds: Path | None = None) -> Path:
    """The CRD directory: ``crds``, else ``AGW_ENVTEST_CRDS``, else ``<assets>/../crds``."""
    if crds is not None:
        origin, path = "crds", Path(crds)
    elif os.environ.get("AGW_ENVTEST_CRDS"):
        origin, path = "AGW_ENVTEST_CRDS", Path(os.environ["AGW_ENVTEST_CRDS"])
    else:
        path = Path(assets).parent / "crds"
        if not path.is_dir():
            raise ControlPlaneError(f"no CRD directory next to the assets ({path}); pass crds=... or set AGW_ENVTEST_CRDS")
        return path
    path = path.expanduser().resolve()
    if not path.is_dir():
        raise ControlPlaneError(f"{origin}={path} is not a directory")
    return path
