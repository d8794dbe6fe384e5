"""Retries, partial publication, runs that die before committing, and the job lease."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryPublisher
from gtproc.contract.events import JOB_COMPLETED, OBJECTS_LABELED
from gtproc.usecases.ports import LeaseHeld, PublishFailed
from gtproc.usecases.process_manifest import PipelineConfig

from tests.unit.pipeline.pipeline_support import (
    BUCKET,
    Harness,
    final_key,
    intermediate_key,
    multi_attribute_snapshot,
    snapshot,
)

JOB = "cars-bbox"
JOB_ID = f"{BUCKET}/{JOB}"
ATTRIBUTES = ["cars-bbox", "cars-bbox-b", "cars-bbox-c"]  # one small event each, sent in one PutEvents call


class Crash(Exception):
    """The Lambda dies (timeout, out of memory) at this point."""


class Killed(BaseException):
    """The instance is gone: not an error a retry loop (`except Exception`) could catch."""


class LabelsDyingOnSave(MemoryLabels):
    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    def save_ledger(self, job_id: str, data: bytes) -> None:
        if self.failures:
            self.failures -= 1
            raise Crash("died while saving the ledger")
        super().save_ledger(job_id, data)


class StateDyingOnCommit(MemoryJobState):
    def __init__(self, failures: int = 1) -> None:
        super().__init__()
        self.failures = failures

    def commit(self, lease: Any, new_version: int, now: float, summary: dict[str, object]) -> None:
        if self.failures:
            self.failures -= 1
            raise Crash("died before the commit")
        super().commit(lease, new_version, now, summary)


class ThrottledPublisher(MemoryPublisher):
    """Raises (as a throttled or unreachable PutEvents) on the next `failures` calls."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def put(self, entries: Any) -> list[int]:
        if self.failures:
            self.failures -= 1
            self.calls += 1
            raise ConnectionError("ThrottlingException")
        return super().put(entries)


def labels_so_far(h: Harness) -> Counter[tuple[str, str, str]]:
    return Counter((r["datasetObjectId"], r["labelAttributeName"], r["status"]) for r in h.label_lines(JOB_ID))


def assert_labels_so_far_match_the_bus(h: Harness) -> None:
    published = h.fact_count()
    on_bus = Counter(
        {
            (obj_id, attr, "labeled" if t == OBJECTS_LABELED else "failed"): n
            for (t, attr, obj_id), n in published.items()
        }
    )
    assert labels_so_far(h) == on_bus


# ---- PutEvents failures -------------------------------------------------------------------------------------


def test_rejected_entries_are_retried_with_backoff_and_published_once(harness: Harness) -> None:
    harness.publisher.fail_next = [{0, 2}, {0}]
    outcome = harness.process(intermediate_key(JOB, 1), multi_attribute_snapshot(JOB, 30, ATTRIBUTES, range(20)))

    assert outcome.published == {OBJECTS_LABELED: 60}
    assert harness.publisher.calls == 3 == outcome.put_events_calls
    assert harness.clock.sleeps == [0.2, 0.4]
    assert [json.loads(e.detail)["labelAttributeName"] for e in harness.publisher.events] == [
        "cars-bbox-b",
        "cars-bbox-c",
        "cars-bbox",
    ]
    assert harness.published() == Counter({(a, str(i)): 1 for a in ATTRIBUTES for i in range(20)})
    assert harness.state.jobs[JOB_ID].version == 1


def test_a_throttled_call_is_retried_whole(make_harness) -> None:
    h: Harness = make_harness(publisher=ThrottledPublisher(failures=2))
    outcome = h.process(intermediate_key(JOB, 1), snapshot(JOB, 20, labeled=range(20)))

    assert outcome.published == {OBJECTS_LABELED: 20}
    assert h.clock.sleeps == [0.2, 0.4]
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(20)})


