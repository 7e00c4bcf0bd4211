"""Load with churn: concurrent clients for a bounded time while keys come and go.

Client threads send requests through the gateway without pause; meanwhile a churn thread
adds, rotates and revokes keys (and, where it can reach the configuration files, writes
truncated and invalid versions of them). Every response is judged by what was true when
its request was sent:

- one key stays configured throughout: a refusal of it is *wrongly refused*;
- no key, or a key never configured: a 2xx is *wrongly accepted*;
- a revoked key, once its revocation has converged (3 refusals in a row seen by the
  churn thread): a 2xx is *wrongly accepted*;
- a key whose addition has converged and whose revocation has not begun by the time its
  answer comes back: a refusal is *wrongly refused*;
- any 5xx, and any request without an answer, is counted on its own.

Keys are generated fresh for each run and only compared, never printed.
"""

from __future__ import annotations

import collections
import itertools
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..waiting import TIMEOUTS, wait_until

Faults = list[tuple[str, Callable[[list[str]], None]]]
KINDS = ("steady", "no key", "never configured", "live", "revoked")


def new_key() -> str:
    return "churn-" + secrets.token_urlsafe(18)


@dataclass
class Figures:
    sent: int = 0
    by_kind: collections.Counter = field(default_factory=collections.Counter)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    five_xx: int = 0
    wrongly_accepted: int = 0
    wrongly_refused: int = 0
    no_answer: int = 0
    churn: collections.Counter = field(default_factory=collections.Counter)
    examples: list[str] = field(default_factory=list)  # what went wrong, first few, without keys

    def line(self) -> str:
        ops = ", ".join(f"{n} {op}" for op, n in sorted(self.churn.items()))
        return (f"{self.sent} requests ({', '.join(f'{self.by_kind[k]} {k}' for k in KINDS)}); "
                f"{self.five_xx} 5xx, {self.wrongly_accepted} wrongly accepted, {self.wrongly_refused} wrongly refused, "
                f"{self.no_answer} without an answer; churn: {ops}")

    @property
    def ok(self) -> bool:
        return not (self.five_xx or self.wrongly_accepted or self.wrongly_refused or self.no_answer)


class KeyBook:
    """Which keys are in force, with the times that matter for judging, shared by all threads."""

    def __init__(self, steady: str):
        self.steady = steady
        self.live: dict[str, float] = {}  # key -> when its addition converged
        self.revoking: dict[str, float] = {}  # key -> when its revocation began
        self.revoked: dict[str, float] = {}  # key -> when its revocation converged
        self.configured: list[str] = [steady]  # what the configuration holds now (in order)
        self.lock = threading.Lock()

    def pick(self, kind: str, rng: random.Random) -> str | None:
        with self.lock:
            if kind == "steady":
                return self.steady
            if kind == "live":
                return rng.choice(list(self.live)) if self.live else None
            if kind == "revoked":
                return rng.choice(list(self.revoked)) if self.revoked else None
        return None

    def still_live(self, key: str, until: float) -> bool:
        with self.lock:
            began = self.revoking.get(key)
        return began is None or began > until


class Churn:
    """Changes the keys in force, one step at a time, and waits for each to converge.

    `apply_keys(keys)` puts exactly these keys in force (the steady key is always among
    them). Each fault `(name, write(keys))` writes a broken version of a configuration file
    and then repairs it, given the keys in force; they must stay in force throughout.
    """

    def __init__(self, book: KeyBook, apply_keys: Callable[[list[str]], None], answer: Callable[[str | None], int],
                 faults: Faults = (), pause: float = 0.2, timeout: float = TIMEOUTS.change):
        self.book, self.apply_keys, self.answer = book, apply_keys, answer
        self.faults, self.pause, self.timeout = list(faults), pause, timeout
        self.done: collections.Counter = collections.Counter()
        self.failure: str | None = None

    def _converge(self, key: str, want: int) -> float:
        streak = 0

        def three_in_a_row() -> bool:
            nonlocal streak
            streak = streak + 1 if self.answer(key) == want else 0
            return streak >= 3

        wait_until(three_in_a_row, self.timeout, f"a key did not converge to {want} within {self.timeout:g} s")
        return time.monotonic()

    def _add(self) -> None:
        key = new_key()
        with self.book.lock:
            self.book.configured.append(key)
            keys = list(self.book.configured)
        self.apply_keys(keys)
        converged = self._converge(key, 200)
        with self.book.lock:
            self.book.live[key] = converged

    def _revoke(self, key: str) -> None:
        with self.book.lock:
            self.book.revoking[key] = time.monotonic()
            self.book.live.pop(key, None)
            self.book.configured.remove(key)
            keys = list(self.book.configured)
        self.apply_keys(keys)
        converged = self._converge(key, 401)
        with self.book.lock:
            self.book.revoked[key] = converged

    def _oldest_live(self) -> str | None:
        with self.book.lock:
            return next(iter(self.book.live), None)

    def run(self, stop: threading.Event) -> None:
        steps = itertools.cycle(["add", "rotate", "add", "revoke", *(["fault"] if self.faults else [])])
        faults = itertools.cycle(self.faults)
        try:
            while not stop.is_set():
                step = next(steps)
                if step == "add":
                    self._add()
                elif step in ("rotate", "revoke"):
                    old = self._oldest_live()
                    if step == "rotate":
                        self._add()  # both valid at once, then the old one goes
                    if old is not None:
                        self._revoke(old)
                else:
                    name, fault = next(faults)
                    with self.book.lock:
                        keys = list(self.book.configured)
                    fault(keys)
                    step = name
                self.done[step] += 1
                stop.wait(self.pause)
        except Exception as exc:  # noqa: BLE001 -- reported with the figures; the clients stop too
            self.failure = f"churn stopped: {type(exc).__name__}: {exc}"
            stop.set()


