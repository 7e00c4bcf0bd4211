"""The table of the suite's options in docs/running.md, made from the options themselves.

`conformance.options.add` is called with a stand-in for pytest's parser that keeps what
each option says of itself (names, choices, help), so the table cannot leave an option out
or describe one that is gone. `python -m conformance.tables` writes it where a page asks
for it (`<!-- generated: options -->`), with the result tables.
"""

from __future__ import annotations

from . import options
from .targets import catalog


class _Recorder:
    """Takes the calls `options.add` makes on pytest's parser and its option groups."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict]] = []

    def getgroup(self, name: str, description: str = "") -> _Recorder:
        return self

    def addoption(self, *names: str, **attrs) -> None:
        self.options.append((names, attrs))


def recorded() -> list[tuple[tuple[str, ...], dict]]:
    recorder = _Recorder()
    options.add(recorder)
    return recorder.options


def _usage(names: tuple[str, ...], attrs: dict) -> str:
    if attrs.get("action") in ("store_true", "store_false"):
        return " ".join(names)
    # As `pytest --help` shows them: the choices, or the option's destination in capitals.
    value = "{" + ",".join(attrs["choices"]) + "}" if attrs.get("choices") else attrs.get("metavar") or \
        (attrs.get("dest") or names[-1].lstrip("-").replace("-", "_")).upper()
    return ", ".join(f"{n}={value}" for n in names)


def table() -> list[str]:
    """One row per option, in the order `pytest --help` lists them, with the targets that read it
    when not every target does (as they declare it: conformance/targets/catalog.py)."""
    lines = ["| option | what it does | only with |", "|---|---|---|"]
    for names, attrs in recorded():
        help_text = " ".join(str(attrs.get("help", "")).split()).replace("|", "\\|")
        only = ", ".join(k.selected_by for k in catalog.declared_by(catalog.Option(names)))
        lines.append(f"| `{_usage(names, attrs)}` | {help_text} | {only} |")
    return lines
