"""What a scenario did, for the reports: steps, manifests, requests and responses, and the
time the gateway took to converge on each change.

A change is what a step does to the configuration, sorted into four kinds:

- apply: an object created, or updated when it holds no keys (a policy, a route);
- rotate: a Secret or ConfigMap the scenario had applied, updated with a value it did not
  hold before;
- revoke: such an update that only takes values away, or the deletion of one;
- delete: the deletion of any other object.

The convergence time of a change is measured from the moment the target held it (its
apply or delete returned) to the arrival of the first response of the streak that the
next expectation converged on: from then on the gateway answered as the change required.
Only the first expectation after a change is timed; a change followed by another before
any expectation is not timed at all (the second one is), and neither is a change followed
by a status check (that wait is the controller's, not the gateway's).

Everything here leaves the scenario with its keys masked: key store entries are replaced
by `<redacted>`, and every key the scenario knows (World.redact) is replaced wherever else
it appears. The record travels as a pytest user property, so JUnit XML carries it, xdist
hands it to the controller, and the reports read it from the test report.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field

import pytest
import yaml

from agwmodel import carriers

from .http import Request, Response
from .masking import KEY_STORES, MASK, mask_entry, store_entries
from .targets.base import ObjectRef

CHANGE_KINDS = ("apply", "rotate", "revoke", "delete")
TRACE_PROPERTY = "agw-trace"
MANIFEST_PROPERTY = "manifest"
_BODY_LIMIT = 4000


@dataclass(frozen=True)
class Change:
    kind: str
    what: str
    at: float


@dataclass
class Trace:
    manifests: list[str] = field(default_factory=list)
    exchanges: list[dict] = field(default_factory=list)
    timings: list[dict] = field(default_factory=list)
    # Checks a step could not make on this target, each {"step": ..., "reason": ...}: the
    # scenario passed without them, so it is not fully checked.
    unchecked: list[dict] = field(default_factory=list)
    pending: Change | None = None

    def manifest(self, text: str) -> None:
        self.manifests.append(text)

    def begin(self, change: Change) -> None:
        self.pending = change

    def untimed(self) -> None:
        self.pending = None

    def converged(self, at: float) -> None:
        if self.pending is not None:
            self.timings.append({"change": self.pending.kind, "object": self.pending.what,
                                 "seconds": round(max(0.0, at - self.pending.at), 4)})
            self.pending = None

    def exchange(self, request: Request, expectation: str, response: Response | None, error: str | None) -> None:
        self.exchanges.append({"expectation": expectation, "request": request, "response": response, "error": error})


def kind_of_apply(docs: list[dict], applied: list, stores: list[dict]) -> str:
    """apply, rotate or revoke, for a manifest about to be applied (see the module docstring)."""
    kind = "apply"
    for doc in docs:
        if doc.get("kind") not in KEY_STORES:
            continue
        ref = ObjectRef.of(doc)
        if ref not in applied:
            continue
        before = [s for s in stores if ObjectRef.of(s) == ref]
        old = {v for _, v in store_entries(before[-1])} if before else set()
        new = {v for _, v in store_entries(doc)}
        kind = "rotate" if new - old else ("revoke" if kind == "apply" else kind)
    return kind


def mask_manifest(text: str, redact) -> str:
    docs = []
    for doc in yaml.safe_load_all(text):
        if isinstance(doc, dict) and doc.get("kind") in KEY_STORES:
            doc = dict(doc)
            entries = dict(store_entries(doc))  # as the API holds them: stringData over data
            doc.pop("data", None)
            doc.pop("stringData", None)
            if entries:
                # Shown decoded, as stringData, so a reader sees the entry's shape.
                doc["stringData"] = {k: mask_entry(v) for k, v in entries.items()}
        if doc is not None:
            docs.append(doc)
    return redact(yaml.safe_dump_all(docs, sort_keys=False))


def _masked_body(response: Response, redact) -> str:
    try:
        data = json.loads(response.body)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("headers"), dict):
        # An echo of what the backend received: where a key could be, it is masked.
        text = json.dumps(carriers.hide_echo(data, MASK), indent=1)
    else:
        text = response.text
    text = text if len(text) <= _BODY_LIMIT else text[:_BODY_LIMIT] + "..."
    return redact(text)


def _exchange(entry: dict, redact) -> dict:
    out = {"expectation": redact(entry["expectation"]), "request": redact(entry["request"].describe())}
    response: Response | None = entry["response"]
    if response is not None:
        if response.error:
            out["response"] = {"error": redact(response.error)}
        else:
            out["response"] = {
                "status": response.status,
                # A gateway's own headers carry no key unless it echoes one, which redact() catches.
                "headers": [[k, redact(v)] for k, v in response.headers],
                "body": _masked_body(response, redact),
            }
    if entry["error"]:
        out["error"] = redact(entry["error"])
    return out


def record(item: pytest.Item, world) -> dict:
    """The scenario as the reports show it, keys masked."""
    redact = world.redact
    steps = item.stash.get(_STEPS, [])
    return {
        # Outline examples put their values, keys among them, into the test name: only the
        # masked name is kept, and a digest to find the scenario in the cucumber JSON.
        "title": redact(item.name),
        "nameDigest": hashlib.sha256(item.name.encode()).hexdigest(),
        **item.stash.get(_SCENARIO, {}),
        "steps": [{**s, "name": redact(s["name"])} for s in steps],
        "manifests": [mask_manifest(m, redact) for m in world.trace.manifests],
        "exchanges": [_exchange(e, redact) for e in world.trace.exchanges],
        "convergence": list(world.trace.timings),
        "unchecked": list(world.trace.unchecked),
    }


def attach(item: pytest.Item, world) -> None:
    """Hand the scenario's record to the test report (and so to JUnit XML and xdist)."""
    rec = record(item, world)
    item.user_properties.extend((MANIFEST_PROPERTY, m) for m in rec["manifests"])
    item.user_properties.append((TRACE_PROPERTY, json.dumps(rec)))


