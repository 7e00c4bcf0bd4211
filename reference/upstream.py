"""The gateway's HTTP/1.1 client for backends: a keep-alive pool per endpoint, on asyncio.

Why not httpx: profiling the gateway under load showed most of its time in the general
client's per-request bookkeeping (scanning and polling every pooled connection, and an
async-library detection that retries a failing import on each request), not in moving
bytes. A gateway talks to a few endpoints, in HTTP/1.1 only, and needs little of that.

What it does:
- Request headers go out exactly as given (order, case and duplicates kept); only `Host`
  is added when the request has none, and `Transfer-Encoding: chunked` when it streams a
  body of unknown length.
- Responses are framed as RFC 9112 section 6.3 says; their bodies are streamed.
  Informational (1xx) responses before the final one are skipped.
- Idle connections are reused last-in first-out, so a burst's extra connections age out
  at the bottom of the stack. A connection the backend has closed is noticed by the event
  loop (end of file on its reader), so taking one costs no system call. A request without
  a body that fails on a reused connection before any response byte arrived is retried
  once on a new connection: the backend closed it while it sat idle.

Errors: `UpstreamTimeout` (connecting, or waiting for the response head, took too long)
and `UpstreamError` (anything else before the response head); errors while streaming the
body surface from `Response.body()` as `UpstreamError`.
"""

from __future__ import annotations

import asyncio
import collections
import re
from collections.abc import AsyncIterator

Headers = list[tuple[bytes, bytes]]

MAX_HEAD_BYTES = 128 * 1024
READ_TIMEOUT = 300.0  # seconds to wait for a response head, or for each body chunk
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,15}")
_NO_BODY_STATUS = {204, 304}
_READ_SIZE = 64 * 1024


class UpstreamError(Exception):
    pass


class UpstreamTimeout(UpstreamError):
    pass


def valid_target(target: bytes) -> bool:
    """Whether `target` can go on a request line: no space, control byte or DEL, and not empty."""
    return bool(target) and not any(b <= 0x20 or b == 0x7F for b in target)


