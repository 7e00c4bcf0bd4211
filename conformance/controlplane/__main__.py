"""``python -m conformance.controlplane start|build``: a control plane for people."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .assets import ControlPlaneError, find_assets
from .plane import ControlPlane


def main(argv: list[str] | None = None) -> int:
    """``start``: run a control plane until Ctrl-C; ``build``: print KUBEBUILDER_ASSETS."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.controlplane",
        description="A local etcd + kube-apiserver with the Gateway API and agentgateway CRDs.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build (or reuse) the binaries and CRDs; print the KUBEBUILDER_ASSETS directory")
    start = sub.add_parser("start", help="start a control plane and keep it running until Ctrl-C")
    start.add_argument("--assets", type=Path, help="directory with kube-apiserver and etcd (default: build)")
    start.add_argument("--crds", type=Path, help="directory of CRD YAML files (default: next to the assets)")
    start.add_argument("--workdir", type=Path, help="keep data, logs and kubeconfig here (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            print(find_assets())
            return 0
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        # Explicit handlers: SIGINT may be ignored when started in the background.
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        with ControlPlane(args.assets, args.crds, args.workdir) as cp:
            print(f"API server:  {cp.server}")
            print(f"CRDs:        {len(cp.installed_crds)} from {cp.crds_dir}")
            print(f"kubeconfig:  {cp.kubeconfig}")
            print(f"  export KUBECONFIG={cp.kubeconfig}")
            print("Ctrl-C to stop.", flush=True)
            stop.wait()
            print("stopping", flush=True)
        return 0
    except ControlPlaneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
