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


def test_a_change_that_never_came_is_named_as_such():
    """A gateway slower than the timeout never shows what the step waits for: the message
    says that the change never took effect within the timeout, and which timeout."""
    send, _ = sender(NO)
    with pytest.raises(NotConverged) as info:
        converge(send, Request(), is_ok, Rule(threshold=3, timeout=0.3, interval=0.01), "a 200")
    first = str(info.value).splitlines()[0]
    assert "within 0.3 s (the convergence timeout), and not one of" in first
    assert "attempts matched (misses: 401 x" in first
    assert "never took effect within the timeout" in first


def test_a_gateway_answering_both_ways_is_told_apart_from_one_that_never_changed():
    flip = itertools.cycle([OK, NO])
    with pytest.raises(NotConverged) as info:
        converge(lambda r: next(flip), Request(), is_ok, Rule(threshold=2, timeout=0.3, interval=0.0), "a 200")
    first = str(info.value).splitlines()[0]
    assert "attempts matched, never 2 in a row" in first and "answered both ways" in first
    assert "not one of" not in first


def test_gives_up_at_the_timeout():
    send, _ = sender(NO)
    start = time.monotonic()
    with pytest.raises(NotConverged):
        converge(send, Request(), is_ok, Rule(threshold=3, timeout=0.5, interval=0.05), "200")
    assert 0.45 <= time.monotonic() - start < 3


def timed_sender(*responses: Response):
    """Like `sender`, recording when each call came."""
    send, _ = sender(*responses)
    times = []

    def timed(request: Request) -> Response:
        times.append(time.monotonic())
        return send(request)

    return timed, times


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_matches_are_an_interval_apart_by_default():
    send, times = timed_sender(OK)
    converge(send, Request(), is_ok, Rule(threshold=3, timeout=5, interval=0.05), "200")
    assert len(times) == 3 and all(gap >= 0.05 for gap in gaps(times))


def test_unspaced_matches_come_back_to_back_and_a_miss_still_waits():
    """Where the target confirmed its change, the Gateway API suite's own timing: no pause
    after a match, the interval after a miss; a miss still resets the count."""
    send, times = timed_sender(NO, OK, NO, OK, OK, OK)
    rule = Rule(threshold=3, timeout=5, interval=0.2, spaced=False)
    assert len(converge(send, Request(), is_ok, rule, "200")) == 3
    after = gaps(times)  # after: a miss, a match, a miss, a match, a match
    assert len(times) == 6
    assert after[0] >= 0.2 and after[2] >= 0.2, after
    assert after[1] < 0.1 and after[3] < 0.1 and after[4] < 0.1, after
