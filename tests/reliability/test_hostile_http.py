"""Hostile HTTP over raw sockets against the reference gateway (the cases are in
`conformance.reliability.hostile`, shared with the opt-in vendor run).

Behind a Strict policy, none of the requests carries a valid key where the gateway looks
for one, so the backend, which records everything that reaches it, must see nothing at
all: not the outer requests, and not the requests smuggled inside them.
"""

from __future__ import annotations

import pytest
from helpers import RULE, secret, status, strict_policy

from conformance import Request, converge
from conformance.reliability import hostile

from .parts import HOST, Backend, leaks, log_texts, route_to, verbose_gateway

KEY = "hostile-valid-key-7c1d9e"
HEADER_TIMEOUT = 2.0
SLOW_LIMIT = HEADER_TIMEOUT + 8  # the header timeout, and time for a loaded machine to act on it


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = Backend()
    workdir = tmp_path_factory.mktemp("hostile")
    try:
        with verbose_gateway(workdir, "--header-timeout", str(HEADER_TIMEOUT)) as gateway:
            gateway.apply(route_to(backend.port))
            gateway.apply(secret({"api-key": KEY}))
            gateway.apply(strict_policy())
            yield gateway, backend, workdir
    finally:
        backend.close()


def test_hostile_requests_are_refused_or_dropped_and_never_reach_the_backend(setup, capsys):
    gateway, backend, workdir = setup
    plain = Request(host=HOST, path="/anything")
    converge(gateway.send, plain, status(401), RULE, "401 without a key")
    converge(gateway.send, plain.with_header("Authorization", f"Bearer {KEY}"), status(200), RULE, "200 with the key")
    backend.clear()

    outcomes = hostile.run(gateway.gateway_url, KEY, host=HOST, slow_limit=SLOW_LIMIT)
    figures = hostile.summary(outcomes, SLOW_LIMIT)
    with capsys.disabled():
        print(f"\nhostile HTTP: {figures['inputs tried']} inputs, {figures['responses']} responses, "
              f"{figures['5xx']} 5xx, {figures['wrongly accepted']} wrongly accepted, {figures['kept open after an answer']} kept open after an answer")

    forwarded = backend.seen
    assert not forwarded, f"the backend saw {len(forwarded)} request(s) without a valid key: {[r['method'] + ' ' + r['path'] for r in forwarded]}"
    assert figures["problems"] == [], "\n".join(figures["problems"])
    assert gateway.programs[-1].running, gateway.programs[-1].tail()
    # Still serving, and still authenticating, after all of that.
    converge(gateway.send, plain, status(401), RULE, "401 without a key after the hostile clients")
    converge(gateway.send, plain.with_header("Authorization", f"Bearer {KEY}"), status(200), RULE, "200 with the key after the hostile clients")
    assert leaks(log_texts(workdir), {KEY}) == []


@pytest.mark.parametrize("case", ["one 64 KiB header", "2000 small headers", "path longer than the head limit"])
def test_huge_heads_are_answered_431_or_400(setup, case):
    gateway, _, _ = setup
    [chosen] = [c for c in hostile.cases() if c.name == case]
    outcome = hostile.probe(gateway.gateway_url, chosen, KEY, host=HOST, slow_limit=SLOW_LIMIT)
    assert outcome.statuses and outcome.statuses[0] in (400, 431), outcome


def test_a_valid_key_behind_an_invalid_first_header_is_refused(setup):
    gateway, _, _ = setup
    for name in ("invalid first, valid second", "99 invalid, then the valid key", "wrong scheme first, valid second"):
        [chosen] = [c for c in hostile.cases() if c.name == name]
        outcome = hostile.probe(gateway.gateway_url, chosen, KEY, host=HOST, slow_limit=SLOW_LIMIT)
        # Strict: an invalid first value is 401; a wrong scheme first is a missing key, 401 too.
        assert outcome.statuses == [401], (name, outcome)


def test_ambiguous_framing_is_refused_even_with_a_valid_key(setup):
    # Forwarding such a request would hand the backend a Content-Length that does not
    # match the body (the smuggled request would follow it); the reference refuses it.
    gateway, backend, _ = setup
    backend.clear()
    build = hostile.te_and_cl(b"Transfer-Encoding: chunked", key_line=b"Authorization: Bearer " + KEY.encode())
    case = hostile.Case("TE chunked and CL, valid key", "smuggling", build)
    outcome = hostile.probe(gateway.gateway_url, case, KEY, host=HOST, slow_limit=SLOW_LIMIT)
    assert outcome.statuses == [400] and outcome.closed, outcome
    assert backend.seen == []


def test_the_judgement_catches_a_forwarded_request():
    # The verdict must be able to fail: a 200 and a 500 are both problems, an open connection too.
    outcome = hostile.Outcome("made up", "any", statuses=[200, 500], closed=False, seconds=3, slow=True)
    assert len(outcome.problems(1.0)) == 3
    assert hostile.statuses(b"HTTP/1.1 401 X\r\ncontent-length: 2\r\n\r\nabHTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n") == [401, 200]
