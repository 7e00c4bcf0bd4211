"""Which refusals keep the gateway from serving at all.

A source refused at its first sight (a file with no good version yet, an object the API
server accepted and this gateway cannot use) leaves a hole in the configuration, and a
hole in what decides routing or policy can open a route: a refused policy protects
nothing, and a refused route, listener, Gateway or Namespace sends its requests to
whatever less specific route or listener is left, which may have no policy at all. Which
requests a hole reaches cannot be told from what is left, so such a refusal stops all
traffic until the source has a good version (or is removed).

The kinds below only ever narrow what is served: a missing Secret or ConfigMap gives its
policies fewer keys (more refusals), a missing Service, EndpointSlice or ReferenceGrant
turns its backend into a 500 or 503. A refusal that can only hold those is reported and
logged, and traffic goes on. A refusal whose kinds cannot be read (YAML that does not
parse, a document without a kind) stops traffic.
"""

from __future__ import annotations

from collections.abc import Iterable

from agwmodel.manifests import ManifestError, load_yaml

NARROWING_KINDS = frozenset({"Secret", "ConfigMap", "Service", "EndpointSlice", "ReferenceGrant"})


def stops_traffic(kinds: Iterable[str] | None) -> bool:
    """Whether a refused source that held objects of these kinds (None: unknown) must stop traffic."""
    return kinds is None or not set(kinds) <= NARROWING_KINDS


def kinds_in(raw: bytes) -> frozenset[str] | None:
    """The kinds a refused file's documents say they are; None when that cannot be read."""
    try:
        documents = [doc for _, doc in load_yaml(raw.decode("utf-8"), "")]
    except (UnicodeDecodeError, ManifestError):
        return None
    kinds = set()
    for doc in documents:
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if not isinstance(kind, str):
            return None
        kinds.add(kind)
    return frozenset(kinds)
