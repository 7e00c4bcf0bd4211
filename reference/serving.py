"""Running several ASGI apps and background tasks in one event loop, with clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable

import uvicorn


def parse_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


class _Server(uvicorn.Server):
    # Signals are handled once for all servers in `serve()`, not by each server.
    @contextlib.contextmanager
    def capture_signals(self):
        yield


def _server(app, address: str, log_level: str) -> _Server:
    host, port = parse_address(address)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        lifespan="off",
        log_level=log_level,
        access_log=False,
        server_header=False,
        date_header=False,
        timeout_keep_alive=30,
    )
    return _Server(config)


async def serve(
    apps: list[tuple[object, str]],
    background: list[Callable[[], Awaitable[None]]] = (),
    on_stop: list[Callable[[], Awaitable[None]]] = (),
    log_level: str = "warning",
) -> None:
    servers = [_server(app, address, log_level) for app, address in apps]
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(fn()) for fn in background]
    serving = [asyncio.create_task(s.serve()) for s in servers]
    stopper = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*serving, *tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for server in servers:
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
    if any(not s.started for s in servers):
        raise SystemExit(1)
