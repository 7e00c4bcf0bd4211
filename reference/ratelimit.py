"""`traffic.rateLimit`: local limits counted in requests, after authentication and authorization.

As the product runs them (crates/agentgateway/src/store/policy.rs:240-265, :324-355): the
first entry whose condition holds applies, an entry without a condition applies to every
request that reaches it, and a condition that fails to evaluate does not hold (`eval_bool`,
crates/agentgateway/src/cel/types.rs:746-758). Each entry has a token bucket of its own
(crates/agentgateway/src/http/localratelimit.rs:58-69): `requests + burst` tokens at first and
at most, and `requests` more at the end of each `unit` (the controller's translation,
controller/pkg/agentgateway/plugins/traffic_plugin.go:1681-1712). A bucket lives as long as
the policy's rate limit is unchanged: the proxy builds a new one whenever it receives the
policy again (crates/agentgateway/src/types/agent_xds.rs:2344-2366).
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agwmodel.traffic import LocalLimit, RateLimit

from .cel import CelError, Program

# The product's refusal: ProxyError::RateLimitExceeded, a 429 with its message as a plain-text
# body and the bucket's state in x-ratelimit-* headers (crates/agentgateway/src/proxy/mod.rs:204-209,
# :296, :341-356, :404-406).
STATUS = 429
BODY = b"rate limit exceeded"

SECONDS = {"Seconds": 1, "Minutes": 60, "Hours": 3600}


@dataclass(frozen=True)
class Exceeded:
    limit: int  # the bucket's size
    remaining: int  # tokens left: 0 unless a request costs more than one
    reset_seconds: int  # whole seconds until the next refill

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"x-ratelimit-limit", b"%d" % self.limit), (b"x-ratelimit-remaining", b"%d" % self.remaining),
                (b"x-ratelimit-reset", b"%d" % self.reset_seconds)]


class Bucket:
    """The product's token bucket (localratelimit.rs:150-450, forked from pelikan's ratelimit):
    full when built, refilled by whole intervals counted from when it was built."""

    def __init__(self, limit: LocalLimit, now: float):
        self.capacity = limit.requests + limit.burst
        self.refill_amount = limit.requests
        self.interval = SECONDS[limit.unit]
        self.available = self.capacity
        self.refill_at = now + self.interval
        self._lock = threading.Lock()

    def take(self, now: float) -> Exceeded | None:
        with self._lock:
            if now >= self.refill_at:
                intervals = math.floor((now - self.refill_at) / self.interval) + 1
                self.refill_at += intervals * self.interval
                self.available = min(self.capacity, self.available + intervals * self.refill_amount)
            if self.available < 1:
                return Exceeded(self.capacity, self.available, int(self.refill_at - now))
            self.available -= 1
            return None


class Limiter:
    """One policy's rate limit: its entries' conditions and buckets."""

    def __init__(self, spec: RateLimit, now: float):
        self.entries = tuple((None if e.condition is None else Program(e.condition), None if e.limit is None else Bucket(e.limit, now))
                             for e in spec.entries)

    def _selected(self, variables: Mapping[str, Any]) -> Bucket | None:
        for condition, bucket in self.entries:
            if condition is None:
                return bucket
            try:
                if condition.evaluate(variables) is True:
                    return bucket
            except CelError:
                continue
        return None

    def check(self, variables: Mapping[str, Any], now: float | None = None) -> Exceeded | None:
        """Take a token from the bucket of the first entry that applies; what to answer when there is none."""
        bucket = self._selected(variables)
        return None if bucket is None else bucket.take(time.monotonic() if now is None else now)


# Every Limiter some configuration serves, by policy and rate limit: a configuration built
# again with the policy's rate limit unchanged gets the same one, buckets and all; once no
# configuration serves it, it goes, and the same limit applied again later starts full.
_LIVE: weakref.WeakValueDictionary[tuple, Limiter] = weakref.WeakValueDictionary()
_LIVE_LOCK = threading.Lock()


def limiter(namespace: str, name: str, spec: RateLimit) -> Limiter:
    key = (namespace, name, spec)
    with _LIVE_LOCK:
        found = _LIVE.get(key)
        if found is None:
            found = _LIVE[key] = Limiter(spec, time.monotonic())
        return found
