"""The annotations pipeline's publish-once session on its own: claim with the event, publish, mark."""

from __future__ import annotations

import json

import pytest
from gtproc.adapters.memory import MemoryAnnotationStore
from gtproc.usecases.ports import EventEntry
from gtproc.usecases.publish_once import Claim, PublishOnce

JOB, RECORD = "bucket/job", "ANN#1#7"
STALE = 900.0


class Killed(BaseException):
    """The instance is gone: no cleanup runs."""


class Bus:
    def __init__(self) -> None:
        self.events: list[EventEntry] = []
        self.fail: BaseException | None = None

    def __call__(self, entry: EventEntry) -> None:
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.events.append(entry)


def entry(label: str) -> tuple[EventEntry, dict[str, object]]:
    """The event and its detail as builtins, as the use cases hand them to the claim."""
    detail = {"jobName": "job", "datasetObjectId": "7", "label": label, "metadata": {"confidence": 0.5}}
    return EventEntry("Annotations Consolidated", json.dumps(detail).encode(), ()), detail


@pytest.fixture
def now() -> list[float]:
    return [1_000_000.0]


@pytest.fixture
def session(now):
    store, bus = MemoryAnnotationStore(), Bus()
    return PublishOnce(store, bus, lambda: now[0], STALE), store, bus


def test_the_first_claim_publishes_and_the_next_finds_it_published(session) -> None:
    once, _store, bus = session
    assert once.check(JOB, RECORD) is Claim.FREE
    assert once.publish(JOB, RECORD, *entry("cat"))
    assert not once.publish(JOB, RECORD, *entry("dog"))
    assert once.check(JOB, RECORD) is Claim.PUBLISHED
    assert [json.loads(e.detail)["label"] for e in bus.events] == ["cat"]


def test_a_live_claim_is_busy_and_publishes_nothing(session, now) -> None:
    once, store, bus = session
    store.claim(JOB, RECORD, "live", now[0] - 5, {"status": "pending", "eventDetailType": "X", "label": "cat"})
    assert once.check(JOB, RECORD) is Claim.BUSY
    assert bus.events == []


def test_a_killed_run_is_resumed_with_its_recorded_event_never_a_different_one(session, now) -> None:
    once, store, bus = session
    store.mark_published = lambda *args: (_ for _ in ()).throw(Killed())  # dies between publish and mark
    with pytest.raises(Killed):
        once.publish(JOB, RECORD, *entry("cat"))
    del store.mark_published
    assert once.check(JOB, RECORD) is Claim.BUSY  # within the stale limit: maybe still running

    now[0] += STALE + 1
    assert once.check(JOB, RECORD) is Claim.RESUMED
    # The one window: the same event twice, never another label (quality may have moved on since).
    assert [e.detail_type for e in bus.events] == ["Annotations Consolidated"] * 2
    assert [json.loads(e.detail) for e in bus.events] == [entry("cat")[1]] * 2
    assert once.check(JOB, RECORD) is Claim.PUBLISHED


@pytest.mark.parametrize("error", [ConnectionError("read timeout"), RuntimeError("throttled")])
def test_a_failed_publish_releases_the_claim_and_the_retry_publishes_the_same_event(session, error) -> None:
    once, _store, bus = session
    bus.fail = error
    with pytest.raises(type(error)):
        once.publish(JOB, RECORD, *entry("cat"))
    assert bus.events == []
    # Released at once (no stale wait), and the retry resumes it: the recorded event, not a new one.
    assert once.check(JOB, RECORD) is Claim.RESUMED
    assert [json.loads(e.detail)["label"] for e in bus.events] == ["cat"]
    assert not once.publish(JOB, RECORD, *entry("dog"))


def test_two_resumers_of_one_stale_claim_publish_once(session, now) -> None:
    once, store, bus = session
    store.claim(JOB, RECORD, "dead", now[0] - STALE - 1, {"status": "pending", "eventDetailType": "X", "label": "a"})
    first = store.take_over(JOB, RECORD, "first", now[0], now[0] - STALE)
    assert first is not None and first["label"] == "a"
    assert once.check(JOB, RECORD) is Claim.BUSY  # the first resumer owns it now
    assert bus.events == []


def test_a_claim_of_an_older_release_without_its_event_is_released_once_stale(session, now) -> None:
    once, store, _bus = session
    store.claim(JOB, RECORD, "dead", now[0] - STALE - 1, {"status": "pending"})
    assert once.check(JOB, RECORD) is Claim.FREE
    assert store.get(JOB, RECORD) is None


def test_the_claim_holds_the_fields_it_was_handed_not_the_entry_decoded_again(session) -> None:
    once, store, bus = session
    event, fields = entry("cat")
    encoded_elsewhere = EventEntry(event.detail_type, b'{"label":"not what the claim holds"}', ())
    assert once.publish(JOB, RECORD, encoded_elsewhere, fields)
    held = store.get(JOB, RECORD)
    assert held is not None and held["label"] == "cat" and held["metadata"] == {"confidence": 0.5}
    assert bus.events == [encoded_elsewhere]  # the bus gets the entry's own bytes
