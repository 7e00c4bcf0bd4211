"""Small helpers shared by the tests that send traffic through a started target."""

from conformance import Request, Rule

RULE = Rule(threshold=3, timeout=30, interval=0.1)
NO_KEY = Request(path="/headers")


def with_key(key: str, request: Request = NO_KEY) -> Request:
    return request.with_header("Authorization", f"Bearer {key}")


def status(code: int):
    """A convergence check: the response has this status."""
    return lambda r: None if r.status == code else f"status {code}, got {r.error or r.status}"
