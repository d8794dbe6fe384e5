"""A run that dies without cleanup (timeout, out of memory) holds its job only until its deadline."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryJobState
from gtproc.contract.events import OBJECTS_LABELED
from gtproc.usecases.ports import LeaseHeld, PublishFailed
from gtproc.usecases.process_manifest import PipelineConfig

from tests.unit.pipeline.pipeline_support import BUCKET, Harness, Killed, StateOfAKilledRun, intermediate_key, snapshot

JOB = "cars-bbox"
JOB_ID = f"{BUCKET}/{JOB}"
TIMEOUT = 300.0  # the function's timeout: the remaining time of a fresh invocation


def run(h: Harness, key: str, data: bytes | None = None) -> Any:
    if data is not None:
        h.write(key, data)
    return h.pm(BUCKET, key, deadline=h.clock() + TIMEOUT)


def test_the_lease_of_a_run_with_a_deadline_ends_at_the_deadline_plus_the_grace() -> None:
    state = StateOfAKilledRun()
    state.armed = False
    h = Harness(state=state)
    run(h, intermediate_key(JOB, 1), snapshot(JOB, 3, labeled=range(3)))
    assert state.lease_seconds == [TIMEOUT + h.config.lease_grace_seconds]
    h.pm(BUCKET, intermediate_key(JOB, 1))  # no deadline (CLI, tests): the configured length
    assert state.lease_seconds[-1] == h.config.lease_seconds


def test_a_killed_run_stalls_its_job_only_until_its_deadline_and_nothing_is_published_twice() -> None:
    state = StateOfAKilledRun()
    h = Harness(state=state, config=PipelineConfig(lease_wait_seconds=0))
    key = intermediate_key(JOB, 1)
    with pytest.raises(Killed):
        run(h, key, snapshot(JOB, 20, labeled=range(8)))
    assert state.jobs[JOB_ID].owner == state.dead_owner  # never released

    h.clock.advance(TIMEOUT - 1)  # the dead run's invocation could still be running
    with pytest.raises(LeaseHeld):
        run(h, key)

    h.clock.advance(1 + h.config.lease_grace_seconds + 1)  # well before the old 900 s lease
    outcome = run(h, key, snapshot(JOB, 20, labeled=range(12)))
    assert outcome.published == {OBJECTS_LABELED: 4}
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(12)})
    assert state.jobs[JOB_ID].owner is None and state.jobs[JOB_ID].version == 1


def test_the_wait_for_a_busy_job_leaves_the_run_its_time() -> None:
    h = Harness(config=PipelineConfig(lease_wait_seconds=20.0))
    h.state.acquire(JOB_ID, "another-invocation", now=h.clock(), lease_seconds=900)
    start = h.clock()
    with pytest.raises(LeaseHeld):
        h.pm(BUCKET, intermediate_key(JOB, 1), deadline=start + 25.0)
    assert h.clock() - start <= 5.0  # 25 s left: at least 20 s of them stay for the run


# ---- a journal write that fails after PutEvents accepted the batch ------------------------------------------


class FlakyJournal(MemoryJobState):
    """DynamoDB errors (not a crash) on the next `journal_failures` journal writes and `commit_failures` commits."""

    def __init__(self, journal_failures: int, commit_failures: int = 0) -> None:
        super().__init__()
        self.journal_failures, self.commit_failures = journal_failures, commit_failures

    def record_published(self, lease: Any, facts: Any, now: float) -> None:
        if self.journal_failures:
            self.journal_failures -= 1
            raise ConnectionError("ProvisionedThroughputExceededException")
        super().record_published(lease, facts, now)

    def commit(self, lease: Any, new_version: int, now: float, summary: dict[str, object]) -> None:
        if self.commit_failures:
            self.commit_failures -= 1
            raise ConnectionError("InternalServerError")
        super().commit(lease, new_version, now, summary)


def test_a_failing_journal_write_is_retried() -> None:
    h = Harness(state=FlakyJournal(journal_failures=2))
    outcome = h.process(intermediate_key(JOB, 1), snapshot(JOB, 20, labeled=range(8)))
    assert outcome.published == {OBJECTS_LABELED: 8}
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(8)})
    assert len(h.clock.sleeps) >= 2


@pytest.mark.parametrize("commit_failures", [0, 1], ids=["commit-ok", "dynamodb-down"])
def test_a_journal_that_keeps_failing_stops_the_run_and_the_retry_publishes_nothing_twice(commit_failures) -> None:
    state = FlakyJournal(journal_failures=10**6, commit_failures=commit_failures)
    h = Harness(state=state)
    key = intermediate_key(JOB, 1)
    with pytest.raises((PublishFailed, ConnectionError)):  # the commit's own error when DynamoDB is down
        h.process(key, snapshot(JOB, 20, labeled=range(8)))
    assert h.publisher.calls == 1  # nothing more published once the journal failed
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(8)})

    state.journal_failures = 0
    more = h.process(key, snapshot(JOB, 20, labeled=range(12)))
    assert more.published == {OBJECTS_LABELED: 4}
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(12)})
    labels = Counter(r["datasetObjectId"] for r in h.label_lines(JOB_ID))
    assert labels == Counter({str(i): 1 for i in range(12)})
