"""Keys the masking learns are held as `Key`: shown redacted however they reach text."""

import logging

from conformance import masking

KEY = "k-7c1e-secret"
SECRET = {"kind": "Secret", "stringData": {"a": KEY, "b": '{"key": "k-json-member", "metadata": {"team": "x"}}'}}


def test_learned_keys_are_keys_whose_repr_and_str_are_redacted():
    learned = masking.keys_in([SECRET], [])
    assert learned and all(isinstance(k, masking.Key) for k in learned)
    assert {k.reveal() for k in learned} >= {KEY, "k-json-member"}
    for text in (repr(learned), str(learned), f"{sorted(learned, key=id)}", "%s %r" % (next(iter(learned)), next(iter(learned)))):
        assert KEY not in text and "k-json-member" not in text


def test_a_key_logged_through_repr_shows_redacted(caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("keys: %r, one: %s", masking.foresee([SECRET], [], []), masking.Key(KEY))
    assert KEY not in caplog.text and masking.MASK in caplog.text


def test_redaction_takes_keys_and_plain_text_alike():
    assert masking.redact(f"a {KEY} b k-plain-one", {masking.Key(KEY), "k-plain-one"}) == f"a {masking.MASK} b {masking.MASK}"
