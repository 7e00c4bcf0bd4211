"""Hostile HTTP/1.1 clients, written byte for byte on raw sockets, and how to judge the answers.

Each case is a request no well-behaved client would send: a malformed request line,
invalid header bytes, a huge head, a pile of Authorization headers, a client too slow to
finish, or framing built to smuggle a second request past the gateway. None of them
presents a valid key the way the spec says a key is presented: where the valid key is
there at all, it sits behind an invalid first Authorization header, or in a header that is
malformed (a NUL, a space in the name, no colon). So behind a Strict policy every one must
be refused or dropped, and the judgement is the same for any gateway:

- never a 5xx;
- never a 2xx (a 2xx means the request was forwarded without a valid key);
- an answer, or for a client that never finishes, the connection cut within `slow_limit`.

Callers then check that the gateway still answers (401 without a key, 200 with it).
Smuggled requests go to a path with a marker and carry no key, so a test with its own
backend can also check that the backend never saw them.
"""

from __future__ import annotations

import concurrent.futures
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..waiting import TIMEOUTS

SMUGGLED_PATH = "/anything/smuggled-by-a-hostile-client"
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n")


@dataclass(frozen=True)
class Case:
    name: str
    group: str
    # The request bytes are built from the host and keys: (host, valid_key) -> bytes.
    build: Callable[[str, str], bytes]
    # Slow cases: sent, then the client goes silent, keeping the connection open.
    slow: bool = False
    # Bytes sent one at a time, with this many seconds between them (a trickle).
    trickle: float = 0.0


@dataclass
class Outcome:
    case: str
    group: str
    statuses: list[int] = field(default_factory=list)
    closed: bool = False  # the gateway ended the connection (FIN or reset)
    seconds: float = 0.0  # from the last byte sent until the connection ended (or we gave up)
    error: str = ""
    slow: bool = False

    def problems(self, slow_limit: float) -> list[str]:
        out = []
        if self.error:
            out.append(f"{self.case}: {self.error}")
        for status in self.statuses:
            if status >= 500:
                out.append(f"{self.case}: answered {status}")
            elif 200 <= status < 300:
                out.append(f"{self.case}: answered {status}, so it was forwarded without a valid key")
        if not self.closed and (self.slow or not self.statuses):
            # A kept-alive connection after an answer is fine; one that never ends without one is not.
            out.append(f"{self.case}: no answer, and the connection was still open {self.seconds:.1f} s later (limit {slow_limit:g} s)")
        return out


def _request(host: str, *lines: bytes, path: bytes = b"/headers", method: bytes = b"GET", body: bytes = b"") -> bytes:
    head = b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method, path, host.encode())
    return head + b"".join(line + b"\r\n" for line in lines) + b"\r\n" + body


def _smuggled(host: str) -> bytes:
    # The hidden request carries no key: if it is ever forwarded, authentication was skipped.
    return b"GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (SMUGGLED_PATH.encode(), host.encode())


def te_and_cl(te: bytes, cl_first: bool = False, key_line: bytes = b"Authorization: Bearer not-a-valid-key") -> Callable[[str, str], bytes]:
    """A request framed both ways (RFC 9112, 6.1), with a keyless request hidden in its body."""
    def build(host: str, key: str) -> bytes:
        body = b"0\r\n\r\n" + _smuggled(host)
        framing = [te, b"Content-Length: %d" % 5]
        if cl_first:
            framing.reverse()
        return _request(host, key_line, *framing, method=b"POST", path=b"/anything", body=body)

    return build