def test_persistent_failure_commits_what_was_published_and_a_retry_publishes_the_rest(harness: Harness) -> None:
    key = intermediate_key(JOB, 1)
    data = multi_attribute_snapshot(JOB, 30, ATTRIBUTES, range(20))
    harness.publisher.fail_next = [{1}, {0}, {0}, {0}]  # the second event is rejected on every attempt
    with pytest.raises(PublishFailed):
        harness.process(key, data)

    first = harness.published()
    assert set(first) == {(a, str(i)) for a in ("cars-bbox", "cars-bbox-c") for i in range(20)}
    assert max(first.values()) == 1
    job = harness.state.jobs[JOB_ID]
    assert job.version == 1 and job.owner is None  # committed, lease released
    assert job.summary["labeled"] == len(first)
    assert harness.clock.sleeps == [0.2, 0.4, 0.8]
    assert labels_so_far(harness) == Counter({(i, a, "labeled"): 1 for a, i in first})

    retry = harness.process(key, data)
    assert retry.published == {OBJECTS_LABELED: 20}
    assert {d["labelAttributeName"] for d in harness.details()[-1:]} == {"cars-bbox-b"}
    assert harness.published() == Counter({(a, str(i)): 1 for a in ATTRIBUTES for i in range(20)})
    assert harness.state.jobs[JOB_ID].version == 2
    assert_labels_so_far_match_the_bus(harness)


def test_persistent_failure_of_everything_commits_nothing(harness: Harness) -> None:
    key = final_key(JOB)
    data = snapshot(JOB, 10, labeled=range(10))
    harness.publisher.fail_next = [{0}] * 4
    with pytest.raises(PublishFailed):
        harness.process(key, data)

    assert harness.publisher.events == []
    job = harness.state.jobs[JOB_ID]
    assert job.version == 0 and job.owner is None
    assert harness.labels.ledgers == {}

    retry = harness.process(key, data)
    assert retry.completed and retry.published == {OBJECTS_LABELED: 10, JOB_COMPLETED: 1}


def test_a_failed_completion_is_published_on_the_next_run_only(harness: Harness) -> None:
    key = final_key(JOB)
    data = snapshot(JOB, 10, labeled=range(10))
    harness.publisher.fail_next = [set(), {0}, {0}, {0}, {0}]  # the objects pass, the completion does not
    with pytest.raises(PublishFailed):
        harness.process(key, data)
    assert len(harness.published()) == 10 and harness.completions() == []

    retry = harness.process(key, data)
    assert retry.published == {JOB_COMPLETED: 1}
    assert len(harness.completions()) == 1
    assert max(harness.published().values()) == 1


# ---- runs that die between publishing and committing ----------------------------------------------------


@pytest.mark.parametrize(
    "die",
    [
        pytest.param({"labels": LabelsDyingOnSave()}, id="save_ledger"),
        pytest.param({"state": StateDyingOnCommit()}, id="commit"),
    ],
)
def test_a_run_dying_after_publishing_is_recovered_from_the_journal(make_harness, die: dict[str, Any]) -> None:
    h: Harness = make_harness(**die)
    key = intermediate_key(JOB, 1)
    with pytest.raises(Crash):
        h.process(key, snapshot(JOB, 20, labeled=range(8)))
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(8)})
    assert h.state.jobs[JOB_ID].version == 0 and h.state.jobs[JOB_ID].owner is None

    same = h.process(key, snapshot(JOB, 20, labeled=range(8)))
    assert same.published == {}
    assert h.state.jobs[JOB_ID].version == 1  # the recovered facts are committed

    more = h.process(key, snapshot(JOB, 20, labeled=range(12)))
    assert more.published == {OBJECTS_LABELED: 4}
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(12)})


@pytest.mark.parametrize(
    "die",
    [
        pytest.param({"labels": LabelsDyingOnSave()}, id="save_ledger"),
        pytest.param({"state": StateDyingOnCommit()}, id="commit"),
    ],
)
def test_the_run_after_a_dead_one_keeps_the_labels_it_wrote(make_harness, die: dict[str, Any]) -> None:
    """The dead run wrote its labels part; the next run (same version) must not overwrite it."""
    h: Harness = make_harness(**die)
    with pytest.raises(Crash):
        h.process(intermediate_key(JOB, 1), snapshot(JOB, 20, labeled=range(8)))
    recovered_and_new = h.process(intermediate_key(JOB, 2), snapshot(JOB, 20, labeled=range(14)))

    assert recovered_and_new.published == {OBJECTS_LABELED: 6}
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(14)})
    assert_labels_so_far_match_the_bus(h)


def test_a_final_manifest_run_dying_after_the_completion_does_not_complete_twice(make_harness) -> None:
    h: Harness = make_harness(state=StateDyingOnCommit())
    key = final_key(JOB)
    with pytest.raises(Crash):
        h.process(key, snapshot(JOB, 5, labeled=range(5)))
    again = h.process(key, snapshot(JOB, 5, labeled=range(5)))

    assert again.published == {} and not again.completed
    assert len(h.completions()) == 1
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(5)})


