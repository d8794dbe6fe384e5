"""Publish-once for the annotations pipeline: claim a record with the event it will publish, publish,
mark it published.

The claim holds the exact event. So whoever resumes a claim whose invocation died publishes that
same event, never a second, different one (worker quality may have moved on since). A failed
publish keeps the claim but makes it stale at once, so the next delivery resumes it with that same
event. The one window left: an invocation killed between PutEvents and the mark; its claim is
resumed once stale and the same event goes out a second time.

`AnnotationSession` is the annotations use case's view: records named by what they publish (our
consolidation of an object, its comparison, an invalid file's report), and a pending claim of another
delivery raised as `ClaimPending`, never acknowledged.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from gtproc.usecases.ports import AnnotationRecord, AnnotationStore, EventEntry, EventPublisher
from gtproc.usecases.publishing import publish

_DETAIL_TYPE = "eventDetailType"  # claim fields that are not part of the event's detail
_STATUS = "status"


class Claim(enum.Enum):
    FREE = "free"  # no record: consolidate and publish
    PUBLISHED = "published"  # out already (or being published by a live invocation)
    BUSY = "busy"
    RESUMED = "resumed"  # a dead invocation's claim, published now with its recorded event


class ClaimPending(Exception):
    """Another delivery holds the record's claim and may have died: retry this one later."""


class PublishOnce:
    def __init__(
        self,
        store: AnnotationStore,
        publish: Callable[[EventEntry], None],
        clock: Callable[[], float],
        stale_seconds: float,
    ) -> None:
        self.store, self.publish_entry, self.clock, self.stale_seconds = store, publish, clock, stale_seconds

    def check(self, job_id: str, record_id: str) -> Claim:
        """Where the record stands; a stale claim holding its event is resumed (published) here."""
        return self.check_read(job_id, record_id, self.store.get(job_id, record_id))

    def check_read(self, job_id: str, record_id: str, existing: dict[str, Any] | None) -> Claim:
        """`check`, given the record as just read from the store (None: there is none)."""
        if existing is None:
            return Claim.FREE
        if existing.get(_STATUS) == "published":
            return Claim.PUBLISHED
        stale_before = self.clock() - self.stale_seconds
        if _DETAIL_TYPE not in existing:
            # A claim of an older release, without its event: release it once stale, publish afresh.
            self.store.release_stale(job_id, record_id, stale_before)
            return Claim.FREE if self.store.get(job_id, record_id) is None else Claim.BUSY
        owner = uuid.uuid4().hex
        taken = self.store.take_over(job_id, record_id, owner, self.clock(), stale_before)
        if taken is None:
            return Claim.BUSY  # its invocation may still be publishing; if it died, its message returns
        detail = {k: v for k, v in taken.items() if k not in (_STATUS, _DETAIL_TYPE)}
        self._publish_and_mark(job_id, record_id, owner, EventEntry(str(taken[_DETAIL_TYPE]), _encode(detail), ()))
        return Claim.RESUMED

    def publish(self, job_id: str, record_id: str, entry: EventEntry, fields: dict[str, Any]) -> bool:
        """Claim the record with the event, publish it, mark it. False: another delivery claimed first.

        `fields`: the detail as builtins, as the caller built it (never decoded back from the entry)."""
        owner = uuid.uuid4().hex
        record: dict[str, Any] = {
            _STATUS: "pending",
            _DETAIL_TYPE: entry.detail_type,
            **fields,
        }
        if not self.store.claim(job_id, record_id, owner, self.clock(), record):
            return False
        self._publish_and_mark(job_id, record_id, owner, entry)
        return True

    def _publish_and_mark(self, job_id: str, record_id: str, owner: str, entry: EventEntry) -> None:
        try:
            self.publish_entry(entry)
        except Exception:
            # Perhaps not published (refused, throttled, or a timeout PutEvents may still have taken):
            # the claim is kept but made stale at once, and the retry publishes this same event.
            self.store.release_claim(job_id, record_id, owner)
            raise
        self.store.mark_published(job_id, record_id)


class AnnotationSession:
    """Publish-once over the annotations pipeline's records, for one delivery.

    `check` first (a dead delivery's claim is resumed there), then the costly work, then `publish`.
    A claim pending for another delivery raises ClaimPending: that delivery may have died, and if this
    one were acknowledged (SQS deletes the message) the fact would be lost. The redelivery comes after
    the visibility timeout, past the stale limit, when the claim is published or resumed."""

    def __init__(
        self,
        store: AnnotationStore,
        publisher: EventPublisher,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        stale_seconds: float,
    ) -> None:
        self.store = store
        # The bus port itself, so publishing never calls back into the use case.
        self._once = PublishOnce(store, lambda entry: publish(publisher, [entry], sleep), clock, stale_seconds)

    def check(self, job_id: str, record: AnnotationRecord) -> Claim:
        """FREE, PUBLISHED or RESUMED (published now, with the event its claim holds)."""
        return self.check_read(job_id, record, self.store.get(job_id, record.record_id))

    def check_read(self, job_id: str, record: AnnotationRecord, existing: dict[str, Any] | None) -> Claim:
        """`check`, given the record as just read from the store (None: there is none)."""
        claim = self._once.check_read(job_id, record.record_id, existing)
        if claim is Claim.BUSY:
            raise ClaimPending(f"{record.record_id} of {job_id} is claimed by another delivery")
        return claim

    def publish(self, job_id: str, record: AnnotationRecord, entry: EventEntry, fields: dict[str, Any]) -> bool:
        """Claim the record with this event, publish and mark it; False when another delivery claimed it
        first (and published it: a claim of theirs still pending raises ClaimPending). `fields`: the
        event's detail as builtins (`msgspec.to_builtins`), what the claim holds."""
        if self._once.publish(job_id, record.record_id, entry, fields):
            return True
        self.check(job_id, record)  # lost the race: fine if published, retried if still pending
        return False

    def recorded(self, job_id: str, record: AnnotationRecord) -> dict[str, Any] | None:
        """The record as its claim holds it (the event's fields and `status`), or None."""
        return self.store.get(job_id, record.record_id)


def _encode(detail: dict[str, Any]) -> bytes:
    return msgspec.json.encode(detail)