class _Connection:
    __slots__ = ("reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer, self.reused = reader, writer, False

    def usable(self) -> bool:
        # A closed or half-closed idle connection has seen EOF (or stray bytes) by now.
        return not (self.writer.is_closing() or self.reader.at_eof() or len(self.reader._buffer))

    def close(self) -> None:
        self.writer.close()


class Response:
    """A response head, with its body to be read once with `body()`, then `aclose()`."""

    def __init__(self, pool: Upstream, key, conn: _Connection, status: int, headers: Headers, framing, keep_alive: bool, read_timeout: float):
        self.status, self.headers = status, headers
        self._pool, self._key, self._conn = pool, key, conn
        self._framing, self._keep_alive, self._read_timeout = framing, keep_alive, read_timeout
        self._complete = False

    async def body(self) -> AsyncIterator[bytes]:
        reader = self._conn.reader
        kind, length = self._framing
        try:
            if kind == "length":
                remaining = length
                while remaining:
                    chunk = await self._read(reader.read(min(remaining, _READ_SIZE)))
                    if not chunk:
                        raise UpstreamError("connection closed before the end of the body")
                    remaining -= len(chunk)
                    yield chunk
            elif kind == "chunked":
                while True:
                    line = await self._read(reader.readuntil(b"\n"))
                    size_text = line.split(b";", 1)[0].strip()
                    # Hex digits only: int() alone would also take "0x", "+" and "_".
                    if not _CHUNK_SIZE.fullmatch(size_text):
                        raise UpstreamError("bad chunk size")
                    size = int(size_text, 16)
                    if size == 0:
                        while (await self._read(reader.readuntil(b"\n"))).strip():
                            pass  # trailers are not forwarded
                        break
                    remaining = size
                    while remaining:
                        chunk = await self._read(reader.read(min(remaining, _READ_SIZE)))
                        if not chunk:
                            raise UpstreamError("connection closed inside a chunk")
                        remaining -= len(chunk)
                        yield chunk
                    if (await self._read(reader.readexactly(2))) != b"\r\n":
                        raise UpstreamError("chunk not followed by CRLF")
            elif kind == "close":
                while chunk := await self._read(reader.read(_READ_SIZE)):
                    yield chunk
            self._complete = True
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
            raise UpstreamError(f"reading the body: {type(exc).__name__}") from None

    async def _read(self, awaitable):
        try:
            async with asyncio.timeout(self._read_timeout):
                return await awaitable
        except TimeoutError:
            raise UpstreamTimeout("reading the body") from None

    def aclose(self) -> None:
        """Return the connection to the pool if the body was read to its end, else close it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._complete and self._keep_alive:
            self._pool._release(self._key, conn)
        else:
            conn.close()


class Upstream:
    """Keep-alive connections to backends, at most `max_idle` idle ones per endpoint."""

    def __init__(self, connect_timeout: float = 5.0, read_timeout: float = READ_TIMEOUT, max_idle: int = 128):
        self.connect_timeout, self.read_timeout, self.max_idle = connect_timeout, read_timeout, max_idle
        self._idle: dict[tuple[str, int], collections.deque[_Connection]] = {}

    async def aclose(self) -> None:
        for stack in self._idle.values():
            for conn in stack:
                conn.close()
        self._idle.clear()

    def _release(self, key, conn: _Connection) -> None:
        stack = self._idle.setdefault(key, collections.deque())
        conn.reused = True
        stack.append(conn)
        if len(stack) > self.max_idle:
            stack.popleft().close()

    def _take(self, key) -> _Connection | None:
        stack = self._idle.get(key)
        while stack:
            conn = stack.pop()
            if conn.usable():
                return conn
            conn.close()
        return None

    async def _connect(self, host: str, port: int) -> _Connection:
        try:
            async with asyncio.timeout(self.connect_timeout):
                reader, writer = await asyncio.open_connection(host, port, limit=MAX_HEAD_BYTES)
        except TimeoutError:
            raise UpstreamTimeout(f"connecting to {host}:{port}") from None
        except OSError as exc:
            raise UpstreamError(f"connecting to {host}:{port}: {exc.strerror or type(exc).__name__}") from None
        return _Connection(reader, writer)

    async def request(
        self, host: str, port: int, method: bytes, target: bytes, headers: Headers, body: AsyncIterator[bytes] | None = None
    ) -> Response:
        """Send a request and read the response head. `body` is None for a request without one."""
        key = (host, port)
        head, chunked = _request_head(method, target, headers, host, port, body is not None)
        conn = self._take(key)
        if conn is None:
            conn = await self._connect(host, port)
        try:
            return await self._exchange(key, conn, method, head, body, chunked)
        except _StaleConnection:
            # Only requests without a body get here: nothing of theirs was consumed.
            return await self._exchange(key, await self._connect(host, port), method, head, None, False)

    async def _exchange(self, key, conn: _Connection, method: bytes, head: bytes, body, chunked: bool) -> Response:
        try:
            conn.writer.write(head)
            if body is not None:
                await _send_body(conn.writer, body, chunked, self.read_timeout)
            status, headers, version_11 = await self._read_head(conn, body is None)
            framing = _framing(method, status, headers)
        except BaseException:
            conn.close()
            raise
        keep_alive = version_11 and framing[0] != "close" and not _has_token(headers, b"connection", b"close")
        response = Response(self, key, conn, status, headers, framing, keep_alive, self.read_timeout)
        response._complete = framing[0] == "none"
        return response

    async def _read_head(self, conn: _Connection, retryable: bool) -> tuple[int, Headers, bool]:
        reader = conn.reader
        while True:
            try:
                async with asyncio.timeout(self.read_timeout):
                    raw = await reader.readuntil(b"\r\n\r\n")
            except TimeoutError:
                raise UpstreamTimeout("waiting for the response head") from None
            except asyncio.IncompleteReadError as exc:
                if conn.reused and retryable and not exc.partial:
                    raise _StaleConnection() from None
                raise UpstreamError("connection closed before a response head") from None
            except asyncio.LimitOverrunError:
                raise UpstreamError("response head too large") from None
            except OSError as exc:
                if conn.reused and retryable:
                    raise _StaleConnection() from None
                raise UpstreamError(f"reading the response head: {type(exc).__name__}") from None
            status, headers, version_11 = _parse_head(raw)
            if 100 <= status < 200 and status != 101:
                continue  # an interim response: the final one follows
            return status, headers, version_11


class _StaleConnection(Exception):
    pass


def _request_head(method: bytes, target: bytes, headers: Headers, host: str, port: int, has_body: bool) -> tuple[bytes, bool]:
    """The request line and headers; and whether the body must be sent chunked."""
    lines = [method + b" " + target + b" HTTP/1.1"]
    has_host = has_length = False
    for name, value in headers:
        if name == b"host":
            has_host = True
        elif name == b"content-length":
            has_length = True
        lines.append(name + b": " + value)
    if not has_host:
        lines.insert(1, b"host: " + (f"{host}:{port}" if port != 80 else host).encode("ascii"))
    chunked = has_body and not has_length
    if chunked:
        lines.append(b"transfer-encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n", chunked


async def _send_body(writer: asyncio.StreamWriter, body: AsyncIterator[bytes], chunked: bool, timeout: float) -> None:
    async for chunk in body:
        if not chunk:
            continue
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
        await _drain(writer, timeout)
    if chunked:
        writer.write(b"0\r\n\r\n")
    await _drain(writer, timeout)


async def _drain(writer: asyncio.StreamWriter, timeout: float) -> None:
    try:
        async with asyncio.timeout(timeout):
            await writer.drain()
    except TimeoutError:
        raise UpstreamTimeout("sending the body") from None
    except OSError as exc:
        raise UpstreamError(f"sending the body: {type(exc).__name__}") from None


def _parse_head(raw: bytes) -> tuple[int, Headers, bool]:
    lines = raw[:-4].split(b"\r\n")
    status_line = lines[0].split(b" ", 2)
    if len(status_line) < 2 or not status_line[0].startswith(b"HTTP/1.") or not (len(status_line[1]) == 3 and status_line[1].isdigit()):
        raise UpstreamError("malformed status line")
    headers: Headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise UpstreamError("malformed response header")
        headers.append((name.lower(), value.strip(b" \t")))
    return int(status_line[1]), headers, status_line[0] == b"HTTP/1.1"


def _has_token(headers: Headers, name: bytes, token: bytes) -> bool:
    return any(token in (t.strip().lower() for t in v.split(b",")) for k, v in headers if k == name)


def _framing(method: bytes, status: int, headers: Headers) -> tuple[str, int]:
    """How the body is delimited: ("none"|"length"|"chunked"|"close", length)."""
    if method == b"HEAD" or status in _NO_BODY_STATUS or 100 <= status < 200:
        return "none", 0
    encodings = [t.strip().lower() for k, v in headers if k == b"transfer-encoding" for t in v.split(b",")]
    if encodings:
        if encodings[-1] == b"chunked":
            return "chunked", 0
        return "close", 0
    lengths = {v.strip() for k, v in headers if k == b"content-length"}
    if lengths:
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise UpstreamError("invalid content-length")
        length = int(next(iter(lengths)))
        return ("length", length) if length else ("none", 0)
    return "close", 0
