"""Per-scenario state shared by the steps: what was applied, the request, the responses."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from agwmodel import carriers

from . import masking
from .convergence import Check, NotConverged, Rule, converge, steady
from .http import Request, Response
from .masking import KEY_STORES
from .places import Place
from .targets.base import ObjectRef, Target, documents
from .trace import Change, Trace, kind_of_apply


@dataclass
class World:
    target: Target
    rule: Rule
    applied: list[ObjectRef] = field(default_factory=list)
    request: Request = field(default_factory=Request)
    responses: list[Response] = field(default_factory=list)
    api_key: str | None = None
    key_hashes: list[str] = field(default_factory=list)  # sha256:<hex> of keys, as the page's command printed them
    place: Place | None = None  # where the last request carried its key
    presented: str | None = None  # the key it carried there
    last_status: dict | None = None
    stores: list[dict] = field(default_factory=list)  # every Secret and ConfigMap applied, as given
    sent: list[str] = field(default_factory=list)  # every credential-like value a request of this scenario carried
    # What the reports show of the scenario: its manifests, requests and responses, and how
    # long the gateway took to converge on each change (conformance/trace.py).
    trace: Trace = field(default_factory=Trace)
    # Keys read from the scenario's text before it runs (masking.foresee), so that a step
    # that never ran is masked in the reports as well as one that did.
    foreseen: set[masking.Key] = field(default_factory=set)

    # --- configuration ----------------------------------------------------------------

    def apply(self, manifest: str) -> list[ObjectRef]:
        # Record before applying, so even a partly applied manifest is cleaned up.
        docs = documents(manifest)
        kind = kind_of_apply(docs, self.applied, self.stores)
        for doc in docs:
            if doc.get("kind") in KEY_STORES:
                self.stores.append(doc)
            ref = ObjectRef.of(doc)
            if ref not in self.applied:
                self.applied.append(ref)
        self.trace.manifest(manifest)
        refs = self.target.apply(manifest)
        # Timed from the moment the target holds the change (the API accepted it).
        self.trace.begin(Change(kind, ", ".join(str(ObjectRef.of(d)) for d in docs), time.monotonic()))
        return refs

    def delete(self, ref: ObjectRef) -> None:
        self.target.delete(ref)
        self.trace.begin(Change("revoke" if ref.kind in KEY_STORES else "delete", str(ref), time.monotonic()))
        if ref in self.applied:
            self.applied.remove(ref)

    def cleanup(self) -> None:
        self.target.delete_all(list(reversed(self.applied)))
        self.applied.clear()

    # --- the keys of this scenario ----------------------------------------------------

    def configured_keys(self) -> set[masking.Key]:
        """Every key the scenario configured, in every form the scenario knows it in
        (masking.keys_in: its Secrets and ConfigMaps, read as the gateway reads them)."""
        return masking.keys_in(self.stores, self.known_plain_keys())

    def known_plain_keys(self) -> set[str]:
        """The keys this scenario holds in plain text: generated, presented, or sent."""
        return {k for k in (self.api_key, self.presented, *self.sent) if k}

    def note_request(self, request: Request) -> None:
        """Remember every value of `request` that may be a credential, to redact and to match hashes:
        those each kind of key location could carry a key in (agwmodel.carriers)."""
        values = carriers.exposed(request.recorded())
        self.sent += [v for v in values if v and v not in self.sent]

    # --- failure messages -------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with every key this scenario knows replaced by a placeholder."""
        return masking.redact(text, self.configured_keys() | self.known_plain_keys() | self.foreseen)

    def fail(self, message: str) -> AssertionError:
        return AssertionError(self.redact(message))

    def not_checked(self, step: str, reason: str) -> None:
        """Record that a step passed without making its check, because the target cannot
        show what it needs: the scenario then counts as not fully checked."""
        self.trace.unchecked.append({"step": self.redact(step), "reason": self.redact(reason)})

    # --- expectations -----------------------------------------------------------------

    def expect(self, check: Check, expectation: str) -> list[Response]:
        """Send the current request until `check` holds by the convergence rule."""
        self.responses = self._converge(self.request, check, expectation)
        return self.responses

    def probe(self, request: Request, check: Check, expectation: str) -> list[Response]:
        """Like `expect`, for another request, leaving the scenario's request and responses alone."""
        return self._converge(request, check, expectation)

    def _converge(self, request: Request, check: Check, expectation: str) -> list[Response]:
        self.note_request(request)
        received: dict[int, float] = {}  # id(response) -> when it arrived

        def send(req: Request) -> Response:
            response = self.target.send(req)
            received[id(response)] = time.monotonic()
            return response

        try:
            streak = converge(send, request, check, self.rule, expectation)
        except NotConverged as exc:
            self.trace.exchange(request, expectation, None, str(exc))
            raise NotConverged(self.redact(str(exc))) from None
        # The gateway had converged when the first response of the matching streak came back.
        self.trace.converged(received[id(streak[0])])
        self.trace.exchange(request, expectation, streak[-1], None)
        return streak

    def count(self, check: Check, expectation: str, times: int) -> list[Response]:
        """Send the current request exactly `times` times, once each, every answer meeting `check`.

        For requests that each change what they observe (a rate limit's bucket): sending until
        the answer holds would spend what is counted. A scenario first waits, by the convergence
        rule, with requests that change nothing, so that the change it counts is in force."""
        self.note_request(self.request)
        self.responses = []
        for i in range(times):
            response = self.target.send(self.request)
            problem = check(response)
            self.trace.exchange(self.request, expectation, response, problem)
            if problem is not None:
                raise self.fail(f"expected {expectation} for each of {times} requests; request {i + 1} got {problem}\n"
                                f"    request: {self.request.describe()}\n    response: {response.describe()}")
            self.responses.append(response)
        return self.responses

    def each_response(self, check: Check) -> None:
        """A further check on every response the last expectation converged on."""
        assert self.responses, "no request was checked yet: a Then step about the status must come first"
        for response in self.responses:
            problem = check(response)
            if problem is not None:
                raise self.fail(f"{problem}\n    request: {self.request.describe()}\n    response: {response.describe()}")

    def hold(self, read: Callable[[], object], check: Callable[[object], str | None], expectation: str) -> object:
        """Read something (a status) until `check` passes by the convergence rule, as `expect`
        sends a request; the last value read."""
        # Status is the controller's report, not the gateway answering: a change followed by
        # a status check is not timed, rather than timed with the status wait included.
        self.trace.untimed()
        result = steady(read, check, self.rule)
        if isinstance(result, list):
            return result[-1]
        raise self.fail(
            f"expected {expectation}, {self.rule.threshold} times in a row, within {self.rule.timeout:g} s; "
            f"it did not happen in {result.attempts} reads.\n    last miss: {result.last_problem or 'no read'}"
        )