def from_report(report) -> dict | None:
    for name, value in getattr(report, "user_properties", ()) or ():
        if name == TRACE_PROPERTY:
            return json.loads(value)
    return None


_STEPS = pytest.StashKey[list]()
_SCENARIO = pytest.StashKey[dict]()
_STARTED = pytest.StashKey[float]()


class StepHooks:
    """Each scenario's steps with their outcome, from pytest-bdd's hooks."""

    def pytest_bdd_before_scenario(self, request, feature, scenario) -> None:
        request.node.stash[_SCENARIO] = {"feature": feature.rel_filename, "featureName": feature.name, "scenario": scenario.name,
                                         "line": scenario.line_number}
        request.node.stash[_STEPS] = [
            {"keyword": s.keyword, "name": s.name, "line": s.line_number, "docstring": bool(s.docstring), "status": "not run"}
            for s in scenario.steps
        ]

    def _step(self, request, step) -> dict | None:
        for s in request.node.stash.get(_STEPS, []):
            if s["line"] == step.line_number and s["status"] == "not run":
                return s
        return None

    def pytest_bdd_before_step(self, request, feature, scenario, step, step_func) -> None:
        request.node.stash[_STARTED] = time.monotonic()

    def _done(self, request, step, status: str) -> None:
        s = self._step(request, step)
        if s is not None:
            s["status"] = status
            s["seconds"] = round(time.monotonic() - request.node.stash.get(_STARTED, time.monotonic()), 3)

    def pytest_bdd_after_step(self, request, feature, scenario, step, step_func, step_func_args) -> None:
        self._done(request, step, "passed")

    def pytest_bdd_step_error(self, request, feature, scenario, step, step_func, step_func_args, exception) -> None:
        self._done(request, step, "failed")
