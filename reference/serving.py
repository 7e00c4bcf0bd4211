"""Running several ASGI apps and background tasks in one event loop, with clean shutdown.

Every address is bound before anything starts, so an address in use is one clear error
(`CannotListen`) rather than a server that fails halfway through starting. Each connection
is held to the client-side limits in `Limits`.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass

import uvicorn

from .http1 import LimitedProtocol

log = logging.getLogger("agw-reference.serving")



@dataclass(frozen=True)
class Limits:
    """What one client may hold. The defaults are the documented ones (`agw-reference serve --help`)."""

    header_timeout: float = 10.0  # seconds from a request's first byte (or the connection) to its last header
    keep_alive_timeout: float = 30.0  # seconds an idle connection is kept between requests
    concurrency: int = 1000  # connections at once; requests on connections beyond that get a 503
    max_header_bytes: int = 16384  # size of a request line and headers together


class CannotListen(Exception):
    def __init__(self, address: str, reason: str):
        self.address, self.reason = address, reason
        super().__init__(f"cannot listen on {address}: {reason}")


def inherited_fd(value: str) -> int | None:
    """N for `fd:N`: a socket the parent bound and listens on (so no port is ever free for a moment)."""
    kind, sep, number = value.partition(":")
    if kind != "fd" or not sep:
        return None
    if not number.isdigit() or int(number) < 3:
        raise ValueError(f"expected fd:N with N an open file descriptor above 2, got {value!r}")
    return int(number)


def parse_address(value: str) -> tuple[str, int]:
    if inherited_fd(value) is not None:
        return "", 0
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    if int(port) > 65535:
        # The socket layer would take the port modulo 65536 and listen somewhere else.
        raise ValueError(f"port {int(port)} in {value!r} is out of range (0 to 65535)")
    return host.strip("[]") or "127.0.0.1", int(port)


def listen(address: str) -> socket.socket:
    """A socket bound and listening on `address` (HOST:PORT, or fd:N); `CannotListen` says why not."""
    fd = inherited_fd(address)
    if fd is not None:
        return _inherited(address, fd)
    host, port = parse_address(address)
    sock = None
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
        sock.listen(2048)
        sock.setblocking(False)
        return sock
    except OSError as exc:
        if sock is not None:
            sock.close()
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc)).lower()
        raise CannotListen(address, reason) from None


def _inherited(address: str, fd: int) -> socket.socket:
    try:
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise CannotListen(address, f"not an open socket ({(exc.strerror or str(exc)).lower()})") from None
    if sock.type != socket.SOCK_STREAM or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        sock.detach()
        raise CannotListen(address, "not a listening stream socket")
    sock.setblocking(False)
    return sock


def _unambiguous_framing(app):
    """Refuse requests framed both by Transfer-Encoding and by Content-Length.

    A request with both is how a body is made to mean one thing here and another to the
    next hop (request smuggling). RFC 9112, 6.1 lets a server refuse it, and asks it to
    close the connection after answering such a request in any case, so whatever follows
    on the connection is never read as a request of its own.
    """

    async def guarded(scope, receive, send):
        if scope["type"] == "http":
            names = {k for k, _ in scope["headers"]}
            if b"transfer-encoding" in names and b"content-length" in names:
                body = b"bad request: both Transfer-Encoding and Content-Length"
                await send({"type": "http.response.start", "status": 400, "headers": [
                    (b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


class _Server(uvicorn.Server):
    # Signals are handled once for all servers in `serve()`, not by each server.
    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _server(app, limits: Limits, log_level: str) -> _Server:
    protocol = type("Protocol", (LimitedProtocol,), {"header_timeout": limits.header_timeout, "max_header_bytes": limits.max_header_bytes})
    config = uvicorn.Config(
        _unambiguous_framing(app),
        http=protocol,
        lifespan="off",
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        # The gateway never reads the client address, so uvicorn need not rewrite it from
        # X-Forwarded-For on every request.
        proxy_headers=False,
        timeout_keep_alive=limits.keep_alive_timeout,
        # uvicorn counts the connection a request arrives on too: at most N served means N + 1 here.
        limit_concurrency=limits.concurrency + 1,
    )
    return _Server(config)


async def serve(
    apps: list[tuple[object, socket.socket]],
    background: list[Callable[[], Awaitable[None]]] = (),
    on_stop: list[Callable[[], Awaitable[None]]] = (),
    log_level: str = "warning",
    limits: Limits = Limits(),
) -> None:
    """Serve each app on its (already listening) socket until SIGINT or SIGTERM."""
    servers = [(_server(app, limits, log_level), sock) for app, sock in apps]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(fn()) for fn in background]
    serving = [asyncio.create_task(s.serve(sockets=[sock])) for s, sock in servers]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*serving, *tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for server, _ in servers:
        server.should_exit = True
    for task in tasks:
        task.cancel()
    await asyncio.gather(*serving, *tasks, return_exceptions=True)
    stopper.cancel()
    for fn in on_stop:
        await fn()
    for task in done:
        if task is not stopper and not task.cancelled() and task.exception():
            raise task.exception()
    if any(not s.started for s, _ in servers):
        raise SystemExit(1)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (it moves bytes with less Python per call)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Callable[[], Coroutine], workers: int = 1) -> int:
    """Run `main()` to completion in an event loop, in this process or in `workers` forked ones.

    Workers share the listening sockets bound before the fork, so the kernel hands each
    new connection to whichever worker accepts it first. Each worker runs everything
    `main` starts, its configuration source included: it loads and watches configuration
    on its own, and its admin address answers for itself. SIGINT and SIGTERM are passed
    on to every worker; the exit status is the first non-zero status of a worker.
    """
    if workers <= 1:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(main())
        return 0
    children = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            status = 1
            try:
                status = run(main)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 -- a worker's crash is reported, then the worker ends
                log.exception("worker %d failed", os.getpid())
            finally:
                sys.stderr.flush()
                os._exit(status)
        children.append(pid)

    def forward(sig, _frame):
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    status = 0
    remaining = set(children)
    while remaining:
        pid, code = os.wait()
        remaining.discard(pid)
        code = os.waitstatus_to_exitcode(code)
        if code != 0 and status == 0:
            status = code if code > 0 else 1
            forward(signal.SIGTERM, None)  # one worker failed: stop the others too
    return status
