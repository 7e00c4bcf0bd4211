"""The reference gateway against the real agentgateway proxy, each in front of the same static backend.

The echo backend is Python, and at 64 connections it became the ceiling of every proxy in
front of it. Here the backend is nginx answering by itself (1 worker), so the proxies are
what is measured. Each proxy runs the same Strict policy with one key; wrk loads them in
turn, alternating within each round; and the CPU time of each server's whole process
tree is read from /proc around every run, so the cost of a request is known, not only
the rate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from .load import Result, Wrk
from .stack import Stack, cpu_seconds, key_files


@dataclass(frozen=True)
class Sample:
    result: Result
    cpu: float  # seconds of CPU the server's processes used during the run

    @property
    def cpu_per_1000(self) -> float:
        return 1000 * self.cpu / max(1, self.result.requests)


def run(stack: Stack, wrk: Wrk, key: str, binary: str | None, levels: tuple[int, ...], rounds: int, seconds: float) -> tuple[dict, dict]:
    """{variant: (url, pid)} started, and {(variant, c): [Sample]}."""
    static = stack.static()
    if static is None:
        return {}, {}
    backend = stack.static_port
    variants: dict[str, tuple[str, int]] = {}
    gateway = stack.gateway("anchor-reference", key_files([key]), backend_port=backend)
    gateway.wait_for(key, 200)
    variants["reference"] = (gateway.url, gateway.pid)
    if binary:
        variants["agentgateway"] = (stack.agentgateway(binary, key, backend), stack.programs[-1].proc.pid)
    variants["nginx"] = (stack.nginx("anchor-nginx", [key], backend_port=backend), stack.programs[-1].proc.pid)
    variants["naive"] = (stack.naive(backend_port=backend), stack.programs[-1].proc.pid)
    variants["static"] = (static, stack.programs[[p.name for p in stack.programs].index("static")].proc.pid)
    samples: dict[tuple[str, int], list[Sample]] = {}
    names = list(variants)
    for name in names:  # warm up
        wrk.run(variants[name][0] + "/anything", 16, 1)
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for concurrency in levels:
            for name in order:
                url, pid = variants[name]
                before = cpu_seconds(pid)
                result = wrk.run(url + "/anything", concurrency, seconds)
                samples.setdefault((name, concurrency), []).append(Sample(result, cpu_seconds(pid) - before))
    return variants, samples


def medians(samples: dict) -> dict:
    return {
        key: {"rps": statistics.median(s.result.rps for s in runs), "cpu_per_1000": statistics.median(s.cpu_per_1000 for s in runs),
              "failed": sum(s.result.failed for s in runs)}
        for key, runs in samples.items()
    }
