"""The table of the suite's options in docs/running.md, made from the options themselves.

`conformance.options.add` is called with a stand-in for pytest's parser that keeps what
each option says of itself (names, choices, help), so the table cannot leave an option out
or describe one that is gone. `python -m conformance.tables` writes it where a page asks
for it (`<!-- generated: options -->`), with the result tables.
"""

from __future__ import annotations

from . import options


class _Recorder:
    """Takes the calls `options.add` makes on pytest's parser and its option group."""

    def __init__(self) -> None:
        self.options: list[tuple[tuple[str, ...], dict]] = []
        self.groups: list[str] = []  # the group of each option, as `pytest --help` titles it

    def getgroup(self, name: str, description: str = "") -> _Group:
        return _Group(self, description)


class _Group:
    def __init__(self, recorder: _Recorder, description: str) -> None:
        self.recorder, self.description = recorder, description

    def addoption(self, *names: str, **attrs) -> None:
        self.recorder.options.append((names, attrs))
        self.recorder.groups.append(self.description)


def _record() -> _Recorder:
    recorder = _Recorder()
    options.add(recorder)
    return recorder


def recorded() -> list[tuple[tuple[str, ...], dict]]:
    return _record().options


def _usage(names: tuple[str, ...], attrs: dict) -> str:
    if attrs.get("action") in ("store_true", "store_false"):
        return " ".join(names)
    # As `pytest --help` shows them: the choices, or the option's destination in capitals.
    value = "{" + ",".join(attrs["choices"]) + "}" if attrs.get("choices") else attrs.get("metavar") or \
        (attrs.get("dest") or names[-1].lstrip("-").replace("-", "_")).upper()
    return ", ".join(f"{n}={value}" for n in names)


def table() -> list[str]:
    """One row per option, in the order `pytest --help` lists them, with the targets it applies to."""
    lines = ["| option | what it does | only with |", "|---|---|---|"]
    recorder = _record()
    for (names, attrs), group in zip(recorder.options, recorder.groups):
        help_text = " ".join(str(attrs.get("help", "")).split()).replace("|", "\\|")
        only = group.partition(", only with ")[2]
        lines.append(f"| `{_usage(names, attrs)}` | {help_text} | {only} |")
    return lines
