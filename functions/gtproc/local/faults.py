"""Seeded faults at the adapter boundary, the way AWS and Lambda produce them.

Wrap a port (publisher, job state, label store, blob store) in `Faulty` and each call may, by the
seed: fail with a transient error (throttling, 5xx, a timeout); for PutEvents, reject some entries;
or kill the instance before or after the call took effect; or, in the middle of a run, start a second
invocation of the same records on another instance and run it to its end (SQS may deliver a message
to two consumers at once; two writes of one job may land together). A kill raises `InstanceKilled`, a
BaseException that `except Exception` never catches, and from then on every call of the dead
instance raises again without reaching the adapter: no release, no commit, no cleanup runs, as
when Lambda ends a run at its timeout or out of memory. `revive()` starts the next invocation.

Facts PutEvents accepted but that neither a journal write nor a ledger save recorded when the run
ended (killed, or failed) are counted in `window_facts`: the documented window where a fact may be
published twice.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

from gtproc.usecases.ports import EventEntry


class InstanceKilled(BaseException):
    """The function instance is gone (timeout, out of memory): nothing after this runs."""


class InjectedFault(Exception):
    """A transient AWS error: throttling, an internal error, a timeout."""


class Faults:
    def __init__(
        self, seed: int, error_rate: float = 0.08, kill_rate: float = 0.02, concurrent_rate: float = 0.03
    ) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        # Its own stream, so adding concurrency left the other faults of a seed as they were.
        self.concurrent_rng = random.Random(f"concurrent-{seed}")
        self.error_rate, self.kill_rate, self.concurrent_rate = error_rate, kill_rate, concurrent_rate
        self.concurrent: Callable[[], None] | None = None  # starts the second invocation, once per run
        self.dead = False
        self.enabled = True
        self.injected: Counter[str] = Counter()
        self.window_facts: Counter[Any] = Counter()
        self.fact_of: Callable[[EventEntry], list[Any]] = lambda entry: list(entry.facts)
        self.unrecorded: list[Any] = []  # accepted by PutEvents, not yet journaled or in a saved ledger

    def revive(self) -> None:
        """The next invocation, on a fresh instance."""
        self.dead = False
        self.unrecorded = []

    def suspend(self) -> tuple[bool, list[Any]]:
        """Another instance starts while this one is mid-run: keep this one's state aside."""
        saved = (self.dead, self.unrecorded)
        self.revive()
        return saved

    def resume(self, saved: tuple[bool, list[Any]]) -> None:
        self.dead, self.unrecorded = saved

    def run_ended(self) -> None:
        """The run failed or was killed: what it published without recording is the window."""
        self.window_facts.update(self.unrecorded)
        self.unrecorded = []

    def _roll(self, rate: float) -> bool:
        return self.enabled and self.rng.random() < rate

    def before(self, name: str) -> None:
        if self.dead:
            raise InstanceKilled(name)
        if self.concurrent is not None and self.enabled and self.concurrent_rng.random() < self.concurrent_rate:
            start, self.concurrent = self.concurrent, None
            self.injected["concurrent invocation"] += 1
            start()
        if self._roll(self.kill_rate):
            self._kill(f"kill before {name}")
        if self._roll(self.error_rate):
            self.injected[f"error {name}"] += 1
            raise InjectedFault(f"injected: {name} failed")

    def after(self, name: str, accepted: Sequence[EventEntry] = ()) -> None:
        for entry in accepted:
            self.unrecorded.extend(self.fact_of(entry))
        if name.endswith((".record_published", ".save_ledger", ".mark_published")):
            self.unrecorded = []
        if self._roll(self.kill_rate):
            self._kill(f"kill after {name}")

    def _kill(self, what: str) -> None:
        self.injected[what] += 1
        self.dead = True
        self.run_ended()
        raise InstanceKilled(what)


class Faulty:
    """A port whose every call may fail or kill the instance; `put` may also reject entries."""

    def __init__(self, inner: Any, faults: Faults, name: str) -> None:
        self._inner, self._faults, self._name = inner, faults, name

    def __getattr__(self, attribute: str) -> Any:
        target = getattr(self._inner, attribute)
        if not callable(target):
            return target
        faults, name = self._faults, f"{self._name}.{attribute}"

        def call(*args: Any, **kwargs: Any) -> Any:
            faults.before(name)
            if attribute == "put" and args and faults._roll(faults.error_rate):
                return self._partial_put(list(args[0]))
            result = target(*args, **kwargs)
            if attribute == "put" and args:
                entries = list(args[0])
                faults.after(name, [entry for i, entry in enumerate(entries) if i not in set(result)])
            else:
                faults.after(name)
            return result

        return call

    def _partial_put(self, entries: list[EventEntry]) -> list[int]:
        """PutEvents accepts some entries and rejects others (FailedEntryCount > 0)."""
        faults = self._faults
        rejected = {i for i in range(len(entries)) if faults.rng.random() < 0.5} or {0}
        faults.injected["PutEvents partial failure"] += 1
        accepted = [entry for i, entry in enumerate(entries) if i not in rejected]
        failed_inside = set(self._inner.put(accepted)) if accepted else set()
        faults.unrecorded.extend(
            fact for i, entry in enumerate(accepted) if i not in failed_inside for fact in faults.fact_of(entry)
        )
        kept = [i for i in range(len(entries)) if i not in rejected]
        return sorted(rejected | {kept[i] for i in failed_inside})
