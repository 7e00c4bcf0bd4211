"""A stand-in for the gateway's upstream client in tests that run the proxy in-process.

It answers every request with one canned response, so a test can look at what the
gateway decides without a backend at the endpoint addresses its manifests name.
"""

from __future__ import annotations


class CannedResponse:
    def __init__(self, status: int, body: bytes):
        self.status, self._body = status, body
        self.headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def body(self):
        yield self._body

    def aclose(self) -> None:
        pass


class CannedUpstream:
    def __init__(self, status: int = 200, body: bytes = b'{"headers": {}}'):
        self.status, self.body = status, body
        self.requests: list[tuple[str, int, bytes, bytes]] = []

    async def request(self, host, port, method, target, headers, body=None):
        self.requests.append((host, port, method, target))
        return CannedResponse(self.status, self.body)

    async def aclose(self) -> None:
        pass
