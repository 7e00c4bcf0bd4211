"""The default target: the reference gateway and its echo backend, started as programs.

Configuration goes through a directory the gateway watches. Each object lives in a file
named after its identity, so applying an object again replaces it and deleting it removes
the file, as on an API server. After each write the target waits until the gateway has
loaded exactly that content (its admin address reports, per file, a revision made of the
file's inode and modification time, never of its content), so a rejected manifest is
reported at once and nothing is left half-applied.
"""

from __future__ import annotations

import base64
import copy
import os
import re
from pathlib import Path

import yaml

from ..processes import Program, answers, listening
from ..profiles import REFERENCE_FEATURES
from ..provenance import suite_version
from ..waiting import POLL, TIMEOUTS, wait_until
from .base import ObjectRef, Refused, documents
from .local import LocalTarget


def _filename(ref: ObjectRef) -> str:
    raw = f"{ref.kind}.{ref.namespace or '_'}.{ref.name}".lower()
    return re.sub(r"[^a-z0-9._-]", "_", raw) + ".yaml"


def as_api_server_returns(doc: dict) -> dict:
    """An API server folds Secret `stringData` into base64 `data` on write."""
    out = copy.deepcopy(doc)
    if out.get("kind") == "Secret" and out.get("stringData"):
        data = dict(out.get("data") or {})
        for key, value in out.pop("stringData").items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        out["data"] = data
    return out


def _refusal(source: dict) -> Refused | None:
    """The gateway's report on a file, as a refusal: its error, why (`Invalid` when the
    content breaks the schema) and the field it names."""
    if source["error"] is None:
        return None
    field = source.get("field")
    return Refused(source["error"], reason=source.get("reason") or "Unknown", fields=(field,) if field else ())


