"""The reference gateway, taking every configuration change DELAY seconds late.

    late_gateway.py --delay SECONDS [--kinds KIND,...] serve --manifests DIR ...
    late_gateway.py ... echo ...          (anything but `serve` runs the reference as is)

Given as `--reference-command "python tests/slow/late_gateway.py --delay 3"`, it stands where
the reference does. The gateway itself watches another directory, and each change to DIR (a
file written, replaced or removed) reaches that directory DELAY seconds after it was seen,
in the order seen. `--kinds` makes only changes to files holding those kinds late; the rest
go through at once.

A file is carried over as a hard link to the very file written, never a copy, so it keeps
its inode and modification time: the revision the gateway's admin address reports for it
is the one the writer knows, and it appears only once the gateway serves it, DELAY seconds
late. The suite's reference target, which returns from an apply only once it sees that
revision, therefore keeps its word that a change is in force when the apply returns: the
gateway is late, and the suite is told the truth about it. (A wrapper that let the admin
address answer at once would make the target claim a confirmation the gateway never gave.)
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

SUFFIXES = (".yaml", ".yml")
SCAN = 0.02


def say(text: str) -> None:
    # File names only: a file's content may hold keys.
    print(f"late-gateway: {text}", flush=True)


def kinds_in(path: Path) -> set[str]:
    try:
        return {str(d.get("kind")) for d in yaml.safe_load_all(path.read_text()) if isinstance(d, dict)}
    except (OSError, yaml.YAMLError):
        return set()


@dataclass
class Pending:
    due: float
    name: str
    held: Path | None  # a hard link to the version to put in place; None to remove the file


class LateMirror:
    """Carries DIR's changes into `late`, each `delay` seconds after it was seen."""

    def __init__(self, source: Path, late: Path, held: Path, delay: float, kinds: set[str] | None):
        self.source, self.late, self.held, self.delay, self.kinds = source, late, held, delay, kinds
        self.seen: dict[str, tuple[int, int]] = {}  # name -> (inode, mtime) of the last version seen
        self.late_kinds: dict[str, bool] = {}  # name -> whether its changes are late
        self.pending: list[Pending] = []
        self.count = 0

    def listing(self) -> dict[str, tuple[int, int]]:
        out = {}
        with os.scandir(self.source) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.endswith(SUFFIXES):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                out[entry.name] = (st.st_ino, st.st_mtime_ns)
        return out

    def _due(self, name: str, now: float) -> float:
        return now + self.delay if self.late_kinds.get(name, True) else now

    def scan(self) -> None:
        now = time.monotonic()
        listing = self.listing()
        for name in sorted(set(self.seen) - set(listing)):
            del self.seen[name]
            self.pending.append(Pending(self._due(name, now), name, None))
            say(f"{name} removed; the gateway hears of it in {self._due(name, now) - now:g} s")
        for name, identity in sorted(listing.items()):
            if self.seen.get(name) == identity:
                continue
            self.count += 1
            held = self.held / f"{self.count:06d}-{name}"
            try:
                os.link(self.source / name, held)  # whichever version is there now: its identity is taken from the link
            except FileNotFoundError:
                continue  # removed again already; the next scan sees that
            st = held.stat()
            self.seen[name] = (st.st_ino, st.st_mtime_ns)
            if self.kinds is not None:
                self.late_kinds[name] = bool(kinds_in(held) & self.kinds)
            self.pending.append(Pending(self._due(name, now), name, held))
            say(f"{name} changed; the gateway gets it in {self._due(name, now) - now:g} s")
        self.release(now)

    def release(self, now: float) -> None:
        keep = []
        for item in self.pending:
            if item.due > now:
                keep.append(item)
            elif item.held is not None:
                os.replace(item.held, self.late / item.name)  # a rename keeps the inode and mtime
            else:
                (self.late / item.name).unlink(missing_ok=True)
        self.pending = keep

    def run_forever(self) -> None:
        while True:
            try:
                self.scan()
            except Exception as exc:  # noqa: BLE001 -- a mirror that stops would pass for a gateway that never loads
                say(f"scan failed, trying again: {type(exc).__name__}: {exc}")
            time.sleep(SCAN)


def main(argv: list[str]) -> int:
    # Our options come first; everything from the reference's subcommand on is the reference's.
    split = next((i for i, a in enumerate(argv) if not a.startswith("-") and (i == 0 or argv[i - 1] not in ("--delay", "--kinds"))), len(argv))
    parser = argparse.ArgumentParser(prog="late_gateway.py", allow_abbrev=False)
    parser.add_argument("--delay", type=float, required=True, help="seconds each change waits before the gateway sees it")
    parser.add_argument("--kinds", help="only changes to files holding these kinds (comma-separated) are late")
    args, rest = parser.parse_args(argv[:split]), argv[split:]
    from reference.cli import main as reference

    if not rest or rest[0] != "serve" or "--manifests" not in rest:
        return reference(rest)
    where = rest.index("--manifests") + 1
    source = Path(rest[where])
    late, held = source.with_name(source.name + "-late"), source.with_name(source.name + "-held")
    late.mkdir(exist_ok=True)
    held.mkdir(exist_ok=True)
    kinds = {k.strip() for k in args.kinds.split(",") if k.strip()} if args.kinds else None
    mirror = LateMirror(source, late, held, args.delay, kinds)
    threading.Thread(target=mirror.run_forever, name="late-mirror", daemon=True).start()
    say(f"changes to {source.name} reach the gateway {args.delay:g} s late" + (f" for {', '.join(sorted(kinds))}" if kinds else ""))
    return reference([*rest[:where], str(late), *rest[where + 1:]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
