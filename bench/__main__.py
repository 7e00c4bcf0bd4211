"""Benchmarks of the reference gateway, in one run on one machine: `python -m bench`.

Throughput and latency come from wrk against `/anything` at several concurrencies, each
variant in turn within every round (so a slow minute of the machine hits all of them),
as medians over the rounds. Then: a 10,000-key Secret replaced under load and a key
revoked under load (time to enforcement, failed requests), memory and load time at
0 / 10,000 / 100,000 keys, the harness's cost per request, and the suite's wall time.

`--smoke` runs all of it in a few seconds with tiny sizes, to check that the benchmark
itself works; its figures mean nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from conformance.targets.agentgateway.builds import binary_version, cached_proxy
from conformance.waiting import TIMEOUTS

from . import anchor, measure
from . import keys as bench_keys
from .load import Result, Wrk
from .stack import HOST, Stack, key_files

CONCURRENCY = (1, 16, 64)


def _cpus(mode: str) -> tuple[str | None, str | None, str]:
    """(CPUs for the servers, CPU for wrk, a line saying which) per the --pin mode."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if mode == "off" or not shutil.which("taskset") or len(cpus) < 2 or (mode == "auto" and len(cpus) < 3):
        return None, None, f"not pinned ({len(cpus) or '?'} CPUs; --pin on pins wrk to one CPU and the servers to the rest)"
    servers, load = ",".join(map(str, cpus[:-1])), str(cpus[-1])
    return servers, load, f"wrk pinned to CPU {load}, servers to CPU {servers}"


def _fmt_ratio(value: float) -> str:
    return f"{value:.2f}x"


class Report:
    def __init__(self):
        self.lines: list[str] = []
        self.data: dict = {}
        self.goals: list[tuple[str, bool, str]] = []

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.lines.append(line)

    def goal(self, what: str, met: bool, detail: str) -> None:
        self.goals.append((what, met, detail))


def throughput(wrk: Wrk, variants: dict[str, str], levels: tuple[int, ...], rounds: int, seconds: float, warm: bool,
               report: Report) -> dict:
    """Median req/s, p50 and p99 per (variant, concurrency), variants alternating in each round."""
    samples: dict[tuple[str, int], list[Result]] = {}
    names = list(variants)
    for name in names if warm else ():  # warm up: imports, connection pools, caches
        wrk.run(variants[name] + "/anything", 16, 1)
    for round_ in range(rounds):
        order = names[round_ % len(names):] + names[: round_ % len(names)]
        for concurrency in levels:
            for name in order:
                samples.setdefault((name, concurrency), []).append(wrk.run(variants[name] + "/anything", concurrency, seconds))
        report.say(f"  round {round_ + 1} of {rounds} done")
    table = {}
    for (name, concurrency), results in samples.items():
        table[(name, concurrency)] = {
            "rps": statistics.median(r.rps for r in results),
            # How far apart the rounds were: a difference smaller than this is not a finding.
            "spread": (max(r.rps for r in results) - min(r.rps for r in results)) / statistics.median(r.rps for r in results),
            "p50_ms": statistics.median(r.p50_ms for r in results),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "failed": sum(r.failed for r in results),
        }
    return table