def _client_loop(url: str, host: str, path: str, book: KeyBook, figures: Figures, lock: threading.Lock, stop: threading.Event, seed: int,
                 header: Callable[[str], tuple[str, str]]) -> None:
    rng = random.Random(seed)
    kinds = itertools.cycle(KINDS[seed % len(KINDS):] + KINDS[: seed % len(KINDS)])
    with httpx.Client(base_url=url, timeout=TIMEOUTS.request, headers={"host": host}) as client:
        while not stop.is_set():
            kind = next(kinds)
            if kind == "never configured":
                key = new_key()
            elif kind == "no key":
                key = None
            else:
                key = book.pick(kind, rng)
                if key is None:
                    continue
            headers = dict([header(key)]) if key is not None else {}
            try:
                status = client.get(path, headers=headers).status_code
            except httpx.HTTPError as exc:
                status, problem = 0, type(exc).__name__
            answered = time.monotonic()
            with lock:
                figures.sent += 1
                figures.by_kind[kind] += 1
                figures.statuses[status] += 1
                verdict = _judge(kind, status, key, book, answered)
                if status == 0:
                    figures.no_answer += 1
                    verdict = f"no answer ({problem})"
                elif status >= 500:
                    figures.five_xx += 1
                    verdict = f"status {status}"
                elif verdict == "accepted":
                    figures.wrongly_accepted += 1
                elif verdict == "refused":
                    figures.wrongly_refused += 1
                if verdict and len(figures.examples) < 10:
                    figures.examples.append(f"{kind}: {verdict}")


def _judge(kind: str, status: int, key: str | None, book: KeyBook, answered: float) -> str:
    """'accepted' or 'refused' when that answer is wrong for this kind of key, else ''."""
    if status == 0 or status >= 500:
        return ""
    accepted = 200 <= status < 300
    if kind in ("no key", "never configured", "revoked"):
        return "accepted" if accepted else ""
    if kind == "steady" or (kind == "live" and book.still_live(key, answered)):
        return "" if accepted else "refused"
    return ""


def run(url: str, apply_keys: Callable[[list[str]], None], *, seconds: float, clients: int = 8, host: str = "www.example.com",
        path: str = "/headers", faults: Faults = (),
        header: Callable[[str], tuple[str, str]] = lambda key: ("authorization", f"Bearer {key}")) -> tuple[Figures, str | None]:
    """Run the load for `seconds`; (figures, why the churn stopped early or None).

    `apply_keys` must put the given keys in force behind a Strict policy on `host`.
    """
    book = KeyBook(new_key())
    apply_keys(list(book.configured))
    figures, lock, stop = Figures(), threading.Lock(), threading.Event()

    with httpx.Client(base_url=url, timeout=TIMEOUTS.request, headers={"host": host}) as probe:
        def answer(key: str | None) -> int:
            try:
                return probe.get(path, headers=dict([header(key)]) if key else {}).status_code
            except httpx.HTTPError:
                return 0

        churn = Churn(book, apply_keys, answer, faults)
        churn._converge(book.steady, 200)  # the starting point, before anything is judged
        threads = [threading.Thread(target=_client_loop, args=(url, host, path, book, figures, lock, stop, i, header), daemon=True)
                   for i in range(clients)]
        churner = threading.Thread(target=churn.run, args=(stop,), daemon=True)
        for thread in (*threads, churner):
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in (*threads, churner):
            thread.join(60)
    figures.churn = churn.done
    return figures, churn.failure