def cases() -> list[Case]:
    bad = b"Authorization: Bearer not-a-valid-key"
    out = [
        # Malformed request lines.
        Case("empty request line", "request line", lambda h, k: b"\r\n\r\n\r\n"),
        Case("method only", "request line", lambda h, k: b"GET\r\n\r\n"),
        Case("HTTP/0.9 style", "request line", lambda h, k: b"GET /headers\r\n\r\n"),
        Case("unknown version", "request line", lambda h, k: _request(h, bad).replace(b"HTTP/1.1", b"HTTP/9.9", 1)),
        Case("binary garbage", "request line", lambda h, k: bytes(range(256)) + b"\r\n\r\n"),
        Case("NUL in the path", "request line", lambda h, k: _request(h, bad, path=b"/head\x00ers")),
        Case("space in the path", "request line", lambda h, k: _request(h, bad, path=b"/head ers")),
        Case("invalid method token", "request line", lambda h, k: _request(h, bad, method=b"G(T")),
        Case("absolute-form to another host", "request line", lambda h, k: _request(h, bad, path=b"http://elsewhere.invalid/headers")),
        Case("path longer than the head limit", "request line", lambda h, k: _request(h, bad, path=b"/" + b"a" * 70_000)),
        # Invalid header bytes.
        Case("space in a header name", "header bytes", lambda h, k: _request(h, b"Author ization: Bearer " + k.encode())),
        Case("space before the colon", "header bytes", lambda h, k: _request(h, b"Authorization : Bearer " + k.encode())),
        Case("NUL in a header value", "header bytes", lambda h, k: _request(h, b"Authorization: Bearer " + k.encode() + b"\x00x")),
        Case("bare CR in a header value", "header bytes", lambda h, k: _request(h, b"Authorization: Bearer x\rX-Injected: " + k.encode())),
        Case("bare LF line endings", "header bytes", lambda h, k: _request(h, bad).replace(b"\r\n", b"\n")),
        Case("non-ASCII header name", "header bytes", lambda h, k: _request(h, b"Authoriz\xe9tion: Bearer " + k.encode())),
        Case("header without a colon", "header bytes", lambda h, k: _request(h, b"Authorization Bearer " + k.encode())),
        # A fold may be rejected or replaced by a space (RFC 9112, 5.2); either way this key is not valid.
        Case("obsolete line folding", "header bytes", lambda h, k: _request(h, b"Authorization: Bearer", b" not-a-valid-key")),
        Case("no Host header", "header bytes", lambda h, k: b"GET /headers HTTP/1.1\r\n" + bad + b"\r\n\r\n"),
        Case("two Host headers", "header bytes", lambda h, k: _request(h, b"Host: other.invalid", bad)),
        # Huge heads: answered 431 or 400, or cut off.
        Case("one 64 KiB header", "huge head", lambda h, k: _request(h, bad, b"X-Big: " + b"x" * 65_536)),
        Case("one 1 MiB Authorization value", "huge head", lambda h, k: _request(h, b"Authorization: Bearer " + b"k" * 1_048_576)),
        Case("2000 small headers", "huge head", lambda h, k: _request(h, bad, *(b"X-H%d: v" % i for i in range(2000)))),
        # Many Authorization headers: the first decides, so a valid key later must not count.
        Case("100 invalid Authorization headers", "many Authorization", lambda h, k: _request(h, *(b"Authorization: Bearer bad-%d" % i for i in range(100)))),
        Case("invalid first, valid second", "many Authorization", lambda h, k: _request(h, bad, b"Authorization: Bearer " + k.encode())),
        Case("99 invalid, then the valid key", "many Authorization", lambda h, k: _request(h, *([bad] * 99), b"Authorization: Bearer " + k.encode())),
        Case("wrong scheme first, valid second", "many Authorization", lambda h, k: _request(h, b"Authorization: Basic Zm9vOmJhcg==", b"Authorization: Bearer " + k.encode())),
        Case("empty first, valid second", "many Authorization", lambda h, k: _request(h, b"Authorization:", b"Authorization: Bearer " + k.encode())),
        # Request smuggling: Transfer-Encoding together with Content-Length, and friends.
        Case("TE chunked and CL", "smuggling", te_and_cl(b"Transfer-Encoding: chunked")),
        Case("CL and TE chunked", "smuggling", te_and_cl(b"Transfer-Encoding: chunked", cl_first=True)),
        Case("TE with odd spacing and CL", "smuggling", te_and_cl(b"Transfer-Encoding:  chunked ")),
        Case("TE xchunked and CL", "smuggling", te_and_cl(b"Transfer-Encoding: xchunked")),
        Case("TE chunked, identity and CL", "smuggling", te_and_cl(b"Transfer-Encoding: chunked, identity")),
        Case("TE space before colon and CL", "smuggling", te_and_cl(b"Transfer-Encoding : chunked")),
        Case("two different Content-Lengths", "smuggling",
             lambda h, k: _request(h, bad, b"Content-Length: 0", b"Content-Length: %d" % len(_smuggled(h)), method=b"POST", path=b"/anything", body=_smuggled(h))),
        Case("Content-Length list", "smuggling",
             lambda h, k: _request(h, bad, b"Content-Length: 0, %d" % len(_smuggled(h)), method=b"POST", path=b"/anything", body=_smuggled(h))),
        Case("negative Content-Length", "smuggling", lambda h, k: _request(h, bad, b"Content-Length: -1", method=b"POST", path=b"/anything", body=_smuggled(h))),
        Case("chunk size overflow", "smuggling",
             lambda h, k: _request(h, bad, b"Transfer-Encoding: chunked", method=b"POST", path=b"/anything", body=b"f" * 40 + b"\r\nx\r\n0\r\n\r\n")),
        Case("pipelined keyless request after a refused one", "smuggling", lambda h, k: _request(h, bad) + _smuggled(h)),
        # Slow clients: they never finish, and must be cut off.
        Case("connects and sends nothing", "slow client", lambda h, k: b"", slow=True),
        Case("half a request line", "slow client", lambda h, k: b"GET /hea", slow=True),
        Case("headers never end", "slow client", lambda h, k: _request(h, bad)[:-2], slow=True),
        Case("headers trickled a byte at a time", "slow client", lambda h, k: _request(h, bad) * 100, trickle=0.05),
        Case("body never arrives", "slow client", lambda h, k: _request(h, bad, b"Content-Length: 1000", method=b"POST", path=b"/anything"), slow=True),
    ]
    return out


