"""The annotations' publish-once session on its own: claim, publish, mark; a dead delivery's claim is
resumed with its exact event; a live delivery's pending claim is never acknowledged."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import msgspec
import pytest
from gtproc.adapters.memory import MemoryAnnotationStore, MemoryPublisher
from gtproc.contract.events import AnnotationsConsolidated
from gtproc.usecases.ports import ComparisonOf, ConsolidationOf, EventEntry, InvalidFileOf, PublishFailed
from gtproc.usecases.publish_once import AnnotationSession, Claim, ClaimPending

JOB = "bucket/flowers"
RECORD = ConsolidationOf(1, "7")
STALE = 900.0
CONSOLIDATED = "Annotations Consolidated"


class Killed(BaseException):
    """The instance is gone: no cleanup runs."""


class Bus(MemoryPublisher):
    def details(self) -> list[dict[str, object]]:
        return [json.loads(e.detail) for e in self.events]


class DownBus(MemoryPublisher):
    """PutEvents times out on every call (BatchSender's attempts included)."""

    def put(self, entries: Sequence[EventEntry]) -> list[int]:
        self.calls += 1
        raise ConnectionError("timeout")


def event(label: str, agreement: float = 0.6667) -> tuple[EventEntry, dict[str, object]]:
    detail = AnnotationsConsolidated(
        job_name="flowers",
        bucket="bucket",
        job_path="flowers",
        iteration=1,
        dataset_object_id="7",
        label_attribute_name="flowers",
        task_type="ImageClassification",
        label=0,
        metadata={"class-name": label, "confidence": 0.51, "creation-date": "2023-11-14T22:13:20.000000"},
        workers=3,
        agreement=agreement,
        method="dawid-skene",
        worker_ids=["a", "b", "c"],
        votes={label: 2, "other": 1},
    )
    return EventEntry(CONSOLIDATED, msgspec.json.encode(detail), ()), msgspec.to_builtins(detail)


@pytest.fixture
def now() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def parts(now):
    store, bus = MemoryAnnotationStore(), Bus()
    return AnnotationSession(store, bus, lambda: now[0], lambda seconds: None, STALE), store, bus


def test_claim_publish_mark(parts) -> None:
    session, store, bus = parts
    assert session.check(JOB, RECORD) is Claim.FREE
    entry, fields = event("rose")

    assert session.publish(JOB, RECORD, entry, fields)

    assert [e.detail for e in bus.events] == [entry.detail]
    recorded = session.recorded(JOB, RECORD)
    assert recorded == {**json.loads(entry.detail), "status": "published", "eventDetailType": CONSOLIDATED}
    assert (JOB, "ANN#1#7") in store.records  # the sort key deployed tables hold
    assert session.check(JOB, RECORD) is Claim.PUBLISHED
    assert bus.events == [entry]  # checking publishes nothing more


def test_a_second_publish_of_a_published_record_is_refused(parts) -> None:
    session, _store, bus = parts
    session.publish(JOB, RECORD, *event("rose"))
    assert not session.publish(JOB, RECORD, *event("tulip"))
    assert [d["metadata"]["class-name"] for d in bus.details()] == ["rose"]  # type: ignore[index]


def test_a_retry_after_a_crash_between_publish_and_mark_republishes_the_claimed_event(parts, now) -> None:
    session, store, bus = parts
    first, fields = event("rose")
    store.mark_published = lambda *args: (_ for _ in ()).throw(Killed())  # dies after PutEvents
    with pytest.raises(Killed):
        session.publish(JOB, RECORD, first, fields)
    del store.mark_published

    now[0] += STALE + 1
    # The retry would consolidate afresh (quality moved on: another label); the claim's event goes out.
    assert session.check(JOB, RECORD) is Claim.RESUMED
    assert not session.publish(JOB, RECORD, *event("tulip", agreement=1.0))
    assert [e.detail_type for e in bus.events] == [CONSOLIDATED] * 2
    assert bus.events[1].detail == first.detail  # byte for byte the claimed event
    assert session.check(JOB, RECORD) is Claim.PUBLISHED


def test_a_pending_claim_of_a_live_owner_is_not_acknowledged(parts, now) -> None:
    session, store, bus = parts
    _entry, fields = event("rose")
    claim = {"status": "pending", "eventDetailType": CONSOLIDATED, **fields}
    assert store.claim(JOB, RECORD.record_id, "live-owner", now[0] - 5, claim)

    with pytest.raises(ClaimPending, match="ANN#1#7 of bucket/flowers"):
        session.check(JOB, RECORD)
    # A delivery that lost the race to it is not acknowledged either.
    with pytest.raises(ClaimPending):
        session.publish(JOB, RECORD, *event("tulip"))
    assert bus.events == []
    assert store.get(JOB, RECORD.record_id) == claim  # still the live owner's


def test_a_failed_publish_leaves_the_claim_to_the_retry_at_once(parts) -> None:
    session, store, bus = parts
    entry, fields = event("rose")
    down, sleeps = DownBus(), []
    failing = AnnotationSession(store, down, lambda: 0.0, sleeps.append, 900)
    with pytest.raises(PublishFailed, match="timeout"):
        failing.publish(JOB, RECORD, entry, fields)
    assert down.calls == 4 and len(sleeps) == 3  # the bus's retries, on the session's sleep
    assert session.check(JOB, RECORD) is Claim.RESUMED  # no stale wait
    assert [e.detail for e in bus.events] == [entry.detail]


def test_the_claim_holds_the_event_as_its_json_would_decode() -> None:
    """The claim's body is the DynamoDB item deployed tables hold: the fields from the struct must
    encode to the same bytes as decoding the event's JSON did."""
    entry, fields = event("rose", agreement=0.1 + 0.2)
    legacy = {"status": "pending", "eventDetailType": CONSOLIDATED, **msgspec.json.decode(entry.detail)}
    ours = {"status": "pending", "eventDetailType": CONSOLIDATED, **fields}
    assert msgspec.json.encode(ours) == msgspec.json.encode(legacy)


def test_record_ids_are_the_deployed_sort_keys() -> None:
    key = "flowers/annotations/worker-response/iteration-2/7/2019-04-18_16:17:19.json"
    assert ConsolidationOf(2, "7").record_id == "ANN#2#7"
    assert ComparisonOf(2, "7").record_id == "CMP#2#7"
    assert InvalidFileOf(2, key).record_id == f"INV#2#{hashlib.sha256(key.encode()).hexdigest()[:32]}"
    assert InvalidFileOf(None, "k").record_id.startswith("INV#None#")  # a key without an iteration folder
