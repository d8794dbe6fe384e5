"""Pack facts into events under the size limit, and put them on the bus in batches with retries.

A fact is recorded (journaled, then folded into the ledger) only after PutEvents accepted its event,
so a retry of a failed batch publishes only what is missing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec

from gtproc.contract.events import MAX_ENTRIES_PER_PUT, MAX_PUT_BYTES
from gtproc.domain.ledger import FactKey
from gtproc.usecases.ports import EventEntry, EventPublisher, PublishFailed

# Room left in each event for the envelope (source, detail-type, bus name, resources).
MAX_DETAIL_BYTES = MAX_PUT_BYTES - 2048
_ENTRY_OVERHEAD = 256

_encoder = msgspec.json.Encoder()


def entry_size(entry: EventEntry) -> int:
    return len(entry.detail) + len(entry.detail_type) + _ENTRY_OVERHEAD


class EventPacker:
    """Accumulates encoded items of one event frame and cuts events at the size limit.

    `count_field` counts the facts of the event: objects for Objects Labeled, lines for Validation Failed.
    """

    def __init__(self, detail_type: str, frame: dict[str, Any], items_field: str, count_field: str | None) -> None:
        self.detail_type = detail_type
        self.frame = frame
        self.items_field = items_field
        self.count_field = count_field
        self.frame_bytes = len(_encoder.encode(frame)) + len(items_field) + 32
        self.items: list[msgspec.Raw] = []
        self.facts: list[FactKey] = []
        self.labels: list[bytes] = []
        self.size = self.frame_bytes

    def room(self) -> int:
        """The largest item an event of this frame can hold."""
        return MAX_DETAIL_BYTES - self.frame_bytes - 1

    def add(self, items: Sequence[Any], facts: Sequence[FactKey]) -> EventEntry | None:
        """Add items that publish `facts` together; returns the finished event when they did not fit."""
        return self.add_encoded([_encoder.encode(item) for item in items], facts)

    def add_encoded(
        self, encoded: Sequence[bytes], facts: Sequence[FactKey], labels: Sequence[bytes] = ()
    ) -> EventEntry | None:
        """`labels`: the label lines the job's labels so far gain once the event is on the bus."""
        size = sum(len(item) + 1 for item in encoded)
        finished = None
        if self.items and self.size + size > MAX_DETAIL_BYTES:
            finished = self.cut()
        self.items.extend(msgspec.Raw(item) for item in encoded)
        self.facts.extend(facts)
        self.labels.extend(labels)
        self.size += size
        return finished

    def cut(self) -> EventEntry | None:
        if not self.items:
            return None
        detail = dict(self.frame)
        if self.count_field:
            detail[self.count_field] = len(self.facts)
        detail[self.items_field] = self.items
        entry = EventEntry(self.detail_type, _encoder.encode(detail), tuple(self.facts), tuple(self.labels))
        self.items, self.facts, self.labels, self.size = [], [], [], self.frame_bytes
        return entry


class BatchSender:
    """Puts events in PutEvents batches (<= 10 entries, <= 256 KiB), retrying failed entries.

    It never calls back: `put` yields what each call accepted, so the caller records it (the
    journal) before the next call is made.
    """

    def __init__(
        self,
        publisher: EventPublisher,
        attempts: int = 4,
        base_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.publisher = publisher
        self.attempts = attempts
        self.base_delay = base_delay
        self.sleep = sleep
        self.pending: list[EventEntry] = []
        self.pending_bytes = 0
        self.calls = 0
        self.published = 0

    def add(self, entry: EventEntry) -> list[EventEntry]:
        """Queue an event; returns the batch to put first when the event does not fit in it (else [])."""
        size = entry_size(entry)
        full: list[EventEntry] = []
        if self.pending and (len(self.pending) >= MAX_ENTRIES_PER_PUT or self.pending_bytes + size > MAX_PUT_BYTES):
            full = self.take()
        self.pending.append(entry)
        self.pending_bytes += size
        return full

    def take(self) -> list[EventEntry]:
        """The queued batch, to put now."""
        batch, self.pending, self.pending_bytes = self.pending, [], 0
        return batch

    def put(self, batch: Sequence[EventEntry]) -> Iterator[list[EventEntry]]:
        """Put a batch; yields the entries each call accepted. Raises PublishFailed for the rest."""
        batch = list(batch)
        for attempt in range(self.attempts):
            if not batch:
                return
            if attempt:
                self.sleep(self.base_delay * 2 ** (attempt - 1))
            self.calls += 1
            try:
                failed = set(self.publisher.put(batch))
            except Exception as error:  # throttling or a network error: the whole batch is retried
                failed = set(range(len(batch)))
                if attempt == self.attempts - 1:
                    message = f"PutEvents failed for {len(batch)} events after {self.attempts} attempts: {error}"
                    raise PublishFailed(message) from error
            done = [entry for position, entry in enumerate(batch) if position not in failed]
            if done:
                self.published += len(done)
                yield done
            batch = [entry for position, entry in enumerate(batch) if position in failed]
        if batch:
            raise PublishFailed(f"{len(batch)} events were not accepted by PutEvents after {self.attempts} attempts")


def publish(publisher: EventPublisher, entries: Sequence[EventEntry], sleep: Callable[[float], None]) -> None:
    """Put events whose acceptance needs no record (the annotations' claims record them)."""
    for _ in BatchSender(publisher, sleep=sleep).put(entries):
        pass
