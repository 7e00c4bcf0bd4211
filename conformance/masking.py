"""Keys out of every output of a run, where the output is made.

pytest and pytest-bdd write a scenario several ways: the terminal (`-v`, `-rA`,
`--tb=long`), JUnit XML, cucumber JSON, pytest-bdd's Gherkin reporter, and the captured
output and logs they carry. All of them read one object, the test report that
`pytest_runtest_makereport` returns, and pytest-bdd's scenario record attached to it.
Masking that report once, as it is made (conformance/plugin.py), cleans every output at
once, with or without `--report-dir`, and under pytest-xdist before it leaves the worker.
Two outputs do not go through a report and are masked where they are written: log records
(the log file and live logs: `LogMask`, on every handler of the root logger), and the
traceback of an interrupted run (`--full-trace`: `hide_keys_of_interrupt`).

Every key learnt here is held as a `Key`, whose `repr` and `str` are the mask (as
starlette's `datastructures.Secret` hides its `repr`; `str` too, so an f-string or `%s`
does not reveal it either): a key that reaches a log or a traceback through one of them
shows redacted. Only `Key.reveal()` gives the value, where text must be searched for it.

What is masked: every key the scenario configured, generated or presented, and every key
its steps will use, read from the scenario's text before it runs (`foreseen`), so a step
that never ran because an earlier one failed, errored or was interrupted is masked as well.
This holds for every pytest-bdd scenario, the suite's own and those a user writes with its
steps. Secret and ConfigMap entries are read with the gateway's own key reader
(`agwmodel.entries`): a JSON entry's key is whatever member Go's decoder takes as `key`
(`"KEY"`, `"Key"`, ...).

Test names need no masking: an outline's examples are named by the values its title names,
never by a row (conformance/inventory.py), and no title names a key (tests check it).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
from collections.abc import Callable, Iterable

import pytest

from agwmodel.entries import InvalidEntry, go_trim, json_members, read_entry

from .pytest_bdd_gaps import record_of

# Objects whose entries hold keys (spec section 2).
KEY_STORES = ("Secret", "ConfigMap")
MASK = "<redacted>"
# Shorter values (an odd-credential scenario's "k") would mask unrelated text by chance.
SHORTEST = 4


class Key:
    """A key the suite learnt: compared and hashed by its value, shown only as the mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Key({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Key) and other._value == self._value

    def __hash__(self) -> int:
        return hash((Key, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)


def _plain(secret: Key | str) -> str:
    return secret.reveal() if isinstance(secret, Key) else secret


# --- the entries of a Secret or ConfigMap, and the keys they hold -----------------------

def store_entries(doc: dict) -> list[tuple[str, str]]:
    """Every entry of a Secret or ConfigMap as (name, text): `data` decoded (a Secret's
    base64), then `stringData`, which wins for a name in both, as the API server merges
    them (so `dict()` of it is what the API holds). A value that is not base64 is kept as
    written: it is no key to the gateway, but it is what the scenario wrote where one goes."""
    out: list[tuple[str, str]] = []
    for name, value in (doc.get("data") or {}).items():
        text = str(value)
        if doc.get("kind") == "Secret":
            try:
                # Go's decoder, and so the API server, skips line breaks in base64.
                text = base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pass
        out.append((str(name), text))
    out += [(str(name), str(value)) for name, value in (doc.get("stringData") or {}).items()]
    return out


def _members(value: str) -> list[tuple[str | None, str, object]] | None:
    trimmed = go_trim(value)
    if not trimmed.startswith("{"):
        return None
    try:
        return json_members(trimmed)
    except (ValueError, RecursionError):
        return None


def keys_in(stores: Iterable[dict], known: Iterable[str]) -> set[Key]:
    """Every key the Secrets and ConfigMaps `stores` hold, in every form a report may show it.

    An entry's value as stored and trimmed; the key the gateway reads from it; every string
    a JSON member that sets `key` holds (a later one wins for the gateway, but each was
    written); and for a `keyHash`, the plain key when it is among `known` (values the
    scenario generated or sent). Unknown hashes stay unknown: a hash is not a key.
    """
    by_digest = {hashlib.sha256(k.encode()).hexdigest(): k for k in known if k}
    keys: set[str] = set()
    for doc in stores:
        keys |= {str(v) for v in (doc.get("data") or {}).values()}  # a Secret's entries as written, base64
        for _, value in store_entries(doc):
            keys |= {value, value.strip(), go_trim(value)}
            try:
                keys.add(read_entry(value.encode(), from_config_map=False).key)
            except InvalidEntry:
                pass
            for field, _, member in _members(value) or ():
                if field == "key" and isinstance(member, str):
                    keys.add(member)
                elif field == "keyHash" and isinstance(member, str) and member.lower().startswith("sha256:"):
                    plain = by_digest.get(member[len("sha256:"):].lower())
                    if plain is not None:
                        keys.add(plain)
    return {Key(k) for k in keys if k}


def foresee(stores: Iterable[dict], generated: Iterable[str], words: Iterable[str]) -> set[Key]:
    """A scenario's keys, learnt from its text before it runs: what its Secrets and
    ConfigMaps hold, what it says it generated, and each other word of its steps whose
    SHA-256 is one of those stores' `keyHash` entries."""
    generated = [k for k in generated if k]
    return keys_in(stores, [*generated, *words]) | {Key(k) for k in generated}


def mask_entry(value: str) -> str:
    """An entry as a report shows it: a JSON entry keeps every member but those that set
    `key` (in document order, duplicates kept); anything else is replaced whole."""
    members = _members(value)
    if members is None:
        return MASK
    return "{" + ", ".join(f"{json.dumps(name)}: {json.dumps(MASK if field == 'key' else member)}"
                           for field, name, member in members) + "}"


def redact(text: str, secrets: Iterable[Key | str]) -> str:
    """`text` with each of `secrets` replaced by the mask, longest first (so a key that
    contains another is replaced whole)."""
    for secret in sorted({_plain(s) for s in secrets}, key=len, reverse=True):
        if len(secret.strip()) >= SHORTEST and secret in text:
            text = text.replace(secret, MASK)
    return text


# --- the test report --------------------------------------------------------------------

def mask_report(report: pytest.TestReport, redact: Callable[[str], str]) -> None:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (longrepr[0], longrepr[1], redact(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]
    report.user_properties = [(name, redact(value) if isinstance(value, str) else value) for name, value in report.user_properties]
    record = record_of(report)  # what pytest-bdd's cucumber JSON writes of the scenario
    if record is not None:
        record.rewrite_texts(redact)


# --- what is written without a report ----------------------------------------------------

class LogMask(logging.Filter):
    """Masks every log record a handler writes, with the redaction of the test running now.

    Log records reach the log file (`--log-file`) and live logging (`--log-cli-level`) as
    they are made, not through a test report; pytest-bdd itself logs step names at debug
    level. The filter is put on every handler of the root logger while a test runs.
    """

    def __init__(self) -> None:
        super().__init__("agw-conformance-mask")
        self.redact: Callable[[str], str] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redact is None:
            return True
        message = record.getMessage()
        masked = self.redact(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True

    def cover(self, handlers: Iterable[logging.Handler]) -> None:
        for handler in handlers:
            if self not in handler.filters:
                handler.addFilter(self)


def hide_keys_of_interrupt(excinfo: pytest.ExceptionInfo, redact: Callable[[str], str]) -> None:
    """Show the frames of an interrupted test that hold a key without their arguments and locals.

    With `--full-trace`, pytest prints the traceback of a Ctrl-C with every frame's
    arguments: the step being run, its docstring, its arguments. No report is made of an
    interrupted test, so this is the one place to mask it. A frame whose arguments or
    locals hold a key the test knows is shown in pytest's short style (its location and
    line of code only).
    """
    shown = []
    for entry in excinfo.traceback:
        try:
            values = [repr(entry.locals), *(v for v in entry.locals.values() if isinstance(v, str))]
            holds_key = any(redact(v) != v for v in values)
        except Exception:  # noqa: BLE001 -- a local whose repr fails: not shown, as if it held a key
            holds_key = True
        shown.append(entry.with_repr_style("short") if holds_key else entry)
    excinfo.traceback = type(excinfo.traceback)(shown)