class ReferenceTarget(LocalTarget):
    name = "reference"

    def __init__(self, supported: frozenset[str], command: str | None = None, workdir: Path | None = None, timeout: float = TIMEOUTS.change,
                 serve_flags: tuple[str, ...] = ()):
        super().__init__(command, workdir, timeout)
        self.supported_features = supported
        self.serve_flags = serve_flags  # more `serve` options, for tests of the gateway's own limits
        self._admin = ""
        self._gateway = ""

    @classmethod
    def from_options(cls, config) -> ReferenceTarget:
        return cls(REFERENCE_FEATURES, command=config.getoption("reference_command"), timeout=config.getoption("convergence_timeout"))

    @property
    def confirms_changes(self) -> bool:
        # `apply` and `delete` wait until the admin endpoint shows the file's revision, which
        # it shows once the configuration built from it is in force. With several workers
        # that is the word of whichever worker answered, not of all of them.
        return not any(flag.startswith("--workers") for flag in self.serve_flags)

    def versions(self) -> dict[str, str]:
        return {"reference gateway": suite_version()}

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> None:
        self.manifests = self._open_workdir("agw-conformance-") / "manifests"
        self.manifests.mkdir(parents=True, exist_ok=True)
        echo = self._start_echo()
        traffic, admin = listening(), listening()
        self._gateway = f"http://127.0.0.1:{traffic.getsockname()[1]}"
        self._admin = f"http://127.0.0.1:{admin.getsockname()[1]}"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        gateway = Program(
            "gateway",
            [*self.command, "serve", "--manifests", str(self.manifests), "--listen", f"fd:{traffic.fileno()}", "--admin", f"fd:{admin.fileno()}",
             # Scanning a handful of files is cheap; a short interval keeps each apply quick.
             "--poll-interval", "0.02",
             # /status/keys: what the gateway loaded from each Secret, for `loaded_key_digests`.
             "--admin-key-digests", "--gateway-class", self.deployment.gateway_class, *self.serve_flags],
            self.workdir,
            env,
            sockets=(traffic, admin),
        )
        self.programs.append(gateway)
        self._echo_ready(echo)
        gateway.wait_until(lambda: answers(self._admin + "/healthz/ready"), self.timeout, "ready")

    @property
    def gateway_url(self) -> str:
        return self._gateway

    # --- configuration ----------------------------------------------------------------

    def apply(self, manifest: str) -> list[ObjectRef]:
        refs = []
        for doc in documents(manifest):
            if not isinstance(doc, dict):
                raise Refused("a manifest document must be a mapping", reason=Refused.INVALID)
            ref = ObjectRef.of(doc)
            path = self.manifests / _filename(ref)
            previous = path.read_bytes() if path.exists() else None
            text = yaml.safe_dump(doc, sort_keys=False).encode()
            self._write(path, text)
            refusal = self._loaded(path)
            if refusal is not None:
                # Leave things as an API server would after refusing: unchanged.
                if previous is None:
                    path.unlink()
                    self._gone([path.name])
                else:
                    self._write(path, previous)
                    self._loaded(path)
                raise refusal
            self.objects[ref] = doc
            refs.append(ref)
        return refs

    def delete(self, ref: ObjectRef) -> None:
        self.delete_all([ref])

    def delete_all(self, refs: list[ObjectRef]) -> None:
        removed = []
        for ref in refs:
            path = self.manifests / _filename(ref)
            self.objects.pop(ref, None)
            if path.exists():
                path.unlink()
                removed.append(path.name)
        self._gone(removed)

    def get(self, ref: ObjectRef) -> dict | None:
        # Read back the file the gateway loads, not the harness's record of what it wrote:
        # this directory is the reference's store, as etcd is an API server's.
        path = self.manifests / _filename(ref)
        try:
            doc = yaml.safe_load(path.read_text())
        except FileNotFoundError:
            return None
        return as_api_server_returns(doc) if isinstance(doc, dict) else None

    def policy_status(self, namespace: str, name: str) -> dict | None:
        for item in self._admin_json("/status/policies")["policies"]:
            if (item["namespace"], item["name"]) == (namespace, name):
                return item["status"]
        return None

    def loaded_key_digests(self, ref: ObjectRef) -> dict[str, str] | None:
        # Asked of the running gateway: the file in the directory is what the harness
        # wrote, and the gateway may have refused it or not loaded it yet.
        for store in self._admin_json("/status/keys")["stores"]:
            if (store["kind"], store["namespace"], store["name"]) == (ref.kind, ref.namespace, ref.name):
                return dict(store["sha256"])
        return None

    # --- helpers ----------------------------------------------------------------------

    @staticmethod
    def _write(path: Path, content: bytes) -> None:
        # Write beside the target under a dot name (which the gateway ignores), then
        # rename, so the gateway never reads a half-written file.
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(content)
        os.replace(tmp, path)

    def _admin_json(self, path: str) -> dict:
        response = self.control_get(self._admin + path, timeout=TIMEOUTS.request)
        response.raise_for_status()
        return response.json()

    def _sources(self) -> dict[str, dict]:
        return {s["file"]: s for s in self._admin_json("/config_dump")["sources"]}

    def _loaded(self, path: Path) -> Refused | None:
        """Wait until the gateway has read the file as just written; its refusal, if it refused it."""
        st = path.stat()
        revision = f"{st.st_ino}-{st.st_mtime_ns}"

        def read_as_written() -> dict | None:
            source = self._sources().get(path.name)
            return source if source and source["revision"] == revision else None

        never = (f"the change to {path.name} never took effect within {self.timeout:g} s (the convergence timeout): "
                 "the gateway did not report that version in force")
        source = wait_until(read_as_written, self.timeout, never, interval=POLL.gateway_admin)
        return _refusal(source)

    def _gone(self, filenames: list[str]) -> None:
        """Wait until the gateway no longer holds anything from these removed files."""
        left = list(filenames)

        def all_gone() -> bool:
            held = self._sources()
            left[:] = [name for name in left if name in held]
            return not left

        wait_until(all_gone, self.timeout, lambda: f"the removal of {', '.join(left)} never took effect within {self.timeout:g} s "
                   "(the convergence timeout): the gateway still holds it", interval=POLL.gateway_admin)
