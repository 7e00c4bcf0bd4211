"""Load with churn against the reference gateway: concurrent clients while keys are added,
rotated and revoked, and while the manifests are rewritten badly (torn, truncated and
invalid writes, and a file emptied for a moment).

The run is short by default (CI); `AGW_LOAD_SECONDS=300 pytest tests/reliability/test_load_churn.py -s`
runs a longer one. The figures are printed either way.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import yaml
from helpers import strict_policy

from conformance.reliability import load
from conformance.targets.base import ObjectRef, documents
from conformance.targets.reference import _filename

from .parts import HOST, Backend, admin_texts, leaks, log_texts, route_to, verbose_gateway

SECONDS = float(os.environ.get("AGW_LOAD_SECONDS", "20"))
SECRET_REF = ObjectRef("Secret", "agentgateway-system", "apikey")
POLICY_REF = ObjectRef("AgentgatewayPolicy", "agentgateway-system", "apikey-auth")


def secret_doc(keys: list[str]) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "apikey", "namespace": "agentgateway-system"},
            "stringData": {f"k{i}": key for i, key in enumerate(keys)}}


def one_line(doc: dict) -> bytes:
    # JSON is YAML; every proper prefix of one JSON object is an unclosed mapping, so a torn
    # write can never be read as a smaller, valid configuration (with fewer keys, say).
    return json.dumps(doc).encode()


class Faults:
    """Broken versions of the Secret and policy files, each repaired after `hold` seconds.

    `replaced` faults land whole (written beside the file, then renamed over it), as a
    half-finished copy or a bad edit would; `in_place` ones are written into the file
    itself, which is empty for a moment when it is opened, and stays empty for `hold`
    seconds in the last one.
    """

    def __init__(self, manifests, hold: float = 0.3):
        self.dir, self.hold = manifests, hold
        self.policy = one_line(documents(strict_policy())[0])

    def _replace(self, name: str, *versions: bytes) -> None:
        for version in versions:
            tmp = self.dir / f".{name}.fault"
            tmp.write_bytes(version)
            os.replace(tmp, self.dir / name)
            time.sleep(self.hold)

    def _write_in_place(self, name: str, *pieces: bytes) -> None:
        with open(self.dir / name, "wb") as f:  # truncates: the file is empty from here
            for piece in pieces:
                f.write(piece)
                f.flush()
                time.sleep(self.hold)

    def truncated_secret(self, keys: list[str]) -> None:
        good = one_line(secret_doc(keys))
        self._replace(_filename(SECRET_REF), good[: len(good) // 2], good)

    def invalid_secret(self, keys: list[str]) -> None:
        self._replace(_filename(SECRET_REF), b"kind: Secret\nstringData: [unclosed\n\t- !!binary x", one_line(secret_doc(keys)))

    def truncated_policy(self, keys: list[str]) -> None:
        self._replace(_filename(POLICY_REF), self.policy[:40], self.policy)

    def torn_secret_in_place(self, keys: list[str]) -> None:
        good = one_line(secret_doc(keys))
        self._write_in_place(_filename(SECRET_REF), good[: len(good) // 2], good[len(good) // 2 :])

    def emptied_policy_in_place(self, keys: list[str]) -> None:
        self._write_in_place(_filename(POLICY_REF), b"", self.policy)

    def replaced(self) -> load.Faults:
        return [("truncated Secret", self.truncated_secret), ("invalid Secret", self.invalid_secret),
                ("truncated policy", self.truncated_policy)]

    def in_place(self) -> load.Faults:
        return [("Secret torn in place", self.torn_secret_in_place), ("policy emptied in place", self.emptied_policy_in_place)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    backend = Backend()
    workdir = tmp_path_factory.mktemp("churn")
    try:
        with verbose_gateway(workdir) as gateway:
            gateway.apply(route_to(backend.port))
            yield gateway, workdir
    finally:
        backend.close()


def run(gateway, faults: load.Faults):
    used: set[str] = set()

    def apply_keys(keys: list[str]) -> None:
        used.update(keys)
        gateway.apply(yaml.safe_dump(secret_doc(keys)))
        if POLICY_REF not in gateway.objects:
            gateway.apply(strict_policy())

    figures, failure = load.run(gateway.gateway_url, apply_keys, seconds=SECONDS, host=HOST, path="/get", faults=faults)
    return figures, failure, used


def check(gateway, workdir, faults: load.Faults, capsys, what: str) -> None:
    figures, failure, used = run(gateway, faults)
    with capsys.disabled():
        print(f"\nload with churn and {what}, {SECONDS:g} s: {figures.line()}")
    assert failure is None, failure
    assert figures.ok, f"{figures.line()}\nfirst problems: {figures.examples}"
    # Enough happened for the figures to mean something.
    assert figures.by_kind["revoked"] > 0 and figures.by_kind["live"] > 0, figures.line()
    assert figures.churn["revoke"] + figures.churn["rotate"] > 0 and sum(figures.churn.values()) >= 5, figures.line()
    assert gateway.programs[-1].running, gateway.programs[-1].tail()
    assert leaks({**log_texts(workdir), **admin_texts(gateway)}, used) == []


def test_load_with_key_churn_and_bad_writes(setup, capsys):
    gateway, workdir = setup
    check(gateway, workdir, Faults(gateway.manifests).replaced(), capsys, "truncated and invalid files")


def test_load_with_key_churn_and_files_emptied_in_place(setup, capsys):
    # The safe behaviour: an empty file (a torn write, an editor saving in place) neither
    # drops the policy (forwarding requests without a key) nor the keys (refusing them).
    gateway, workdir = setup
    check(gateway, workdir, Faults(gateway.manifests).in_place(), capsys, "files emptied in place")


def test_the_judgement_counts_each_kind_of_wrong_answer():
    book = load.KeyBook("steady-key")
    book.revoked["gone"] = 0.0
    assert load._judge("revoked", 200, "gone", book, 1.0) == "accepted"
    assert load._judge("no key", 200, None, book, 1.0) == "accepted"
    assert load._judge("steady", 401, "steady-key", book, 1.0) == "refused"
    book.revoking["leaving"] = 5.0
    assert load._judge("live", 401, "leaving", book, 4.0) == "refused"  # answered before its revocation began
    assert load._judge("live", 401, "leaving", book, 6.0) == ""  # after: either answer is right
