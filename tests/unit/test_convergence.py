"""The convergence rule: a run of consecutive matches within the time budget, misses reset."""

import itertools
import time

import pytest

from conformance.convergence import NotConverged, Rule, converge
from conformance.http import Request, Response

OK, NO = Response(200, (), b""), Response(401, (), b"")


def sender(*responses: Response):
    """Answers in the given order, then repeats the last one forever; counts the calls."""
    calls = []

    def send(request: Request) -> Response:
        calls.append(request)
        return responses[min(len(calls) - 1, len(responses) - 1)]

    return send, calls


def is_ok(response: Response) -> str | None:
    return None if response.status == 200 else f"status {response.status}"


FAST = Rule(threshold=3, timeout=2.0, interval=0.0)


def test_returns_after_threshold_matches_in_a_row():
    send, calls = sender(OK)
    assert len(converge(send, Request(), is_ok, FAST, "200")) == 3
    assert len(calls) == 3


def test_one_match_is_not_enough():
    send, calls = sender(OK, NO, OK, OK, NO, OK, OK, OK)
    converge(send, Request(), is_ok, FAST, "200")
    assert len(calls) == 8, "a miss must reset the count of matches"


def test_never_matching_raises_with_what_came_back():
    send, _ = sender(NO)
    with pytest.raises(NotConverged) as info:
        converge(send, Request(), is_ok, Rule(threshold=3, timeout=0.3, interval=0.01), "a 200")
    message = str(info.value)
    assert "expected a 200, 3 times in a row" in message and "401 x" in message


def test_alternating_answers_never_converge():
    flip = itertools.cycle([OK, NO])
    with pytest.raises(NotConverged):
        converge(lambda r: next(flip), Request(), is_ok, Rule(threshold=2, timeout=0.3, interval=0.0), "200")


def test_gives_up_at_the_timeout():
    send, _ = sender(NO)
    start = time.monotonic()
    with pytest.raises(NotConverged):
        converge(send, Request(), is_ok, Rule(threshold=3, timeout=0.5, interval=0.05), "200")
    assert 0.45 <= time.monotonic() - start < 3
