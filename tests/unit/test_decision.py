"""The decision table (spec section 4) and key entries (section 2)."""

import hashlib
import json

import pytest

from reference.decision import INVALID, MISSING, decide
from reference.keys import InvalidEntry, KeySet, parse_entry

KEYS = KeySet.merge([parse_entry(b"good")])
ALLOW = ("allow", False)
ALLOW_STRIP = ("allow", True)


@pytest.mark.parametrize(
    "mode, presented, expected",
    [
        ("Strict", None, MISSING),
        ("Strict", b"bad", INVALID),
        ("Strict", b"good", ALLOW_STRIP),
        ("Optional", None, ALLOW),
        ("Optional", b"bad", INVALID),
        ("Optional", b"good", ALLOW_STRIP),
        ("Permissive", None, ALLOW),
        ("Permissive", b"bad", ALLOW),
        ("Permissive", b"good", ALLOW_STRIP),
    ],
)
def test_decision_table(mode, presented, expected):
    decision = decide(mode, presented, KEYS)
    if isinstance(expected, str):
        assert not decision.allowed and decision.reason == expected
    else:
        assert decision.allowed and decision.strip is expected[1]


@pytest.mark.parametrize("mode, allowed_missing, allowed_invalid", [("Strict", False, False), ("Optional", True, False), ("Permissive", True, True)])
def test_zero_keys(mode, allowed_missing, allowed_invalid):
    empty = KeySet()
    assert decide(mode, None, empty).allowed is allowed_missing
    assert decide(mode, b"anything", empty).allowed is allowed_invalid


def test_keys_are_compared_exactly_and_untrimmed():
    keys = KeySet.merge([parse_entry(b"key\n")])
    assert keys.lookup(b"key") is None
    assert keys.lookup(b"key\n") is not None
    assert KEYS.lookup(b"GOOD") is None


def test_json_entries():
    digest = hashlib.sha256(b"hashed").hexdigest().upper()
    keys = KeySet.merge(
        [
            parse_entry(json.dumps({"key": "plain", "metadata": {"team": "a"}, "extra": 1}).encode()),
            parse_entry(json.dumps({"keyHash": f"sha256:{digest}"}).encode()),
        ]
    )
    assert keys.lookup(b"plain").metadata == {"team": "a"}
    assert keys.lookup(b"hashed") is not None
    assert keys.lookup(f"sha256:{digest}".encode()) is None


@pytest.mark.parametrize(
    "value, reason",
    [
        (b"", "empty"),
        (b'{"key": "a", "keyHash": "sha256:' + b"0" * 64 + b'"}', "exactly one"),
        (b"{}", "exactly one"),
        (b'{"keyHash": "sha256:abc"}', "keyHash"),
        (b'{"keyHash": "md5:' + b"0" * 64 + b'"}', "keyHash"),
        (b"{not json", "JSON"),
        (b'{"key": "a", "metadata": "x"}', "metadata"),
        (b"   \n", "empty"),  # only whitespace: empty once trimmed, as the controller reads it
        (b'{"key": 5}', "string"),
        (b'{"key": "", "keyHash": ""}', "exactly one"),
    ],
)
def test_invalid_entries(value, reason):
    with pytest.raises(InvalidEntry, match=reason):
        parse_entry(value)


@pytest.mark.parametrize("value", [
    b'{"KEY": "go-reads-names-without-case"}',  # Go's JSON decoder matches field names case-insensitively
    b'{"key": "go-reads-names-without-case", "keyHash": ""}',  # an empty keyHash is unset
    b'{"key": "go-reads-names-without-case", "keyHash": null, "metadata": null}',  # so is null
    b'{"key": "other", "Key": "go-reads-names-without-case"}',  # the last matching name wins
])
def test_json_entries_are_read_as_the_controller_reads_them(value):
    # agentgateway v1.4.1, controller/pkg/agentgateway/plugins/traffic_plugin.go:
    # json.Unmarshal into APIKeyEntry, then "exactly one of key or keyHash" on non-empty values.
    keys = KeySet.merge([parse_entry(value)])
    assert keys.lookup(b"go-reads-names-without-case") is not None


def test_config_map_entries_must_be_hashed():
    with pytest.raises(InvalidEntry, match="must use keyHash"):
        parse_entry(b"raw", hashed_only=True)
    with pytest.raises(InvalidEntry, match="must use keyHash"):
        parse_entry(b'{"key": "raw"}', hashed_only=True)
    assert parse_entry(b'{"keyHash": "sha256:' + b"a" * 64 + b'"}', hashed_only=True)
