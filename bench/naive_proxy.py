"""The naive proxy the reference gateway is compared with: starlette + httpx.AsyncClient.

It is what one writes first: no authentication, one shared AsyncClient, each request read
whole and answered whole. It exists only as the benchmark's baseline.

    python -m bench.naive_proxy --listen 127.0.0.1:8081 --upstream http://127.0.0.1:8080
"""

from __future__ import annotations

import argparse

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length"}


def create_app(upstream: str) -> Starlette:
    client = httpx.AsyncClient(base_url=upstream, timeout=30)

    async def forward(request: Request) -> Response:
        answer = await client.request(
            request.method,
            request.url.path,
            params=request.query_params,
            headers=[(k, v) for k, v in request.headers.items() if k not in HOP_BY_HOP],
            content=await request.body(),
        )
        headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(answer.content, answer.status_code, headers=headers)

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT")
    parser.add_argument("--upstream", required=True, help="base URL of the backend")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    # uvicorn's defaults: its fastest event loop and HTTP parser among those installed.
    uvicorn.run(create_app(args.upstream), host=host, port=int(port), log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
