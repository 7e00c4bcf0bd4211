"""Conformance harness for agentgateway API key authentication.

A pytest plugin (`conformance.plugin`, loaded automatically once installed) that runs the
Gherkin scenarios in `features/` against a target: the reference gateway by default, or
any cluster with `--target=kubernetes`. The public pieces:

- `Target`, `ObjectRef`, `Refused`: what a deployment under test must offer.
- `Request`, `Response`: what the suite sends and judges.
- `Rule`, `converge`: the convergence rule every expectation is held to.
"""

from .convergence import Rule, converge
from .http import Request, Response
from .targets.base import ObjectRef, Refused, Target

__all__ = ["ObjectRef", "Refused", "Request", "Response", "Rule", "Target", "converge"]
