"""Gateway API routing: which listener serves a host, and which route rule serves a request.

The rules follow the product's route selection (upstream `http/route.rs`): path matches
rank Exact, then PathPrefix, then RegularExpression, then by length; then a method match,
then more header matches, then more query parameter matches; then the older route, then
the route's namespace and name, then the rule's position.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from . import model as m

_PATH_RANK = {"Exact": 0, "PathPrefix": 1, "RegularExpression": 2}


def host_matches(pattern: str, host: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return pattern == host


def hostname_rank(pattern: str | None) -> tuple[int, int]:
    """Sort key: exact names first, then longer wildcards, then no hostname at all."""
    if pattern is None:
        return (2, 0)
    if pattern.startswith("*."):
        return (1, -len(pattern))
    return (0, -len(pattern))


def effective_hostnames(listener: str | None, route: tuple[str, ...]) -> list[str] | None:
    """The route's hostnames as the Gateway API intersects them with a listener's; None: no overlap."""
    if not route:
        return [listener] if listener else []
    if not listener:
        return list(route)
    out = []
    for host in route:
        if host_matches(listener, host) or host == listener:
            out.append(host)
        elif host_matches(host, listener):
            out.append(listener)
    return list(dict.fromkeys(out)) or None


def hostnames_intersect(listener: str | None, route: tuple[str, ...]) -> bool:
    return effective_hostnames(listener, route) is not None


@functools.lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern:
    return re.compile(text)


def _whole(pattern: str, value: str) -> bool:
    # The product takes the leftmost match and requires it to span the whole value.
    found = _pattern(pattern).search(value)
    return found is not None and found.start() == 0 and found.end() == len(value)


def path_matches(match: m.PathMatch, path: str) -> bool:
    if match.type == "Exact":
        return path == match.value
    if match.type == "RegularExpression":
        return _whole(match.value, path)
    prefix = match.value.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def value_matches(match: m.ValueMatch, value: str | None) -> bool:
    if value is None:
        return False
    return value == match.value if match.type == "Exact" else _whole(match.value, value)


def query_values(query: bytes | str) -> dict[str, str]:
    """Query parameters as the product reads them for matching: form-decoded, the last value of a name wins."""
    raw = query.encode("utf-8") if isinstance(query, str) else query
    # Decoded after unescaping, invalid UTF-8 replaced, as Rust's form_urlencoded does.
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in parse_qsl(raw, keep_blank_values=True)}


@dataclass(frozen=True)
class Candidate:
    """One match of one rule of one route, in the order the Gateway API gives precedence."""

    route: m.HTTPRoute
    rule_index: int
    match: m.RouteMatch

    @property
    def rule(self) -> m.RouteRule:
        return self.route.rules[self.rule_index]

    def sort_key(self) -> tuple:
        path = self.match.path
        return (
            _PATH_RANK[path.type],
            -len(path.value),
            self.match.method is None,
            -len(self.match.headers),
            -len(self.match.query),
            self.route.meta.order,
            (self.route.meta.namespace, self.route.meta.name),
            self.rule_index,
        )

    def accepts(self, host: str, method: str, path: str, headers: dict[str, str], query: bytes | str = b"") -> bool:
        if self.route.hostnames and not any(host_matches(h, host) for h in self.route.hostnames):
            return False
        if not path_matches(self.match.path, path):
            return False
        if self.match.method is not None and self.match.method != method:
            return False
        if not all(value_matches(h, headers.get(h.name)) for h in self.match.headers):
            return False
        if self.match.query:
            values = query_values(query)
            return all(value_matches(q, values.get(q.name)) for q in self.match.query)
        return True


def order_candidates(routes: list[m.HTTPRoute]) -> list[Candidate]:
    candidates = [Candidate(r, i, match) for r in routes for i, rule in enumerate(r.rules) for match in rule.matches]
    return sorted(candidates, key=Candidate.sort_key)


def select(candidates: list[Candidate], host: str, method: str, path: str, headers: dict[str, str], query: bytes | str = b"") -> Candidate | None:
    """The winning candidate: exact route hostnames beat wildcards, then the rule order."""
    best: Candidate | None = None
    best_rank: tuple[int, int] | None = None
    for candidate in candidates:
        if not candidate.accepts(host, method, path, headers, query):
            continue
        rank = min((hostname_rank(h) for h in candidate.route.hostnames if host_matches(h, host)), default=(2, 0))
        if best_rank is None or rank < best_rank:
            best, best_rank = candidate, rank
    return best
