"""The gateway's live state: the objects from every config source and the config built from them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

from agwmodel import model as m

from . import config as cfg

log = logging.getLogger("agw-reference")

ObjectKey = tuple[str, str, str]  # kind, namespace, name


def key_of(obj: m.Resource) -> ObjectKey:
    return (obj.meta.kind, obj.meta.namespace, obj.meta.name)


class Runtime:
    """Holds the current Config; sources call `publish()` with their complete object set.

    The config is replaced in one assignment, so requests in flight keep the config they
    started with and new ones see the new one: nothing is dropped during a change.
    """

    def __init__(self, gateway_class: str = "agentgateway"):
        self.gateway_class = gateway_class
        self.config: cfg.Config | None = None
        self.objects: dict[ObjectKey, m.Resource] = {}
        self._first_seen: dict[ObjectKey, int] = {}
        self._generation = 0
        self._reported: set[str] = set()

    def current(self) -> cfg.Config | None:
        return self.config

    def publish(self, objects: Iterable[m.Resource], refused: Iterable[str] = (),
                refused_policies: Mapping[tuple[str, str], str] | None = None) -> cfg.Config:
        """Put in force the configuration built from `objects`.

        `refused`: the source's refusals that keep the gateway from serving (see `refusals`),
        one line each. `refused_policies`: per policy (namespace, name) whose latest version
        the source refused, why; its status says so.
        """
        current: dict[ObjectKey, m.Resource] = {}
        for obj in objects:
            key = key_of(obj)
            # Object age breaks ties between routes and between policies, as
            # creationTimestamp does on Kubernetes; keep the first time we saw each.
            seen = self._first_seen.setdefault(key, len(self._first_seen))
            current[key] = dataclasses.replace(obj, meta=dataclasses.replace(obj.meta, order=(obj.meta.order or (seen,))))
        for key in set(self._first_seen) - set(current):
            del self._first_seen[key]
        self._generation += 1
        config = cfg.build(current.values(), self.gateway_class, self._generation)
        config.refused = tuple(refused)
        for key, why in (refused_policies or {}).items():
            config.status[key] = cfg.refused_status(config.status.get(key), why)
        was_refused = self.config is not None and self.config.refused
        self.objects = current
        self.config = config
        if config.refused and not was_refused:
            # Each refusal has been logged by its source already; this says what it does to traffic.
            log.error("not serving: every request is answered 503 while a source refused at its first sight could open a route "
                      "(/healthz/ready on the admin address lists them)")
        elif was_refused and not config.refused:
            log.warning("serving again: no refusal is left that could open a route")
        problems = {
            f"policy {p.policy.meta.namespace}/{p.policy.meta.name}: {problem}" for p in config.policies for problem in p.problems
        }
        for line in sorted(problems - self._reported):
            log.warning("%s", line)
        self._reported = problems
        return config
