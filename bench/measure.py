"""The measurements that are not throughput: configuration changes, memory, the suite."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from conformance.http import Request
from conformance.targets.base import AddressTarget

from . import keys as bench_keys
from .load import Wrk
from .stack import Gateway, Stack, key_files, rss_mb

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Change:
    seconds: float  # from the first write until the change was seen to be enforced
    failed: int  # failed requests of the load running meanwhile
    requests: int


def churn(stack: Stack, wrk: Wrk, stable: str, count: int, load_seconds: float) -> tuple[Change, Change]:
    """A Secret of `count` keys replaced by another, then one key revoked, each under load.

    The load presents `stable`, a key that both versions hold, so any refusal or error it
    meets is a failure of the change, not of the key.
    """
    old = [stable, *bench_keys.make_keys(count - 1, seed="a")]
    new = [stable, *bench_keys.make_keys(count - 1, seed="b")]
    gateway = stack.gateway(f"churn-{count}", key_files(old, "churn"))
    gateway.wait_for(old[-1], 200)
    replaced = _under_load(gateway, wrk, load_seconds, lambda: _replace(gateway, old, new))
    revoked_key = new[-1]
    remaining = new[:-1]
    revoked = _under_load(gateway, wrk, load_seconds, lambda: _revoke(gateway, remaining, new, revoked_key))
    return replaced, revoked


def _replace(gateway: Gateway, old: list[str], new: list[str]) -> float:
    start = time.monotonic()
    _write_keys(gateway, new, len(bench_keys.secrets(old, "churn")))
    # Enforced: a key only the new set holds is accepted, and one only the old set held is refused.
    gateway.wait_for(new[-1], 200)
    gateway.wait_for(old[-1], 401)
    return time.monotonic() - start


def _revoke(gateway: Gateway, remaining: list[str], before: list[str], key: str) -> float:
    start = time.monotonic()
    _write_keys(gateway, remaining, len(bench_keys.secrets(before, "churn")))
    gateway.wait_for(key, 401)
    return time.monotonic() - start


def _write_keys(gateway: Gateway, keys: list[str], previous_files: int) -> None:
    files = bench_keys.secrets(keys, "churn")
    for name, text in files.items():
        gateway.write(f"{name}.yaml", text)
    for index in range(len(files), previous_files):
        gateway.remove(f"churn-{index:03d}.yaml")


def _under_load(gateway: Gateway, wrk: Wrk, seconds: float, change) -> Change:
    proc = wrk.start(gateway.url + "/anything", 16, seconds)
    time.sleep(min(1.0, seconds / 3))
    took = change()
    result = wrk.finish(proc)
    return Change(took, result.failed, result.requests)


@dataclass(frozen=True)
class Memory:
    keys: int
    load_seconds: float  # from writing the Secrets until the last key is accepted
    rss_mb: float  # resident memory once loaded
    extra_mb: float  # over the same gateway before the keys were written


def memory(stack: Stack, count: int) -> Memory:
    """A gateway with the policy but no Secrets yet; then `count` keys written at once."""
    gateway = stack.gateway(f"memory-{count}", {"policy.yaml": bench_keys.POLICY})
    gateway.wait_for(None, 401)
    time.sleep(0.3)
    before = rss_mb(gateway.pid)
    if count == 0:
        return Memory(0, 0.0, before, 0.0)
    keys = bench_keys.make_keys(count)
    files = bench_keys.secrets(keys)
    start = time.monotonic()
    for name, text in files.items():
        gateway.write(f"{name}.yaml", text)
    gateway.wait_for(keys[-1], 200, interval=0.01)  # the last Secret, a keyHash entry
    took = time.monotonic() - start
    gateway.wait_for(keys[0], 200)  # and the first, a raw one
    time.sleep(0.5)  # let the previous configuration be freed
    after = rss_mb(gateway.pid)
    gateway.program.stop()
    return Memory(count, took, after, after - before)


def harness_poll(echo_url: str, count: int) -> dict[str, float]:
    """Milliseconds per request: the harness's pooled `send`, against a new httpx transport each time."""
    target = AddressTarget(echo_url)
    request = Request(path="/status/200")
    target.send(request)
    pooled = []
    for _ in range(count):
        start = time.perf_counter()
        target.send(request)
        pooled.append(time.perf_counter() - start)
    target.close_transport()
    fresh = []
    for _ in range(count):
        start = time.perf_counter()
        httpx.get(echo_url + "/status/200", headers={"host": "www.example.com"})
        fresh.append(time.perf_counter() - start)
    return {"pooled send": statistics.median(pooled) * 1000, "new transport per request": statistics.median(fresh) * 1000}


def suite(args: list[str]) -> float:
    """Wall seconds of `pytest features/ <args>` against the default (reference) target."""
    start = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "pytest", "features/", "-q", "-p", "no:cacheprovider", *args], check=False, cwd=ROOT,
                         capture_output=True, text=True)
    took = time.monotonic() - start
    if run.returncode != 0:
        tail = "\n".join(run.stdout.splitlines()[-15:])
        raise RuntimeError(f"pytest features/ {' '.join(args)} failed (exit {run.returncode}):\n{tail}")
    return took
