"""An echo backend answering like go-httpbin, the sample app the docs install.

Only the endpoints the suite uses: /headers, /get, /anything and /status/{code}. Header
names are shown in Go's canonical form with every value in a list, as go-httpbin does.
"""

from __future__ import annotations

import json
import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def canonical(name: str) -> str:
    """Go's textproto.CanonicalMIMEHeaderKey: 'x-api-key' -> 'X-Api-Key'."""
    if not _TOKEN.match(name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def headers_of(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.scope["headers"]:
        name = canonical(key.decode("latin-1"))
        if name == "Transfer-Encoding":
            continue  # Go's server consumes it; handlers never see it
        out.setdefault(name, []).append(value.decode("latin-1"))
    return dict(sorted(out.items()))  # Go writes map keys in sorted order


def _json(body: dict, status: int = 200) -> Response:
    return Response(
        json.dumps(body, indent=2) + "\n",
        status_code=status,
        headers={"access-control-allow-credentials": "true", "access-control-allow-origin": "*"},
        media_type="application/json; encoding=utf-8",
    )


def _args(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return dict(sorted(out.items()))


def _url(request: Request) -> str:
    host = request.headers.get("host", "")
    query = request.scope["query_string"].decode("latin-1")
    return f"http://{host}{request.url.path}" + (f"?{query}" if query else "")


def _origin(request: Request) -> str:
    return request.client.host if request.client else ""


async def headers(request: Request) -> Response:
    return _json({"headers": headers_of(request)})


async def get(request: Request) -> Response:
    return _json({"args": _args(request), "headers": headers_of(request), "method": request.method, "origin": _origin(request), "url": _url(request)})


async def anything(request: Request) -> Response:
    body = await request.body()
    data = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body) if body else None
    except ValueError:
        parsed = None
    # Fields in go-httpbin's order.
    return _json(
        {
            "args": _args(request),
            "headers": headers_of(request),
            "method": request.method,
            "origin": _origin(request),
            "url": _url(request),
            "data": data,
            "files": {},
            "form": {},
            "json": parsed,
        }
    )


async def status(request: Request) -> Response:
    try:
        code = int(request.path_params["code"])
    except ValueError:
        return Response("invalid status code", status_code=400)
    if not 200 <= code <= 599:
        # An informational (1xx) code cannot be a final response over ASGI.
        return Response("invalid status code", status_code=400)
    return Response(b"", status_code=code, headers={"access-control-allow-credentials": "true", "access-control-allow-origin": "*"})


ANY = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/headers", headers),
            Route("/get", get, methods=["GET"]),
            Route("/anything", anything, methods=ANY),
            Route("/anything/{rest:path}", anything, methods=ANY),
            Route("/status/{code}", status, methods=ANY),
        ]
    )
