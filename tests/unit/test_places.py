"""Places: where a scenario puts the key, and how it reads, at the backend, whether the key arrived."""

import json

import pytest

from conformance.http import Request, Response
from conformance.places import PLACES

KEY = "k-3f9a-2b"


def echo(headers: dict | None = None, args: dict | None = None) -> Response:
    body = {"headers": headers or {}, "args": args or {}, "url": "http://www.example.com/anything"}
    return Response(200, (("content-type", "application/json"),), json.dumps(body).encode())


@pytest.mark.parametrize("words, arrived, other", [
    ("the Authorization header", echo({"Authorization": [f"Bearer {KEY}"]}), echo({"X-Authorization": [f"Bearer {KEY}"]})),
    ("the X-Api-Key header", echo({"X-Api-Key": [KEY]}), echo({"X-Api-Key-2": [KEY], "X-X-Api-Key": [KEY]})),
    ("the api_key query parameter", echo(args={"api_key": [KEY]}), echo(args={"api_key_2": [KEY], "API_KEY": [KEY]})),
    ("the session cookie", echo({"Cookie": [f"theme=dark; session={KEY}"]}), echo({"Cookie": [f"session2={KEY}; SESSION={KEY}"]})),
], ids=["header", "custom-header", "query", "cookie"])
def test_a_place_sees_the_key_where_it_was_put_and_nowhere_else(words, arrived, other):
    place = PLACES[words]
    assert place.carried(arrived, KEY) is True
    # The same key under another name is not this place: checking stripping there would be vacuous.
    assert place.carried(other, KEY) is False


@pytest.mark.parametrize("words", list(PLACES))
def test_a_place_puts_the_key_into_the_request(words):
    request = PLACES[words].present(Request(path="/anything"), KEY)
    assert KEY in request.path or any(KEY in v for _, v in request.headers)


def test_an_answer_that_is_not_httpbins_cannot_tell():
    not_httpbin = Response(200, (), b"hello")
    for place in PLACES.values():
        assert place.carried(not_httpbin, KEY) is None
