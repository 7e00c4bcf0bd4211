"""The file config source: a directory of manifests, watched by polling.

Polling (stat every file every interval) is portable, cheap for the handful of files a
gateway has, and notices atomic renames that inotify-style watchers sometimes miss.
Each file is all-or-nothing: a file that fails to parse keeps its last good objects in
force, and the error is reported with the file, the document and the field. A refused file
with no last good objects (it never had a good version, or that version held nothing) can
leave a route open: unless all it can hold is keys or backends, the gateway stops serving
until it has a good version or is removed (`refusals`).

Removing objects takes a deliberate act. Deleting a file removes its objects; a file that
becomes empty (no documents at all) is refused like any other bad version, because that
is what an editor's truncate-then-write or a half-finished copy looks like for a moment,
and taking it at its word would silently drop a policy and forward every request with its
credential. Whenever objects disappear (a deleted file, or a new version without them),
the log names each one at warning level.

Parsing runs in a worker thread (`watch`), so a large file never holds up requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from agwmodel import model as m

from . import refusals
from .objects import Ignored, ManifestError, Unsupported, parse_manifest, shown
from .runtime import ObjectKey, Runtime, key_of

log = logging.getLogger("agw-reference.files")

SUFFIXES = (".yaml", ".yml")


def revision(st: os.stat_result) -> str:
    """Which version of a file was read, from its identity on disk and never its content.

    A Secret file's content holds keys: a digest of it would let anyone who can read the
    admin address test guesses of a key offline. Inode and modification time say the same
    thing to whoever wrote the file (an atomic writer knows both after its rename), and
    nothing to anyone else.
    """
    return f"{st.st_ino}-{st.st_mtime_ns}"


@dataclass
class FileState:
    signature: tuple
    revision: str
    digest: bytes  # of the content, to skip reloading an unchanged file; never shown
    objects: list[m.Resource] = field(default_factory=list)
    error: str | None = None
    # What kind of refusal `error` is, in an API server's words where one fits (`Invalid`:
    # the content breaks the schema), and the offending field where the error names one.
    reason: str | None = None
    field: str | None = None
    # Refused with nothing of the file in force, and what it holds could decide routing or policy.
    stops_traffic: bool = False


def _refused_state(signature: tuple, rev: str, digest: bytes, previous: FileState | None, error: str, reason: str,
                   kinds: frozenset[str] | None, bad_field: str | None = None) -> FileState:
    """A refused version: the last good objects stay. With none (the file never had a good
    version, or its good version held nothing this gateway serves: an editor's new empty
    file, say), it may stop traffic."""
    kept = previous.objects if previous else []
    return FileState(signature, rev, digest, kept, error, reason, bad_field, stops_traffic=not kept and refusals.stops_traffic(kinds))


def _names(objects: list[m.Resource]) -> str:
    return ", ".join(o.meta.ref for o in objects)


def _refused(name: str, state: FileState) -> None:
    """Log a refused version: what stays in force, or that nothing from the file is loaded."""
    if state.objects:
        log.error("%s; the last good version of %s stays in force (%s)", state.error, name, _names(state.objects))
    elif state.stops_traffic:
        log.error("%s; nothing from %s is loaded, and no request is served until it has a good version or is removed",
                  state.error, name)
    else:
        log.error("%s; nothing from %s is loaded", state.error, name)


class ManifestDir:
    def __init__(self, path: Path, runtime: Runtime, interval: float = 0.1):
        self.path, self.runtime, self.interval = Path(path), runtime, interval
        self.files: dict[str, FileState] = {}
        # What `report` shows, taken at the end of each scan: a file's revision appears only
        # once the configuration built from it is in force, so whoever waits for it (the
        # suite's reference target) may send traffic the moment it does.
        self._in_force: list[dict] = []
        self._duplicates: dict[ObjectKey, list[str]] = {}  # already reported

    def _listing(self) -> dict[str, tuple]:
        out = {}
        with os.scandir(self.path) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.endswith(SUFFIXES):
                    continue
                try:
                    st = entry.stat()
                    if entry.is_file():
                        out[entry.name] = _signature(st)
                except OSError:
                    continue  # removed between listing and stat, or a link that leads nowhere
        return out

    def scan(self) -> bool:
        """Load what changed since the last scan; publish a new config if anything did."""
        listing = self._listing()
        changed = False
        for name in sorted(set(self.files) - set(listing)):
            gone = self.files.pop(name).objects
            if gone:
                log.warning("%s: removed; its objects are gone: %s", name, _names(gone))
            else:
                log.info("%s: removed", name)
            changed = True
        loaded: dict[str, FileState | None] = {}
        for name, signature in sorted(listing.items()):
            previous = self.files.get(name)
            if previous is not None and previous.signature == signature:
                continue
            if self._load(name, previous, signature):
                loaded[name] = previous
                changed = True
        if changed or self.runtime.config is None or self.runtime.config.refused != self._stopping():
            try:
                self._publish()
            except Exception as exc:
                # Validation should make this unreachable; if not, the files just loaded
                # are refused as a whole and the last good configuration stays.
                log.debug("building the configuration failed", exc_info=True)
                for name, previous in loaded.items():
                    error = f"{name}: cannot be applied with the other files ({type(exc).__name__})"
                    state = self.files[name]
                    kinds = frozenset(o.meta.kind for o in state.objects)
                    self.files[name] = _refused_state(state.signature, state.revision, state.digest, previous, error, "Conflict", kinds)
                    _refused(name, self.files[name])
                self._publish()
        self._in_force = [{"file": n, "revision": st.revision, "error": st.error, **_refusal(st)} for n, st in sorted(self.files.items())]
        return changed

    def _publish(self) -> None:
        defined = self.definitions()
        for key, files in defined.items():
            if len(files) > 1 and files != self._duplicates.get(key):
                kind, namespace, name = key
                log.warning("%s %s/%s is defined in %s; the one in %s is in force", kind, namespace, name, " and ".join(files), files[-1])
        self._duplicates = {key: files for key, files in defined.items() if len(files) > 1}
        # Later files win, so the copy in force is the one in the last file by name.
        self.runtime.publish((obj for name in sorted(self.files) for obj in self.files[name].objects), refused=self._stopping())

    def _stopping(self) -> tuple[str, ...]:
        """The errors of the refused files that keep the gateway from serving, by file name."""
        return tuple(state.error for _, state in sorted(self.files.items()) if state.stops_traffic and state.error)

    def definitions(self) -> dict[ObjectKey, list[str]]:
        """Every object in force, with the files that define it (in name order; the last one wins)."""
        out: dict[ObjectKey, list[str]] = {}
        for name, state in sorted(self.files.items()):  # sorted() copies at once: scans run in another thread
            for obj in state.objects:
                out.setdefault(key_of(obj), []).append(name)
        return out

    def _load(self, name: str, previous: FileState | None, listed: tuple) -> bool:
        try:
            # The revision must describe the content read, so both come from one open file.
            with open(self.path / name, "rb") as f:
                st = os.fstat(f.fileno())
                raw = f.read()
        except (FileNotFoundError, IsADirectoryError):
            return False
        except OSError as exc:
            error = f"{name}: cannot be read: {(exc.strerror or type(exc).__name__).lower()}"
            state = _refused_state(listed, previous.revision if previous else "", previous.digest if previous else b"", previous, error,
                                   "Unreadable", kinds=None)
            if previous is None or previous.error != error:
                _refused(name, state)
            self.files[name] = state
            return False
        signature, rev, digest = _signature(st), revision(st), hashlib.sha256(raw).digest()
        if previous is not None and previous.digest == digest:
            previous.signature, previous.revision = signature, rev
            return False
        kept = previous.objects if previous else []
        reason, bad_field = "Invalid", None
        try:
            parsed = parse_manifest(raw.decode("utf-8"), where=name)
        except UnicodeDecodeError:
            error = f"{name}: not UTF-8 text"
        except ManifestError as exc:
            error, bad_field = str(exc), exc.field or None
            if isinstance(exc, Unsupported):
                reason = "Unsupported"  # valid by the CRD; this gateway does not implement it
        except Exception as exc:
            log.debug("%s: unexpected error while reading it", name, exc_info=True)
            error, reason = f"{name}: cannot be read ({type(exc).__name__})", "InternalError"
        else:
            if not parsed and kept:
                error, reason = f"{name}: empty (no documents); delete the file to remove its objects", "Empty"
            else:
                for item in parsed:
                    if isinstance(item, Ignored):
                        log.info("%s: ignoring %s %s (kind not used by this gateway)", name, shown(item.kind), shown(item.name))
                objects = [o for o in parsed if not isinstance(o, Ignored)]
                self.files[name] = FileState(signature, rev, digest, objects)
                still = {key_of(o) for o in objects}
                gone = [o for o in kept if key_of(o) not in still]
                if gone:
                    log.warning("%s: loaded; objects no longer defined in it are gone: %s", name, _names(gone))
                else:
                    log.info("%s: loaded", name)
                return True
        self.files[name] = _refused_state(signature, rev, digest, previous, error, reason, refusals.kinds_in(raw), bad_field)
        _refused(name, self.files[name])
        return False

    async def watch(self) -> None:
        unreadable = None  # the last "cannot read" said, so that it is said once, not every scan
        while True:
            try:
                # Parsing a large file takes seconds; in a thread, requests go on meanwhile
                # with the configuration in force (`Runtime.publish` swaps it in one step).
                await asyncio.to_thread(self.scan)
                if unreadable is not None:
                    log.info("%s can be read again", self.path)
                unreadable = None
            except OSError as exc:
                said = f"cannot read {self.path}: {exc}; the last good configuration stays in force"
                if said != unreadable:
                    log.error("%s", said)
                unreadable = said
            except Exception:
                log.exception("cannot apply the manifests in %s; the last good configuration stays in force", self.path)
            await asyncio.sleep(self.interval)

    def report(self) -> list[dict]:
        """Per file, the version the last scan read and its error; a refused version also says
        why (`reason`) and, where the error names one, which `field` is wrong. Shown only once
        the configuration of that scan is in force."""
        return self._in_force

    def provenance(self) -> dict[ObjectKey, dict]:
        """Where each object in force comes from, for /status/policies.

        `latestVersion` is `Refused` when the file's newest version could not be loaded, so
        what is in force is its last good version; `definedIn` lists every file that
        defines the object when there is more than one.
        """
        errors = {n: s.error for n, s in list(self.files.items())}
        out = {}
        for key, files in self.definitions().items():
            used = files[-1]
            entry: dict = {"file": used}
            if len(files) > 1:
                entry["definedIn"] = files
                entry["duplicate"] = f"defined in {' and '.join(files)}; the one in {used} is in force"
            if errors.get(used):
                entry["latestVersion"] = "Refused"
                entry["message"] = f"the latest version of {used} was refused ({errors[used]}); the last good version is in force"
            else:
                entry["latestVersion"] = "Accepted"
            out[key] = entry
        return out


def _refusal(state: FileState) -> dict:
    if state.error is None:
        return {}
    return {"reason": state.reason or "Unknown", "field": state.field, "stopsTraffic": state.stops_traffic}


def _signature(st: os.stat_result) -> tuple:
    return (st.st_mtime_ns, st.st_size, st.st_ino)
