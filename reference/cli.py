"""`agw-reference`: the reference gateway (`serve`) and its echo backend (`echo`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from . import admin, echo, serving
from .proxy import Proxy
from .runtime import Runtime
from .watching import ManifestDir


def _serve(args: argparse.Namespace) -> int:
    runtime = Runtime(args.gateway_class)
    if args.manifests is not None:
        source = ManifestDir(args.manifests, runtime, args.poll_interval)
        if not source.path.is_dir():
            print(f"agw-reference: --manifests {args.manifests}: not a directory", file=sys.stderr)
            return 2
        background = source.watch
    else:
        from .kube import KubeSource  # only needed, and only imported, on Kubernetes

        source = KubeSource(runtime, args.kubeconfig)
        background = source.run
    proxy = Proxy(runtime.current)
    apps = [(proxy, args.listen)]
    if args.admin:
        apps.append((admin.create_app(runtime, source.report), args.admin))
    asyncio.run(serving.serve(apps, background=[background], on_stop=[proxy.aclose], log_level=args.log_level))
    return 0


def _echo(args: argparse.Namespace) -> int:
    asyncio.run(serving.serve([(echo.create_app(), args.listen)], log_level=args.log_level))
    return 0


def _address(value: str) -> str:
    try:
        serving.parse_address(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="agw-reference", description="Reference gateway for agentgateway API key auth.")
    top.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    config = serve.add_mutually_exclusive_group(required=True)
    config.add_argument("--manifests", type=Path, help="directory of *.yaml/*.yml manifests, watched for changes")
    config.add_argument("--kubeconfig", help="watch the cluster of this kubeconfig")
    config.add_argument("--in-cluster", action="store_true", help="watch the cluster this pod runs in")
    serve.add_argument("--listen", type=_address, required=True, help="HOST:PORT for traffic")
    serve.add_argument("--admin", type=_address, help="HOST:PORT for /healthz/ready, /config_dump, /status/policies")
    serve.add_argument("--gateway-class", default="agentgateway", help="serve Gateways of this GatewayClass (default: agentgateway)")
    serve.add_argument("--poll-interval", type=float, default=0.1, help="seconds between scans of the manifest directory")
    serve.set_defaults(run=_serve)

    echo_cmd = sub.add_parser("echo", help="run the go-httpbin compatible echo backend")
    echo_cmd.add_argument("--listen", type=_address, required=True, help="HOST:PORT")
    echo_cmd.set_defaults(run=_echo)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args.log_level = "warning" if args.log_level in ("debug", "info") else args.log_level  # uvicorn's own chatter
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
