"""`agw-reference`: the reference gateway (`serve`) and its echo backend (`echo`).

Exit codes: 0 after a clean stop, 2 for a usage error, 3 when an address cannot be
listened on (in use, or not this machine's), 1 for anything else.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import admin, echo, serving, upstream
from .proxy import Proxy
from .runtime import Runtime
from .watching import ManifestDir


EXIT_CANNOT_LISTEN = 3

TRY_IT = """\
try it (from a source checkout; examples/manifests is the docs page's setup, with the
Service and EndpointSlice that send traffic to the echo backend on 127.0.0.1:8000):
  agw-reference echo --listen 127.0.0.1:8000 &
  agw-reference serve --manifests examples/manifests --listen 127.0.0.1:8080 --admin 127.0.0.1:9092 &
  curl -i http://127.0.0.1:8080/headers -H 'host: www.example.com'
      # 401: api key authentication failure: no API Key found
  curl -i http://127.0.0.1:8080/headers -H 'host: www.example.com' -H 'Authorization: Bearer wrong-key'
      # 401: api key authentication failure: invalid credentials
  curl -i http://127.0.0.1:8080/headers -H 'host: www.example.com' \\
      -H 'Authorization: Bearer N2YwMDIxZTEtNGUzNS1jNzgzLTRkYjAtYjE2YzRkZGVmNjcy'
      # 200: the echo of the headers the backend saw, without Authorization
"""


def _listen(*addresses: str) -> list:
    """Bind every address before anything starts; on failure, close what was bound and re-raise."""
    sockets = []
    try:
        for address in addresses:
            sockets.append(serving.listen(address))
    except serving.CannotListen:
        for sock in sockets:
            sock.close()
        raise
    return sockets


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
    try:
        sockets = _listen(args.listen, *([args.admin] if args.admin else []))
    except serving.CannotListen as exc:
        print(f"agw-reference: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    limits = serving.Limits(args.header_timeout, args.keep_alive_timeout, args.limit_concurrency, args.max_header_bytes)
    proxy = Proxy(runtime.current, upstream_timeout=args.upstream_timeout)
    apps = [(proxy, sockets[0])]
    _say(f"traffic on {_url(sockets[0])}")
    if args.admin:
        app = admin.create_app(runtime, source.report, getattr(source, "provenance", None), key_digests_shown=args.admin_key_digests)
        apps.append((app, sockets[1]))
        paths = "/healthz/ready, /config_dump, /status/policies" + (", /status/keys" if args.admin_key_digests else "")
        _say(f"admin on {_url(sockets[1])} ({paths})")
    return serving.run(lambda: serving.serve(apps, background=[background], on_stop=[proxy.aclose], log_level=args.log_level, limits=limits),
                       workers=args.workers)


def _echo(args: argparse.Namespace) -> int:
    try:
        [sock] = _listen(args.listen)
    except serving.CannotListen as exc:
        print(f"agw-reference: {exc}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    _say(f"echo backend on {_url(sock)} (/headers, /get, /anything, /status/CODE)")
    return serving.run(lambda: serving.serve([(echo.create_app(), sock)], log_level=args.log_level))


def _url(sock) -> str:
    """The address a socket actually listens on (port 0 becomes the port it was given)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _say(line: str) -> None:
    # Whatever the log level: someone who started the program by hand needs the address.
    print(f"agw-reference: {line}", file=sys.stderr, flush=True)


def _positive(kind):
    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not number > 0:  # `not >` also refuses nan
            raise argparse.ArgumentTypeError(f"must be more than 0: {value!r}")
        return number

    return parse


def _address(value: str) -> str:
    try:
        serving.parse_address(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


LOG_LEVELS = ["debug", "info", "warning", "error"]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="agw-reference", description="Reference gateway for agentgateway API key auth.",
                                  epilog=TRY_IT, formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--log-level", default="info", choices=LOG_LEVELS,
                     help="debug adds a line per authentication decision (default: info)")
    # The same option after the subcommand (`agw-reference serve --log-level debug`); it
    # is only set there when given, so the top-level value stands otherwise.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--log-level", default=argparse.SUPPRESS, choices=LOG_LEVELS, help="as before the subcommand")
    sub = top.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway", parents=[common], epilog=TRY_IT,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    config = serve.add_mutually_exclusive_group(required=True)
    config.add_argument("--manifests", type=Path, help="directory of *.yaml/*.yml manifests, watched for changes")
    config.add_argument("--kubeconfig", help="watch the cluster of this kubeconfig")
    config.add_argument("--in-cluster", action="store_true", help="watch the cluster this pod runs in")
    serve.add_argument("--listen", type=_address, required=True, help="HOST:PORT for traffic, or fd:N for a listening socket the parent passed")
    serve.add_argument("--admin", type=_address, help="HOST:PORT (or fd:N) for /healthz/ready, /config_dump, /status/policies")
    serve.add_argument("--admin-key-digests", action="store_true",
                       help="also serve /status/keys on the admin address: the SHA-256 digest of the key loaded from each "
                            "Secret and ConfigMap entry, for conformance checks; whoever reads it can test guesses of a key "
                            "offline, so it is off by default")
    serve.add_argument("--gateway-class", default="agentgateway", help="serve Gateways of this GatewayClass (default: agentgateway)")
    serve.add_argument("--workers", type=_positive(int), default=1, metavar="N",
                       help="processes sharing the listen addresses, each loading the configuration itself (default: 1)")
    serve.add_argument("--upstream-timeout", type=_positive(float), default=upstream.READ_TIMEOUT, metavar="SECONDS",
                       help="answer 504 when the backend sends nothing for this long (default: %(default)g)")
    serve.add_argument("--poll-interval", type=_positive(float), default=0.1,
                       help="seconds between scans of the manifest directory (more than 0: less would keep an idle gateway busy)")
    limits = serve.add_argument_group("client limits")
    default = serving.Limits()
    limits.add_argument("--header-timeout", type=_positive(float), default=default.header_timeout, metavar="SECONDS",
                        help="close a connection whose request headers are not complete this long after the connection "
                             "or the request's first byte (default: %(default)g)")
    limits.add_argument("--keep-alive-timeout", type=_positive(float), default=default.keep_alive_timeout, metavar="SECONDS",
                        help="close a connection idle this long between requests (default: %(default)g)")
    limits.add_argument("--limit-concurrency", type=_positive(int), default=default.concurrency, metavar="N",
                        help="serve this many connections at once; requests on connections beyond them get a 503 (default: %(default)d)")
    limits.add_argument("--max-header-bytes", type=_positive(int), default=default.max_header_bytes, metavar="BYTES",
                        help="refuse requests whose request line and headers are larger (default: %(default)d)")
    serve.set_defaults(run=_serve)

    echo_cmd = sub.add_parser("echo", help="run the go-httpbin compatible echo backend", parents=[common])
    echo_cmd.add_argument("--listen", type=_address, required=True, help="HOST:PORT, or fd:N for a listening socket the parent passed")
    echo_cmd.set_defaults(run=_echo)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    args.log_level = "warning" if args.log_level in ("debug", "info") else args.log_level  # uvicorn's own chatter
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
