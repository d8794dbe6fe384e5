"""Use case: SageMaker says a labeling job changed status; publish `Labeling Job Status Changed` once
per job and status (SageMaker may send the same change twice), with the job's label counters."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec

from gtproc.contract.events import JOB_STATUS_CHANGED, LabelCounters, LabelingJobStatusChanged
from gtproc.contract.layout import job_status_partition, job_status_record
from gtproc.usecases.ports import AnnotationStore, EventEntry, EventPublisher, LabelingJobs, PublishFailed
from gtproc.usecases.publish_once import ClaimPending

_COUNTERS = ("TotalLabeled", "HumanLabeled", "MachineLabeled", "FailedNonRetryableError", "Unlabeled")


class StatusOutcome(msgspec.Struct):
    job_name: str
    status: str
    published: bool = False
    described: bool = False


def label_counters(counters: dict[str, int] | None) -> LabelCounters | None:
    if counters is None:
        return None
    values = [int(counters.get(name) or 0) for name in _COUNTERS]
    return LabelCounters(
        total_labeled=values[0],
        human_labeled=values[1],
        machine_labeled=values[2],
        failed_non_retryable_error=values[3],
        unlabeled=values[4],
    )


class PublishJobStatus:
    """A conditional write claims (job, status) first; the event is published, then the claim marked.

    `publish_once.PublishOnce` keeps the event in the claim with a `status` of its own, which this
    event's `status` field would overwrite: so the claim here holds no event, and a claim left by a dead
    invocation is taken over once stale and the event built afresh (the counters are SageMaker's now).
    """

    def __init__(
        self,
        jobs: LabelingJobs,
        store: AnnotationStore,
        publisher: EventPublisher,
        clock: Callable[[], float],
        stale_seconds: float = 600.0,
    ) -> None:
        self.jobs, self.store, self.publisher, self.clock = jobs, store, publisher, clock
        self.stale_seconds = stale_seconds

    def __call__(self, job_name: str, status: str) -> StatusOutcome:
        outcome = StatusOutcome(job_name, status)
        partition, record = job_status_partition(job_name), job_status_record(status)
        owner = uuid.uuid4().hex
        now = self.clock()
        if not self.store.claim(partition, record, owner, now, {"status": "pending"}):
            existing = self.store.get(partition, record)
            if existing is not None and existing.get("status") == "published":
                return outcome  # a duplicate of SageMaker's
            if self.store.take_over(partition, record, owner, now, now - self.stale_seconds) is None:
                raise ClaimPending(f"{job_name} {status}: another delivery is publishing it")
        try:
            info = self.jobs.status(job_name)
            outcome.described = info is not None
            detail = LabelingJobStatusChanged(
                job_name=job_name,
                status=status,
                label_counters=label_counters(info.label_counters if info is not None else None),
            )
            if self.publisher.put([EventEntry(JOB_STATUS_CHANGED, msgspec.json.encode(detail), ())]):
                raise PublishFailed(f"PutEvents did not accept {job_name}'s {status} event")
        except Exception:
            self.store.release_claim(partition, record, owner)  # the retry takes it over at once
            raise
        self.store.mark_published(partition, record)
        outcome.published = True
        return outcome
