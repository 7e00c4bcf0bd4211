"""The file config source: a directory of manifests, watched by polling.

Polling (stat every file every interval) is portable, cheap for the handful of files a
gateway has, and notices atomic renames that inotify-style watchers sometimes miss.
Each file is all-or-nothing: a file that fails to parse keeps its last good objects in
force, and the error is reported with the file, the document and the field.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from . import model as m
from .manifests import Ignored, ManifestError, parse_manifest
from .runtime import Runtime

log = logging.getLogger("agw-reference.files")

SUFFIXES = (".yaml", ".yml")


@dataclass
class FileState:
    signature: tuple
    sha256: str
    objects: list[m.Resource] = field(default_factory=list)
    error: str | None = None


class ManifestDir:
    def __init__(self, path: Path, runtime: Runtime, interval: float = 0.1):
        self.path, self.runtime, self.interval = Path(path), runtime, interval
        self.files: dict[str, FileState] = {}

    def _listing(self) -> dict[str, tuple]:
        out = {}
        with os.scandir(self.path) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.endswith(SUFFIXES):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # removed between listing and stat
                if entry.is_file():
                    out[entry.name] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return out

    def scan(self) -> bool:
        """Load what changed since the last scan; publish a new config if anything did."""
        listing = self._listing()
        changed = False
        for name in sorted(set(self.files) - set(listing)):
            del self.files[name]
            log.info("%s: removed", name)
            changed = True
        for name, signature in sorted(listing.items()):
            previous = self.files.get(name)
            if previous is not None and previous.signature == signature:
                continue
            changed |= self._load(name, signature, previous)
        if changed or self.runtime.config is None:
            self.runtime.publish(obj for name in sorted(self.files) for obj in self.files[name].objects)
        return changed

    def _load(self, name: str, signature: tuple, previous: FileState | None) -> bool:
        try:
            raw = (self.path / name).read_bytes()
        except FileNotFoundError:
            return False
        sha = hashlib.sha256(raw).hexdigest()
        if previous is not None and previous.sha256 == sha:
            previous.signature = signature
            return False
        kept = previous.objects if previous else []
        try:
            parsed = parse_manifest(raw.decode("utf-8"), where=name)
        except UnicodeDecodeError:
            error = f"{name}: not UTF-8 text"
        except ManifestError as exc:
            error = str(exc)
        else:
            for item in parsed:
                if isinstance(item, Ignored):
                    log.info("%s: ignoring %s %s (kind not used by this gateway)", name, item.kind, item.name)
            self.files[name] = FileState(signature, sha, [o for o in parsed if not isinstance(o, Ignored)])
            log.info("%s: loaded", name)
            return True
        log.error("%s; the last good version of %s stays in force", error, name)
        self.files[name] = FileState(signature, sha, kept, error)
        return False

    async def watch(self) -> None:
        while True:
            try:
                self.scan()
            except OSError as exc:
                log.error("cannot read %s: %s", self.path, exc)
            await asyncio.sleep(self.interval)

    def report(self) -> list[dict]:
        return [{"file": n, "sha256": s.sha256, "error": s.error} for n, s in sorted(self.files.items())]
