"""Use case: a manifest was written; publish what is new for its job, exactly once.

The story: open the job's session (lease, ledger, what a dead run journaled), stream and validate
the manifest, pack each new fact into its event, put the events on the bus (each accepted batch is
recorded before the next is put), write the label lines of what went out to the job's labels so far,
then commit. A final manifest also publishes the job's completion once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from gtproc.contract.events import JOB_COMPLETED, LabelingJobCompleted
from gtproc.domain.detection import Detector, JobTally
from gtproc.domain.keys import Area, OutputKey, is_under_prefix, parse_output_key
from gtproc.domain.ledger import FactKey, FactKind
from gtproc.domain.scan import scan_lines
from gtproc.usecases.findings import FindingsRun, Origin
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import (
    EventEntry,
    EventPublisher,
    JobStateStore,
    LabelStore,
    ObjectMissing,
    ObjectReader,
    ObjectUnreadable,
    PublishFailed,
)
from gtproc.usecases.publish_once import JobSession, SessionTerms

_encoder = msgspec.json.Encoder()


class PipelineConfig(SessionTerms, frozen=True, kw_only=True):
    key_prefix: str = ""


class ManifestOutcome(msgspec.Struct):
    key: str
    status: FileStatus  # processed, skipped or unreadable (the role may not read it: reported, not retried)
    reason: str = ""
    job_name: str = ""
    lines: int = 0
    invalid_lines: int = 0
    published: dict[str, int] = msgspec.field(default_factory=dict)  # facts published, by detail type
    put_events_calls: int = 0
    completed: bool = False
    # Set when the manifest holds labels but none of the job's own: {job-name of those labels: attributes}.
    foreign_labels: dict[str, list[str]] = msgspec.field(default_factory=dict)


class ProcessManifest:
    def __init__(
        self,
        reader: ObjectReader,
        state: JobStateStore,
        labels: LabelStore,
        publisher: EventPublisher,
        config: PipelineConfig | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reader, self.state, self.labels, self.publisher = reader, state, labels, publisher
        self.config = config or PipelineConfig()
        self.clock, self.sleep = clock, sleep

    def __call__(self, bucket: str, key: str, deadline: float | None = None) -> ManifestOutcome:
        """`deadline`: when the invocation ends (the handler's remaining time), on `clock`'s scale."""
        if not is_under_prefix(key, self.config.key_prefix):
            return ManifestOutcome(key, FileStatus.SKIPPED, f"outside the configured prefix {self.config.key_prefix!r}")
        location = parse_output_key(key)
        if location is None or not location.is_manifest:
            return ManifestOutcome(key, FileStatus.SKIPPED, "not an output manifest of the Ground Truth layout")
        session = JobSession.open(
            self.state, self.labels, location.job_id(bucket), self.config, self.clock, self.sleep, deadline
        )
        try:
            run = FindingsRun(session, self.publisher, self.labels, _origin(bucket, location), self.sleep)
            return _Run(self.reader, self.labels, session, run, bucket, location).execute()
        except BaseException:
            session.release()
            raise


def _origin(bucket: str, location: OutputKey) -> Origin:
    manifest_uri = f"s3://{bucket}/{location.key}"
    return Origin(location.job_name, bucket, location.job_root, location.iteration, manifest_uri)


class _Run:
    """One manifest write processed under the job's session; it holds its ports, not the use case."""

    def __init__(
        self,
        reader: ObjectReader,
        labels: LabelStore,
        session: JobSession,
        run: FindingsRun,
        bucket: str,
        location: OutputKey,
    ) -> None:
        self.reader, self.labels_store = reader, labels
        self.session, self.run = session, run
        self.bucket = bucket
        self.location = location
        self.manifest_uri = f"s3://{bucket}/{location.key}"
        self.outcome = ManifestOutcome(location.key, FileStatus.PROCESSED, job_name=location.job_name)
        self.outcome.published = self.run.published

    def execute(self) -> ManifestOutcome:
        session, location, run = self.session, self.location, self.run
        tally = JobTally() if location.area is Area.FINAL_MANIFEST else None
        detector = Detector(location.job_name, session.ledger, tally, run.relabel())
        try:
            chunks = self.reader.read_chunks(self.bucket, location.key)
        except ObjectMissing:
            session.release()
            return ManifestOutcome(location.key, FileStatus.SKIPPED, "the object no longer exists", location.job_name)
        except ObjectUnreadable as error:
            session.release()
            return ManifestOutcome(location.key, FileStatus.UNREADABLE, str(error), location.job_name)
        try:
            for line in scan_lines(chunks):
                self.outcome.lines += 1
                if line.errors:
                    self.outcome.invalid_lines += 1
                run.observe(detector.observe(line))
            run.flush()
            if tally is not None and not session.ledger.completed:
                run.send(self._completion(tally))
                run.flush()
        except PublishFailed:
            # What was published is recorded (even a batch whose journal failed: it is in the ledger),
            # and committing it keeps the retry from publishing it again. Nothing more is published.
            self._commit()
            raise
        self._commit()
        if detector.foreign and not session.ledger.own_attributes:
            self.outcome.foreign_labels = {job: sorted(attrs) for job, attrs in sorted(detector.foreign.items())}
        return self.outcome

    def _completion(self, tally: JobTally) -> EventEntry:
        detail = LabelingJobCompleted(
            job_name=self.location.job_name,
            bucket=self.bucket,
            job_path=self.location.job_root,
            manifest_uri=self.manifest_uri,
            objects=tally.objects,
            labeled=tally.labeled,
            failed=tally.failed,
            unlabeled=tally.unlabeled,
            human_labeled=tally.human_labeled,
            auto_labeled=tally.auto_labeled,
            invalid_lines=tally.invalid_lines,
            class_counts=dict(sorted(tally.class_counts.items())),
            labels_uri=self.labels_store.labels_uri(self.session.job_id),
            label_attribute_names=sorted(self.session.ledger.own_attributes),
        )
        return EventEntry(JOB_COMPLETED, _encoder.encode(detail), (FactKey(FactKind.COMPLETED, "", -1, 0),))

    def _commit(self) -> None:
        self.outcome.put_events_calls = self.run.sender.calls
        self.outcome.completed = JOB_COMPLETED in self.run.published
        self.run.commit(last_manifest=self.location.key)