# ---- the lease -------------------------------------------------------------------------------------------------


def test_a_second_acquire_while_the_lease_is_held_raises() -> None:
    state = MemoryJobState()
    lease = state.acquire(JOB_ID, "first", now=100.0, lease_seconds=60)
    with pytest.raises(LeaseHeld):
        state.acquire(JOB_ID, "second", now=159.0, lease_seconds=60)
    assert state.acquire(JOB_ID, "first", now=120.0, lease_seconds=60).owner == "first"  # the owner renews
    state.release(lease)
    assert state.acquire(JOB_ID, "second", now=130.0, lease_seconds=60).owner == "second"


def test_an_expired_lease_is_taken_over_and_the_old_owner_cannot_commit() -> None:
    state = MemoryJobState()
    old = state.acquire(JOB_ID, "old", now=100.0, lease_seconds=60)
    new = state.acquire(JOB_ID, "new", now=161.0, lease_seconds=60)
    assert new.owner == "new"
    with pytest.raises(LeaseHeld):
        state.commit(old, 1, now=162.0, summary={})
    state.release(old)  # a no-op: not the owner any more
    assert state.jobs[JOB_ID].owner == "new"
    state.commit(new, 1, now=163.0, summary={})
    assert state.jobs[JOB_ID].version == 1 and state.jobs[JOB_ID].owner is None


def test_process_manifest_waits_for_a_held_lease_then_raises(make_harness) -> None:
    h: Harness = make_harness(config=PipelineConfig(lease_wait_seconds=20.0))
    h.state.acquire(JOB_ID, "another-invocation", now=h.clock(), lease_seconds=900)
    start = h.clock()
    with pytest.raises(LeaseHeld):
        h.process(intermediate_key(JOB, 1), snapshot(JOB, 3, labeled=range(3)))

    assert len(h.clock.sleeps) >= 3
    assert h.clock.sleeps == sorted(h.clock.sleeps)  # backing off
    assert h.clock() - start <= 20.0
    assert h.publisher.calls == 0 and h.labels.calls == 0
    assert h.state.jobs[JOB_ID].owner == "another-invocation"


def test_process_manifest_gets_the_lease_when_the_other_run_releases_it(make_harness) -> None:
    h: Harness = make_harness(config=PipelineConfig(lease_wait_seconds=20.0))
    other = h.state.acquire(JOB_ID, "another-invocation", now=h.clock(), lease_seconds=900)
    original_sleep = h.clock.sleep

    def sleep(seconds: float) -> None:
        original_sleep(seconds)
        if len(h.clock.sleeps) == 2:
            h.state.release(other)

    h.pm.sleep = sleep
    outcome = h.process(intermediate_key(JOB, 1), snapshot(JOB, 3, labeled=range(3)))
    assert outcome.published == {OBJECTS_LABELED: 3}
    assert len(h.clock.sleeps) == 2


def test_process_manifest_takes_over_an_expired_lease(make_harness) -> None:
    h: Harness = make_harness(config=PipelineConfig(lease_seconds=900))
    h.state.acquire(JOB_ID, "crashed-invocation", now=h.clock() - 901, lease_seconds=900)
    outcome = h.process(intermediate_key(JOB, 1), snapshot(JOB, 3, labeled=range(3)))

    assert outcome.published == {OBJECTS_LABELED: 3}
    assert h.clock.sleeps == []
    assert h.state.jobs[JOB_ID].owner is None and h.state.jobs[JOB_ID].version == 1


class StateDyingAfterJournal(MemoryJobState):
    """The function instance dies right after journaling a publication: its label lines were still in memory."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    def record_published(self, lease: Any, facts: Any, now: float) -> None:
        super().record_published(lease, facts, now)
        if self.armed:
            self.armed = False
            raise Killed("died after journaling, before writing the labels")


def test_labels_of_a_run_that_died_mid_publish_are_written_by_the_next_run(make_harness) -> None:
    h: Harness = make_harness(state=StateDyingAfterJournal())
    key = intermediate_key(JOB, 1)
    with pytest.raises(Killed):
        h.process(key, snapshot(JOB, 20, labeled=range(8)))
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(8)})
    assert not h.labels.parts  # the dead run wrote no label line

    again = h.process(key, snapshot(JOB, 20, labeled=range(10)))

    assert again.published == {OBJECTS_LABELED: 2}  # only the new ones are published
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(10)})
    assert_labels_so_far_match_the_bus(h)  # and the dead run's 8 labels are in the labels so far
