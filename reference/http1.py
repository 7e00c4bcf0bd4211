"""HTTP/1.1 towards the gateway's clients: uvicorn's httptools protocol (llhttp, a parser in
C), held to the client-side limits the gateway promises (`serving.Limits`).

The pure-Python parser (h11) took about 40% of the gateway's time per request; llhttp
parses the same head in a fraction of it. What h11 gave for free or what we had added to
it is kept here, in our words:

- a deadline for request heads: it starts when a connection opens, and again with the
  first byte of each further request, and ends when the request's headers are complete;
  a client that is too slow (or sends nothing) is disconnected. Between requests on a
  kept-alive connection, uvicorn's keep-alive timeout applies instead;
- a size limit for request heads: a larger head gets a 431 and the connection is closed
  (llhttp itself has no limit);
- a request answered before its body arrived (refused, say) closes the connection, so a
  client that never sends the body cannot hold it;
- what llhttp refuses (bad request lines, invalid header bytes, a request framed both by
  Transfer-Encoding and Content-Length) is a 400 and a closed connection.
"""

from __future__ import annotations

import asyncio
import logging
import re

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("agw-reference.serving")

_END_OF_HEAD = re.compile(rb"\n\r?\n")
_TOO_LARGE = b"request header fields too large"


class LimitedProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    max_header_bytes: int = 16384
    _timer: asyncio.TimerHandle | None = None
    _head = b""  # the current request head as received so far, while it is arriving
    _in_head = False  # a request has begun and its headers are not complete

    @property
    def _idle(self) -> bool:
        """No request is under way (being received or answered): the next byte begins one."""
        return not self._in_head and not self.pipeline and (self.cycle is None or self.cycle.response_complete)

    def connection_made(self, transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        watching = self._idle or self._in_head
        if watching:
            pending = self._head + data
            end = _END_OF_HEAD.search(pending)
            if (end.end() if end else len(pending)) > self.max_header_bytes:
                self._refuse_large_head()
                return
        super().data_received(data)
        if self.transport.is_closing():
            self._disarm()
            return
        self._head = (self._head + data) if watching and self._in_head else b""
        if self._in_head or self._idle:
            # Bytes arrived and no complete head came of them (blank lines before a request
            # line count too: they stop uvicorn's keep-alive timer).
            self._arm()
        else:
            self._disarm()

    # llhttp's callbacks, through uvicorn's
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.cycle is not None and self.cycle.more_body and not self.transport.is_closing():
            # Answered before the client sent its whole body: do not wait for it.
            self.transport.close()
            return
        if self._in_head:
            self._arm()  # a pipelined request has begun
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _refuse_large_head(self) -> None:
        self._disarm()
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(_TOO_LARGE), _TOO_LARGE)
        )
        self.transport.close()

    def _arm(self) -> None:
        if self._timer is None:
            self._timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _headers_too_slow(self) -> None:
        self._timer = None
        if (self._in_head or self._idle) and not self.transport.is_closing():
            log.debug("closing a connection whose request headers did not arrive within %g s", self.header_timeout)
            self.transport.close()