def print_table(report: Report, table: dict, names: list[str], labels: dict[str, str]) -> None:
    levels = sorted({c for _, c in table})
    head = "| variant | " + " | ".join(f"c={c} req/s" for c in levels) + f" | c={levels[0]} p50 | c={levels[-1]} p99 | failed |"
    report.say(head)
    report.say("|" + "---|" * (head.count("|") - 1))
    for name in names:
        row = [table[(name, c)] for c in levels]
        report.say(f"| {labels[name]} | " + " | ".join(f"{r['rps']:,.0f}" for r in row)
                   + f" | {row[0]['p50_ms']:.2f} ms | {row[-1]['p99_ms']:.1f} ms | {sum(r['failed'] for r in row)} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="everything, tiny and fast: checks the benchmark works (figures meaningless)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each wrk run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant at every concurrency (default 3)")
    parser.add_argument("--keys", type=int, default=100_000, help="keys of the large variant and memory step (default 100000)")
    parser.add_argument("--churn-keys", type=int, default=10_000, help="keys of the Secret replaced under load (default 10000)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts for the scaling curve (default 1,2,4)")
    parser.add_argument("--suite-workers", type=int, default=6, help="pytest-xdist workers for the parallel suite run (default 6)")
    parser.add_argument("--pin", choices=("auto", "on", "off"), default="auto",
                        help="pin wrk to one CPU and the servers to the others (auto: with 3 or more CPUs)")
    parser.add_argument("--skip", default="", help="comma-separated parts to leave out: anchor,throughput,workers,churn,memory,harness,suite")
    parser.add_argument("--agentgateway-binary", default=cached_proxy(),
                        help="the real agentgateway proxy, measured as the anchor (default: AGW_AGENTGATEWAY_BINARY, or the newest build in the cache)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.seconds, args.rounds, args.keys, args.churn_keys, args.workers = 1, 1, 2000, 1000, "1,2"
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    if not shutil.which("wrk"):
        print("python -m bench: wrk is not installed (Debian: apt-get install wrk); it generates the load", file=sys.stderr)
        return 2

    report = Report()
    server_cpus, load_cpu, pinning = _cpus(args.pin)
    report.say(f"# Benchmark of the reference gateway{' (smoke run: figures meaningless)' if args.smoke else ''}")
    report.say(f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC; {platform.node()}; {os.cpu_count()} CPUs; "
               f"{platform.python_implementation()} {platform.python_version()}; {_event_loop()}; {pinning}")
    report.say(f"wrk {args.seconds:g} s per run, median of {args.rounds} rounds, variants alternating within each round")

    with tempfile.TemporaryDirectory(prefix="agw-bench-") as tmp:
        stack = Stack(Path(tmp), server_cpus)
        one_key = "bench-the-one-key"
        many = [one_key, *bench_keys.make_keys(args.keys - 1)]
        wrk = Wrk(Path(tmp), HOST, one_key, load_cpu)
        try:
            echo = stack.echo()
            if "anchor" not in skip:
                _anchor(stack, wrk, one_key, args, report)
            if "throughput" not in skip:
                _throughput(stack, wrk, echo, one_key, many, args, report)
            if "workers" not in skip:
                _workers(stack, wrk, one_key, args, report)
            if "churn" not in skip:
                _churn(stack, wrk, one_key, args, report)
            if "memory" not in skip:
                _memory(stack, args, report)
            if "harness" not in skip:
                costs = measure.harness_poll(echo, 50 if args.smoke else 500)
                report.data["harness_ms"] = costs
                report.say("\n## The harness's cost per request (median, against the echo directly)")
                for what, ms in costs.items():
                    report.say(f"- {what}: {ms:.2f} ms")
        finally:
            stack.stop()
    if "suite" not in skip:
        _suite(args, report)

    report.say("\n## Goals")
    for what, met, detail in report.goals:
        report.say(f"- [{'met' if met else 'MISSED'}] {what}: {detail}")
    if args.json:
        args.json.write_text(json.dumps(report.data, indent=2, default=str))
    return 0


def _event_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio event loop (uvloop not installed)"
    return "uvloop event loop"


def _throughput(stack, wrk, echo, one_key, many, args, report) -> None:
    report.say("\n## Throughput and latency (wrk, GET /anything)")
    variants = {"echo": echo}
    variants["none"] = stack.gateway("gw-none", {}).url
    gateway = stack.gateway("gw-1", key_files([one_key]))
    gateway.wait_for(one_key, 200)
    variants["strict-1"] = gateway.url
    gateway = stack.gateway("gw-many", key_files(many))
    gateway.wait_for(many[-1], 200, timeout=TIMEOUTS.bench_load)
    variants["strict-many"] = gateway.url
    variants["naive"] = stack.naive()
    labels = {"echo": "echo backend alone", "none": "reference gateway, no policy", "strict-1": "reference gateway, Strict, 1 key",
              "strict-many": f"reference gateway, Strict, {len(many):,} keys", "naive": "naive starlette + httpx proxy, no auth"}
    nginx_1 = stack.nginx("nginx-1", [one_key])
    if nginx_1 is None:
        report.say("nginx: not installed, so its variants are skipped (Debian: apt-get install nginx-light)")
    else:
        variants["nginx-1"], labels["nginx-1"] = nginx_1, "nginx, key map of 1"
        variants["nginx-many"], labels["nginx-many"] = stack.nginx("nginx-many", many), f"nginx, key map of {len(many):,}"
    levels = CONCURRENCY[:2] if args.smoke else CONCURRENCY
    table = throughput(wrk, variants, levels, args.rounds, args.seconds, not args.smoke, report)
    print_table(report, table, list(variants), labels)
    report.data["throughput"] = {f"{n} c={c}": v for (n, c), v in table.items()}

    top, low = max(c for _, c in table), min(c for _, c in table)
    gw, ec, nv = (lambda c, n=n: table[(n, c)] for n in ("strict-1", "echo", "naive"))
    report.goal(f"Strict 1 key at c={top}: at least 1/3 of the echo's throughput", gw(top)["rps"] >= ec(top)["rps"] / 3,
                _fmt_ratio(gw(top)["rps"] / ec(top)["rps"]) + " of the echo")
    report.goal(f"Strict 1 key at c={top}: at least 4x the naive proxy", gw(top)["rps"] >= 4 * nv(top)["rps"],
                _fmt_ratio(gw(top)["rps"] / nv(top)["rps"]))
    report.goal(f"no collapse: c={top} at least c={low}", gw(top)["rps"] >= gw(low)["rps"], _fmt_ratio(gw(top)["rps"] / gw(low)["rps"]))
    report.goal(f"p99 at c={top} at most 5x the echo's", gw(top)["p99_ms"] <= 5 * ec(top)["p99_ms"],
                f"{gw(top)['p99_ms']:.1f} ms vs {ec(top)['p99_ms']:.1f} ms ({_fmt_ratio(gw(top)['p99_ms'] / ec(top)['p99_ms'])})")
    added = gw(low)["p50_ms"] - ec(low)["p50_ms"]
    report.goal(f"p50 added at c={low} at most 1 ms", added <= 1.0, f"{added:.2f} ms")
    levels_seen = sorted({c for _, c in table})
    ratios = {c: table[("strict-many", c)]["rps"] / table[("strict-1", c)]["rps"] for c in levels_seen}
    worst = min(ratios, key=ratios.get)
    spread = max(table[(n, worst)]["spread"] for n in ("strict-1", "strict-many"))
    report.goal(f"{len(many):,} keys within 5% of 1 key's throughput", ratios[worst] >= 0.95,
                f"worst at c={worst}: {ratios[worst]:.1%} of 1 key, while its rounds spread over {spread:.1%}; "
                + ", ".join(f"c={c}: {r:.1%}" for c, r in ratios.items()))


def _anchor(stack, wrk, key, args, report) -> None:
    report.say("\n## In front of a static backend: the reference against the real agentgateway proxy (Strict, 1 key)")
    binary = args.agentgateway_binary
    if binary:
        report.say(f"agentgateway: {binary_version(binary)}")
    else:
        report.say("agentgateway: no binary (--agentgateway-binary, AGW_AGENTGATEWAY_BINARY or a build in the cache), so no anchor")
    levels = (1, 16) if args.smoke else (1, CONCURRENCY[-1])
    variants, samples = anchor.run(stack, wrk, key, binary, levels, args.rounds, args.seconds)
    if not variants:
        report.say("nginx: not installed, so there is no static backend and this part is skipped (Debian: apt-get install nginx-light)")
        return
    table = anchor.medians(samples)
    labels = {"reference": "reference gateway", "agentgateway": "real agentgateway proxy", "nginx": "nginx with a key map (1 worker)",
              "naive": "naive starlette + httpx proxy, no auth", "static": "the static backend alone (nginx, 1 worker)"}
    low, top = levels
    report.say(f"| proxy | c={low} req/s | c={top} req/s | CPU per 1,000 requests at c={top} | failed |")
    report.say("|---|---|---|---|---|")
    for name in variants:
        a, b = table[(name, low)], table[(name, top)]
        report.say(f"| {labels[name]} | {a['rps']:,.0f} | {b['rps']:,.0f} | {b['cpu_per_1000']:.3f} s | {a['failed'] + b['failed']} |")
    report.data["anchor"] = {f"{n} c={c}": v for (n, c), v in table.items()}
    if "agentgateway" in variants:
        ref, agw = table[("reference", top)], table[("agentgateway", top)]
        cost = ref["cpu_per_1000"] / agw["cpu_per_1000"] if agw["cpu_per_1000"] else float("inf")
        report.goal(f"reference CPU per request at c={top} at most 3x the real proxy's", cost <= 3, f"{cost:.2f}x")
        share = ref["rps"] / agw["rps"]
        report.goal(f"reference throughput at c={top} at least 1/3 of the real proxy's", share >= 1 / 3, f"{share:.2f} of it")


def _workers(stack, wrk, one_key, args, report) -> None:
    counts = [int(n) for n in args.workers.split(",")]
    report.say(f"\n## --workers scaling (Strict, 1 key, c={16 if args.smoke else CONCURRENCY[-1]})")
    variants = {}
    for count in counts:
        gateway = stack.gateway(f"gw-workers-{count}", key_files([one_key]), workers=count)
        gateway.wait_for(one_key, 200)
        variants[count] = gateway.url
    samples: dict[int, list[Result]] = {n: [] for n in counts}
    concurrency = 16 if args.smoke else CONCURRENCY[-1]
    for _ in range(args.rounds):
        for count in counts:
            samples[count].append(wrk.run(variants[count] + "/anything", concurrency, args.seconds))
    report.say("| workers | req/s | p99 | vs 1 worker |")
    report.say("|---|---|---|---|")
    base = statistics.median(r.rps for r in samples[counts[0]])
    for count in counts:
        rps = statistics.median(r.rps for r in samples[count])
        report.say(f"| {count} | {rps:,.0f} | {statistics.median(r.p99_ms for r in samples[count]):.1f} ms | {_fmt_ratio(rps / base)} |")
    report.data["workers"] = {n: statistics.median(r.rps for r in samples[n]) for n in counts}
    cpus = len(stack.server_cpus.split(",")) if stack.server_cpus else len(os.sched_getaffinity(0))
    report.say(f"(the servers have {cpus} CPU(s), shared by the echo backend{'' if stack.server_cpus else ' and wrk'}: "
               "workers beyond that many cannot add throughput)")


def _churn(stack, wrk, stable, args, report) -> None:
    seconds = max(3.0, args.seconds) if not args.smoke else 1.0
    report.say(f"\n## Configuration changes under load (wrk c=16 presenting a key both versions keep; {args.churn_keys:,} keys)")
    replaced, revoked = measure.churn(stack, wrk, stable, args.churn_keys, seconds)
    for what, change in (("Secret replaced by another set of keys", replaced), ("one key revoked", revoked)):
        report.say(f"- {what}: enforced after {change.seconds:.2f} s; {change.failed} failed of {change.requests:,} requests")
    report.data["churn"] = {"replaced": vars(replaced), "revoked": vars(revoked)}
    report.goal(f"a {args.churn_keys:,}-key Secret change enforced within 1 s under load, no failed request",
                replaced.seconds <= 1.0 and replaced.failed == 0, f"{replaced.seconds:.2f} s, {replaced.failed} failed")
    report.goal("a revoked key refused within 1 s", revoked.seconds <= 1.0, f"{revoked.seconds:.2f} s, {revoked.failed} failed")


def _memory(stack, args, report) -> None:
    report.say("\n## Memory and load time (keys written to a running gateway; half raw, half keyHash)")
    report.say("| keys | Secrets | load time | resident memory | extra over no keys |")
    report.say("|---|---|---|---|---|")
    sizes = sorted({0, min(10_000, args.keys), args.keys})
    results = []
    for count in sizes:
        result = measure.memory(stack, count)
        results.append(result)
        secrets = len(bench_keys.secrets(bench_keys.make_keys(count))) if count else 0
        report.say(f"| {count:,} | {secrets} | {result.load_seconds:.2f} s | {result.rss_mb:.0f} MB | {result.extra_mb:.0f} MB |")
    report.data["memory"] = [vars(r) for r in results]
    largest = results[-1]
    report.goal(f"loading {largest.keys:,} keys takes at most 2 s", largest.load_seconds <= 2.0, f"{largest.load_seconds:.2f} s")
    report.goal(f"{largest.keys:,} keys cost at most 60 MB of extra resident memory", largest.extra_mb <= 60, f"{largest.extra_mb:.0f} MB")


def _suite(args, report) -> None:
    report.say("\n## The conformance suite's wall time (pytest features/, reference target)")
    runs = [["-m", "APIKEY-DOC-001"]] if args.smoke else [[], ["-n", str(args.suite_workers)]]
    times = {}
    for extra in runs:
        took = measure.suite(extra)
        label = "pytest features/ " + " ".join(extra)
        times[label.strip()] = took
        report.say(f"- {label.strip()}: {took:.1f} s")
    report.data["suite_seconds"] = times
    if not args.smoke:
        serial = times["pytest features/"]
        report.goal("pytest features/ in at most 20 s", serial <= 20, f"{serial:.1f} s; with -n {args.suite_workers}: "
                    f"{times[f'pytest features/ -n {args.suite_workers}']:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
