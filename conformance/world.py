"""Per-scenario state shared by the steps: what was applied, the request, the responses."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from .convergence import Check, Rule, converge
from .http import Request, Response
from .places import Place
from .targets.base import ObjectRef, Target, documents


@dataclass
class World:
    target: Target
    rule: Rule
    applied: list[ObjectRef] = field(default_factory=list)
    request: Request = field(default_factory=Request)
    responses: list[Response] = field(default_factory=list)
    api_key: str | None = None
    place: Place | None = None  # where the last request carried its key
    presented: str | None = None  # the key it carried there
    last_status: dict | None = None
    secrets: list[dict] = field(default_factory=list)

    def apply(self, manifest: str) -> list[ObjectRef]:
        # Record before applying, so even a partly applied manifest is cleaned up.
        for doc in documents(manifest):
            if doc.get("kind") == "Secret":
                self.secrets.append(doc)
            ref = ObjectRef.of(doc)
            if ref not in self.applied:
                self.applied.append(ref)
        return self.target.apply(manifest)

    def secret_values(self) -> list[str]:
        """Every value of every Secret this scenario applied, decoded."""
        values = []
        for doc in self.secrets:
            values += [str(v) for v in (doc.get("stringData") or {}).values() if v]
            values += [base64.b64decode(v).decode("utf-8", "replace") for v in (doc.get("data") or {}).values() if v]
        return values

    def delete(self, ref: ObjectRef) -> None:
        self.target.delete(ref)
        if ref in self.applied:
            self.applied.remove(ref)

    def cleanup(self) -> None:
        for ref in reversed(self.applied):
            self.target.delete(ref)
        self.applied.clear()

    def expect(self, check: Check, expectation: str) -> list[Response]:
        """Send the current request until `check` holds by the convergence rule."""
        self.responses = converge(self.target.send, self.request, check, self.rule, expectation)
        return self.responses

    def each_response(self, check: Check) -> None:
        """A further check on every response the last expectation converged on."""
        assert self.responses, "no request was checked yet: a Then step about the status must come first"
        for response in self.responses:
            problem = check(response)
            if problem is not None:
                raise AssertionError(f"{problem}\n    request: {self.request.describe()}\n    response: {response.describe()}")
