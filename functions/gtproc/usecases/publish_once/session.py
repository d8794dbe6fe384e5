"""Publish-once for the manifests pipeline: one run's hold on a job.

Opening takes the job's lease (waiting briefly for another run of it), loads the ledger of facts
already published and folds in those a dead run journaled but never committed. Each batch PutEvents
accepts is recorded (journal, then ledger) before anything more is published; the commit saves the
ledger and releases the lease. So a retry after any failure publishes only what is missing.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence

import msgspec

from gtproc.domain.ledger import FactKey, FactKind, Ledger
from gtproc.usecases.ports import EventEntry, JobLease, JobStateStore, JournalFailed, LabelStore, LeaseHeld


class SessionTerms(msgspec.Struct, frozen=True, kw_only=True):  # named: a positional term would be misread
    lease_seconds: int = 900  # the lease of a run with no deadline (CLI, tests)
    lease_wait_seconds: float = 20.0  # how long to wait for another run of the same job before retrying later
    # A run with a deadline holds its lease until the deadline plus this margin (clock skew between
    # Lambda and DynamoDB's clients); Lambda ends the run at its deadline, so the lease always covers it.
    lease_grace_seconds: float = 10.0
    journal_attempts: int = 5  # about 3 s of backoff before the run gives up and commits what it published


class JobSession:
    def __init__(
        self,
        state: JobStateStore,
        labels: LabelStore,
        lease: JobLease,
        terms: SessionTerms,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.state, self.labels, self.lease, self.terms = state, labels, lease, terms
        self.clock, self.sleep = clock, sleep
        stored = labels.load_ledger(lease.job_id)
        self.ledger = Ledger.from_bytes(stored) if stored is not None else Ledger()
        # Facts a run that died after publishing journaled: never published again.
        self.recovered = state.published_since(lease.job_id, lease.version)
        for fact in self.recovered:
            self.ledger.add(fact)
        self.new_version = lease.version + 1

    @classmethod
    def open(
        cls,
        state: JobStateStore,
        labels: LabelStore,
        job_id: str,
        terms: SessionTerms,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        deadline: float | None = None,
    ) -> JobSession:
        """Take the job's lease; raises LeaseHeld when another live run keeps it past the wait."""
        lease = _acquire(state, job_id, terms, clock, sleep, deadline)
        try:
            return cls(state, labels, lease, terms, clock, sleep)
        except BaseException:
            state.release(lease)
            raise

    @property
    def job_id(self) -> str:
        return self.lease.job_id

    def record(self, entries: Sequence[EventEntry]) -> None:
        """Record events that are on the bus: journaled (retried: a journal lost here is a batch
        published twice), then in the ledger. Raises JournalFailed when the journal keeps failing; the
        facts are in the ledger all the same, and committing it is what keeps a retry from publishing them."""
        facts = [fact for entry in entries for fact in entry.facts]
        try:
            self._journal(entries, facts)
        finally:
            for fact in facts:
                self.ledger.add(fact)

    def _journal(self, entries: Sequence[EventEntry], facts: list[FactKey]) -> None:
        attempts = self.terms.journal_attempts
        for attempt in range(attempts):
            try:
                self.state.record_published(self.lease, facts, self.clock())
                return
            except Exception as error:
                if attempt == attempts - 1:
                    message = f"journaling {len(facts)} published facts failed {attempts} times: {error}"
                    raise JournalFailed(message, entries) from error
                self.sleep(min(0.2 * 2**attempt, 5.0))

    def commit(self, last_manifest: str | None = None, *, last_topic_arn: str | None = None) -> None:
        """Save the ledger (to S3 first), then record its version and release the lease. The summary
        names what the run read: a manifest's key, or a streaming job's output topic."""
        self.ledger.version = self.new_version
        self.labels.save_ledger(self.job_id, self.ledger.to_bytes())
        read = {"lastManifest": last_manifest} if last_topic_arn is None else {"lastTopicArn": last_topic_arn}
        summary: dict[str, object] = {
            **read,
            "labeled": self.ledger.count(FactKind.LABELED),
            "failed": self.ledger.count(FactKind.FAILED),
            "completed": self.ledger.completed,
        }
        self.state.commit(self.lease, self.new_version, self.clock(), summary)

    def release(self) -> None:
        """Give the lease back without a commit (nothing new; or a failure, the retry redoes the run)."""
        self.state.release(self.lease)


def _lease_seconds(terms: SessionTerms, now: float, deadline: float | None) -> int:
    if deadline is None:
        return terms.lease_seconds
    return max(1, math.ceil(deadline - now + terms.lease_grace_seconds))


def _acquire(
    state: JobStateStore,
    job_id: str,
    terms: SessionTerms,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    deadline: float | None,
) -> JobLease:
    owner = uuid.uuid4().hex
    give_up = clock() + terms.lease_wait_seconds
    if deadline is not None:
        give_up = min(give_up, deadline - terms.lease_wait_seconds)  # leave time for the run
    delay = 0.25
    while True:
        now = clock()
        try:
            return state.acquire(job_id, owner, now, _lease_seconds(terms, now, deadline))
        except LeaseHeld:
            if clock() + delay > give_up:
                raise
            sleep(delay)
            delay = min(delay * 2, 4.0)
