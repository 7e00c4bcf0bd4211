"""Gateway API routing: which listener serves a host, and which route rule serves a request."""

from __future__ import annotations

from dataclasses import dataclass

from . import model as m


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


def hostnames_intersect(listener: str | None, route: tuple[str, ...]) -> bool:
    if listener is None or not route:
        return True
    return any(host_matches(listener, h) or host_matches(h, listener) or h == listener for h in route)


def path_matches(match: m.PathMatch, path: str) -> bool:
    if match.type == "Exact":
        return path == match.value
    prefix = match.value.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


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
            path.type != "Exact",
            -len(path.value),
            self.match.method is None,
            -len(self.match.headers),
            self.route.meta.order,
            (self.route.meta.namespace, self.route.meta.name),
            self.rule_index,
        )

    def accepts(self, host: str, method: str, path: str, headers: dict[str, str]) -> bool:
        if self.route.hostnames and not any(host_matches(h, host) for h in self.route.hostnames):
            return False
        if not path_matches(self.match.path, path):
            return False
        if self.match.method is not None and self.match.method != method:
            return False
        return all(headers.get(name) == value for name, value in self.match.headers)


def order_candidates(routes: list[m.HTTPRoute]) -> list[Candidate]:
    candidates = [Candidate(r, i, match) for r in routes for i, rule in enumerate(r.rules) for match in rule.matches]
    return sorted(candidates, key=Candidate.sort_key)


def select(candidates: list[Candidate], host: str, method: str, path: str, headers: dict[str, str]) -> Candidate | None:
    """The winning candidate: exact route hostnames beat wildcards, then the rule order."""
    best: Candidate | None = None
    best_rank: tuple[int, int] | None = None
    for candidate in candidates:
        if not candidate.accepts(host, method, path, headers):
            continue
        rank = min((hostname_rank(h) for h in candidate.route.hostnames if host_matches(h, host)), default=(2, 0))
        if best_rank is None or rank < best_rank:
            best, best_rank = candidate, rank
    return best