def _read(sock: socket.socket, limit: float, quiet: float | None = None) -> tuple[bytes, bool, float]:
    """What the peer sends until it closes, `limit` seconds pass, or (with `quiet`) it has
    answered something and then sent nothing for `quiet` seconds: (data, closed, seconds)."""
    start = time.monotonic()
    data = b""
    while True:
        left = limit - (time.monotonic() - start)
        if quiet is not None and data:
            left = min(left, quiet)
        if left <= 0:
            return data, False, time.monotonic() - start
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False, time.monotonic() - start
        except OSError:  # reset by the peer: closed
            return data, True, time.monotonic() - start
        if not chunk:
            return data, True, time.monotonic() - start
        data += chunk


def statuses(data: bytes) -> list[int]:
    """The status codes of the responses in `data`, read one after another by their framing."""
    found, pos = [], 0
    while True:
        match = _STATUS.match(data, pos)
        head_end = data.find(b"\r\n\r\n", pos)
        if not match or head_end < 0:
            return found
        found.append(int(match.group(1)))
        head = data[pos:head_end]
        length = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
        if length:
            pos = head_end + 4 + int(length.group(1))
        elif re.search(rb"(?im)^transfer-encoding:.*chunked", head):
            end = data.find(b"\r\n0\r\n\r\n", head_end)
            if end < 0:
                return found
            pos = end + 7
        else:
            return found  # a body up to the end of the connection


def probe(address: str, case: Case, valid_key: str, host: str = "www.example.com", slow_limit: float = 15.0) -> Outcome:
    parts = urlsplit(address)
    outcome = Outcome(case.name, case.group, slow=case.slow or bool(case.trickle))
    payload = case.build(host, valid_key)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=TIMEOUTS.request) as sock:
            try:
                if case.trickle:
                    began = time.monotonic()
                    for i in range(len(payload)):
                        sock.sendall(payload[i : i + 1])
                        time.sleep(case.trickle)
                        if time.monotonic() - began > slow_limit:
                            break
                else:
                    sock.sendall(payload)
            except OSError:
                pass  # the gateway may close before it has read everything: that is its right
            # The client keeps its side open, as a real one would (a half-close may make a
            # server drop the request); a complete request gets 2 s of quiet after its answer.
            data, outcome.closed, outcome.seconds = _read(sock, slow_limit, None if outcome.slow else 2.0)
    except OSError as exc:
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.closed = True
        return outcome
    outcome.statuses = statuses(data)
    return outcome


def run(address: str, valid_key: str, host: str = "www.example.com", slow_limit: float = 15.0, workers: int = 8) -> list[Outcome]:
    """Every case against `address`, several at once; the outcomes in the order of `cases()`."""
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda c: probe(address, c, valid_key, host, slow_limit), cases()))


def summary(outcomes: list[Outcome], slow_limit: float) -> dict:
    problems = [p for o in outcomes for p in o.problems(slow_limit)]
    return {
        "inputs tried": len(outcomes),
        "responses": sum(len(o.statuses) for o in outcomes),
        "5xx": sum(1 for o in outcomes for s in o.statuses if s >= 500),
        "wrongly accepted": sum(1 for o in outcomes for s in o.statuses if 200 <= s < 300),
        "kept open after an answer": sum(1 for o in outcomes if not o.closed and o.statuses),
        "problems": problems,
    }
