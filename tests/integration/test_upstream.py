"""The gateway's upstream HTTP/1.1 client, against scripted servers on loopback sockets."""

from __future__ import annotations

import asyncio
import socket

import pytest

from reference.upstream import Upstream, UpstreamError, UpstreamTimeout, valid_target


class Backend:
    """A loopback server that records each request head (and body) and answers with `reply(head, body)`.

    `reply` returns the bytes to write, or None to close the connection without answering.
    """

    def __init__(self, reply):
        self.reply = reply
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0
        self.close_after = False
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        for writer in self._writers:
            writer.close()
        await self.server.wait_closed()
        await asyncio.sleep(0.01)  # the handlers see their connections end

    async def _handle(self, reader, writer):
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                body = await _read_request_body(reader, head)
                self.heads.append(head)
                self.bodies.append(body)
                out = self.reply(head, body)
                if out is None:
                    break
                writer.write(out)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


async def _read_request_body(reader, head: bytes) -> bytes:
    lower = head.lower()
    if b"\r\ncontent-length: " in lower:
        length = int(lower.split(b"\r\ncontent-length: ")[1].split(b"\r\n")[0])
        return await reader.readexactly(length)
    if b"\r\ntransfer-encoding: chunked" in lower:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return body
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    return b""


def ok(body: bytes = b"hello", extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def fetch(client: Upstream, port: int, method=b"GET", target=b"/x", headers=None, body=None):
    headers = [(b"host", b"svc")] if headers is None else headers
    response = await client.request("127.0.0.1", port, method, target, headers, body)
    try:
        data = b"".join([chunk async for chunk in response.body()])
    finally:
        response.aclose()
    return response.status, response.headers, data


def run(coro):
    return asyncio.run(coro)


def test_request_headers_go_out_as_given_in_order_with_duplicates():
    async def main():
        async with Backend(lambda h, b: ok()) as backend:
            client = Upstream()
            headers = [(b"host", b"svc"), (b"X-Mixed-Case", b"a"), (b"x-dup", b"1"), (b"x-dup", b"2"), (b"accept", b"*/*")]
            assert await fetch(client, backend.port, headers=headers, target=b"/p?q=1") == (
                200, [(b"content-length", b"5")], b"hello"
            )
            await client.aclose()
            return backend.heads[0]

    assert run(main()) == b"GET /p?q=1 HTTP/1.1\r\nhost: svc\r\nX-Mixed-Case: a\r\nx-dup: 1\r\nx-dup: 2\r\naccept: */*\r\n\r\n"


def test_a_host_header_is_added_only_when_missing():
    async def main():
        async with Backend(lambda h, b: ok()) as backend:
            client = Upstream()
            await fetch(client, backend.port, headers=[])
            await client.aclose()
            return backend.heads[0], backend.port

    head, port = run(main())
    assert head == b"GET /x HTTP/1.1\r\nhost: 127.0.0.1:%d\r\n\r\n" % port


def test_response_header_names_are_lowercased_values_and_duplicates_kept():
    reply = b"HTTP/1.1 201 Created\r\nX-A: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"

    async def main():
        async with Backend(lambda h, b: reply) as backend:
            client = Upstream()
            result = await fetch(client, backend.port)
            await client.aclose()
            return result

    assert run(main()) == (201, [(b"x-a", b"1"), (b"set-cookie", b"a=1"), (b"set-cookie", b"b=2"), (b"content-length", b"0")], b"")


def test_keep_alive_connections_are_reused_and_connection_close_is_honoured():
    replies = iter([ok(), ok(), ok(extra=b"connection: close\r\n"), ok()])

    async def main():
        async with Backend(lambda h, b: next(replies)) as backend:
            client = Upstream()
            for _ in range(2):
                await fetch(client, backend.port)
            reused = backend.connections
            await fetch(client, backend.port)  # answered with connection: close
            await fetch(client, backend.port)
            await client.aclose()
            return reused, backend.connections

    assert run(main()) == (1, 2)


def test_chunked_and_close_delimited_bodies_are_read_whole():
    chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n"

    async def main():
        client = Upstream()
        async with Backend(lambda h, b: chunked) as backend:
            first = await fetch(client, backend.port)
            second = await fetch(client, backend.port)  # same connection: framing left it clean
            connections = backend.connections
        if True:
            # An HTTP/1.0 style answer: no length, the body ends when the connection does.
            async def once(reader, writer):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil close")
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(once, "127.0.0.1", 0)
            third = await fetch(client, server.sockets[0].getsockname()[1])
            server.close()
        await client.aclose()
        return first[2], second[2], connections, third[2]

    assert run(main()) == (b"hello world", b"hello world", 1, b"until close")


def test_interim_responses_are_skipped():
    async def main():
        async with Backend(lambda h, b: b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final")) as backend:
            client = Upstream()
            result = await fetch(client, backend.port, method=b"POST", headers=[(b"host", b"svc"), (b"content-length", b"2")],
                                 body=_chunks(b"hi"))
            await client.aclose()
            return result[0], result[2], backend.bodies

    assert run(main()) == (200, b"final", [b"hi"])


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


def test_a_body_of_unknown_length_is_sent_chunked():
    async def main():
        async with Backend(lambda h, b: ok()) as backend:
            client = Upstream()
            await fetch(client, backend.port, method=b"POST", body=_chunks(b"ab", b"", b"cde"))
            await client.aclose()
            return backend.heads[0], backend.bodies[0]

    head, body = run(main())
    assert head == b"POST /x HTTP/1.1\r\nhost: svc\r\ntransfer-encoding: chunked\r\n\r\n"
    assert body == b"abcde"


def test_head_and_204_responses_have_no_body_and_keep_the_connection():
    replies = iter([b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n", b"HTTP/1.1 204 No Content\r\n\r\n", ok()])

    async def main():
        async with Backend(lambda h, b: next(replies)) as backend:
            client = Upstream()
            head = await fetch(client, backend.port, method=b"HEAD")
            empty = await fetch(client, backend.port)
            last = await fetch(client, backend.port)
            await client.aclose()
            return head[2], empty[0], last[2], backend.connections

    assert run(main()) == (b"", 204, b"hello", 1)


def test_a_connection_the_backend_closed_while_idle_is_replaced():
    async def main():
        async with Backend(lambda h, b: ok()) as backend:
            backend.close_after = True  # as a backend's keep-alive timeout would, right after answering
            client = Upstream()
            await fetch(client, backend.port)
            await asyncio.sleep(0.05)  # the event loop sees the end of file on the idle connection
            result = await fetch(client, backend.port)
            await client.aclose()
            return result[2], backend.connections, len(backend.heads)

    assert run(main()) == (b"hello", 2, 2)


def test_a_request_without_body_is_retried_once_when_a_reused_connection_was_closed_unseen():
    """The backend closes right after answering; we send on that connection before noticing."""
    answered = []

    def reply(head, body):
        answered.append(head)
        return ok() if len(answered) != 2 else None  # the second request finds the connection closing

    async def main():
        async with Backend(reply) as backend:
            client = Upstream()
            await fetch(client, backend.port)
            result = await fetch(client, backend.port)
            await client.aclose()
            return result, backend.connections

    (status, _, body), connections = run(main())
    assert (status, body, connections) == (200, b"hello", 2)


def test_a_refused_connection_is_an_upstream_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused

        async def main():
            await Upstream().request("127.0.0.1", port, b"GET", b"/", [])

        with pytest.raises(UpstreamError) as caught:
            run(main())
    assert not isinstance(caught.value, UpstreamTimeout)


def test_a_backend_that_never_answers_is_a_timeout():
    async def main():
        async with Backend(lambda h, b: b"") as backend:
            await Upstream(read_timeout=0.2).request("127.0.0.1", backend.port, b"GET", b"/", [(b"host", b"svc")])

    with pytest.raises(UpstreamTimeout):
        run(main())


def test_a_body_cut_short_is_an_error_and_the_connection_is_not_reused():
    async def main():
        if True:
            async def short(reader, writer):
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
                await writer.drain()
                writer.close()

            server = await asyncio.start_server(short, "127.0.0.1", 0)
            client = Upstream()
            with pytest.raises(UpstreamError):
                await fetch(client, server.sockets[0].getsockname()[1])
            server.close()
            return client._idle

    assert all(not stack for stack in run(main()).values())


@pytest.mark.parametrize("size", [b"0x5", b"+5", b"5_0", b"", b"-1"])
def test_chunk_sizes_other_than_hex_digits_are_errors(size):
    reply = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n" + size + b"\r\nhello\r\n0\r\n\r\n"

    async def main():
        async with Backend(lambda h, b: reply) as backend:
            client = Upstream()
            with pytest.raises(UpstreamError):
                await fetch(client, backend.port)
            await client.aclose()

    run(main())


@pytest.mark.parametrize("reply", [b"HTTP/1.1 2000 OK\r\n\r\n", b"SPDY 200\r\n\r\n", b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
                                   b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n"])
def test_malformed_response_heads_are_upstream_errors(reply):
    async def main():
        async with Backend(lambda h, b: reply) as backend:
            await Upstream().request("127.0.0.1", backend.port, b"GET", b"/", [(b"host", b"svc")])

    with pytest.raises(UpstreamError):
        run(main())


def test_idle_connections_are_capped_and_reused_last_in_first_out():
    async def main():
        async with Backend(lambda h, b: ok()) as backend:
            client = Upstream(max_idle=2)
            responses = [await client.request("127.0.0.1", backend.port, b"GET", b"/", [(b"host", b"svc")]) for _ in range(3)]
            for response in responses:
                async for _ in response.body():
                    pass
                response.aclose()
            stack = client._idle[("127.0.0.1", backend.port)]
            kept = list(stack)
            taken = client._take(("127.0.0.1", backend.port))
            taken.close()
            await client.aclose()
            return len(kept), taken is kept[-1]

    # Three connections were open at once; two stay idle, and the last returned is taken first.
    assert run(main()) == (2, True)


@pytest.mark.parametrize("target,valid", [(b"/a?b=c", True), (b"*", True), (b"", False), (b"/a b", False), (b"/a\x00", False),
                                          (b"/a\x7f", False), (b"/a\r\nx: y", False)])
def test_valid_target(target, valid):
    assert valid_target(target) is valid
