"""Key carriers: finding and removing the presented key (spec section 3 and 6), the
proxy-config form, and what a recorded request shows of each kind of location."""

import pytest

from agwmodel import carriers
from agwmodel.carriers import CARRIERS, Recorded, carrier
from agwmodel.model import DEFAULT_LOCATION, KeyLocation


def extract(location, headers, query):
    return carrier(location).read(headers, query)


def strip(location, headers, query):
    return carrier(location).remove(headers, query)

QUERY = KeyLocation("queryParameter", "api_key")
COOKIE = KeyLocation("cookie", "session")
CUSTOM = KeyLocation("header", "x-api-key", "")


@pytest.mark.parametrize(
    "value, key",
    [
        (b"Bearer k1", b"k1"),
        (b"bearer k1", b"k1"),
        (b"BEARER k1", b"k1"),
        (b"Bearer  k1", b" k1"),  # untrimmed
        (b"Bearer ", b""),
        (b"Basic dXNlcjpwYXNz", None),
        (b"k1", None),
        (b"Bearerk1", None),
        (b"Bearer", None),
        (b"Bearer k\xc3\xa9", None),  # not visible ASCII: no key
        (b"Bearer k\x01", None),
    ],
)
def test_default_location(value, key):
    assert extract(DEFAULT_LOCATION, [(b"authorization", value)], b"") == key


def test_no_header_is_missing_and_the_first_header_counts():
    assert extract(DEFAULT_LOCATION, [], b"") is None
    headers = [(b"authorization", b"Bearer first"), (b"authorization", b"Bearer second")]
    assert extract(DEFAULT_LOCATION, headers, b"") == b"first"


def test_custom_header_without_prefix_is_the_whole_value():
    assert extract(CUSTOM, [(b"x-api-key", b"Bearer k")], b"") == b"Bearer k"


@pytest.mark.parametrize(
    "query, key",
    [
        (b"api_key=k1", b"k1"),
        (b"a=1&api_key=k%2F1&api_key=k2", b"k/1"),
        (b"api_key=a+b", b"a b"),
        (b"API_KEY=k1", None),
        (b"other=1", None),
        (b"", None),
    ],
)
def test_query_parameter(query, key):
    assert extract(QUERY, [], query) == key


def test_cookie():
    headers = [(b"cookie", b"a=1; session=s3cr3t; b=2")]
    assert extract(COOKIE, headers, b"") == b"s3cr3t"
    assert extract(COOKIE, [(b"cookie", b"sessionx=1")], b"") is None


def test_strip_removes_every_value_of_the_header_only():
    headers = [(b"authorization", b"Bearer a"), (b"accept", b"*/*"), (b"authorization", b"Bearer b")]
    assert strip(DEFAULT_LOCATION, headers, b"q=1") == ([(b"accept", b"*/*")], b"q=1")


def test_strip_keeps_other_query_parameters_in_order():
    assert strip(QUERY, [], b"z=1&api_key=k&a=2&api_key=j&m=3")[1] == b"z=1&a=2&m=3"


def test_strip_keeps_other_cookies():
    headers = [(b"cookie", b"a=1; session=k; b=2"), (b"cookie", b"session=k")]
    assert strip(COOKIE, headers, b"")[0] == [(b"cookie", b"a=1; b=2")]


def test_every_location_of_the_manifest_has_its_carrier():
    assert list(CARRIERS) == ["header", "queryParameter", "cookie", "expression"]
    assert all(CARRIERS[word].word == word for word in CARRIERS)


@pytest.mark.parametrize("location, config", [
    (KeyLocation("header", "X-Auth", "Token "), {"header": {"name": "X-Auth", "prefix": "Token "}}),
    (KeyLocation("header", "X-Api-Key"), {"header": {"name": "X-Api-Key"}}),
    (QUERY, {"queryParameter": {"name": "api_key"}}),
    (COOKIE, {"cookie": {"name": "session"}}),
    (KeyLocation("expression", "request.headers['x-key']"), {"expression": "request.headers['x-key']"}),
])
def test_proxy_config_form(location, config):
    assert carrier(location).proxy_config() == config


def test_a_recorded_request_shows_names_and_hides_every_value_that_may_be_a_key():
    request = Recorded("/anything?api_key=k1&x=2", (("Accept", "*/*"), ("X-Token", "Bearer k2"), ("Cookie", "a=k3; session=k4")))
    shown = carriers.hide(request)
    assert shown.target == "/anything?api_key=<redacted, 2 bytes>&x=<redacted, 1 bytes>"
    assert shown.headers == (("Accept", "*/*"), ("X-Token", "<redacted, 9 bytes>"),
                             ("Cookie", "a=<redacted, 2 bytes>; session=<redacted, 2 bytes>"))
    assert {"k1", "k2", "Bearer k2", "k3", "k4"} <= set(carriers.exposed(request))
    assert "*/*" not in carriers.exposed(request)
