"""Use case: a manifest was written; publish what is new for its job, exactly once.

The story: open the job's session (lease, ledger, what a dead run journaled), stream and validate
the manifest, pack each new fact into its event, put the events on the bus (each accepted batch is
recorded before the next is put), write the label lines of what went out to the job's labels so far,
then commit. A final manifest also publishes the job's completion once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gtproc.contract.events import (
    JOB_COMPLETED,
    OBJECTS_FAILED,
    OBJECTS_LABELED,
    VALIDATION_FAILED,
    FailedObject,
    LabeledObject,
    LabelingJobCompleted,
)
from gtproc.contract.labels import FailedLine, LabeledLine
from gtproc.domain.detection import (
    Detector,
    FailedFinding,
    InvalidFinding,
    JobTally,
    LabeledFinding,
    LineFailure,
    LineLabel,
)
from gtproc.domain.identity import object_index
from gtproc.domain.keys import Area, OutputKey, is_under_prefix, parse_output_key
from gtproc.domain.ledger import FactKey, FactKind
from gtproc.domain.scan import scan_lines
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
from gtproc.usecases.publishing import BatchSender, EventPacker

LABELS_PART_BYTES = 16 * 1024 * 1024
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True)
class PipelineConfig:
    key_prefix: str = ""
    lease_seconds: int = 900  # the lease of a run with no deadline (CLI, tests)
    lease_wait_seconds: float = 20.0  # how long to wait for another run of the same job before retrying later
    # A run with a deadline holds its lease until the deadline plus this margin (clock skew between
    # Lambda and DynamoDB's clients); Lambda ends the run at its deadline, so the lease always covers it.
    lease_grace_seconds: float = 10.0
    journal_attempts: int = 5  # about 3 s of backoff before the run gives up and commits what it published

    @property
    def session_terms(self) -> SessionTerms:
        return SessionTerms(
            self.lease_seconds, self.lease_wait_seconds, self.lease_grace_seconds, self.journal_attempts
        )


@dataclass
class ManifestOutcome:
    key: str
    status: FileStatus  # processed, skipped or unreadable (the role may not read it: reported, not retried)
    reason: str = ""
    job_name: str = ""
    lines: int = 0
    invalid_lines: int = 0
    published: dict[str, int] = field(default_factory=dict)  # facts published, by detail type
    put_events_calls: int = 0
    completed: bool = False
    # Set when the manifest holds labels but none of the job's own: {job-name of those labels: attributes}.
    foreign_labels: dict[str, list[str]] = field(default_factory=dict)


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
        terms = self.config.session_terms
        session = JobSession.open(
            self.state, self.labels, location.job_id(bucket), terms, self.clock, self.sleep, deadline
        )
        try:
            return _Run(self, session, bucket, location).execute()
        except BaseException:
            session.release()
            raise


class LabelsWriter:
    """The job's labels so far: label lines buffered and written in parts of about 16 MB.

    A part bears the run's version and its own name: a run retrying a dead one commits the same
    version and must not overwrite the dead run's parts.
    """

    def __init__(self, labels: LabelStore, job_id: str, version: int, owner: str) -> None:
        self.labels, self.job_id, self.version, self.owner = labels, job_id, version, owner
        self.lines: list[bytes] = []
        self.size = 0
        self.parts_written = 0

    def add(self, lines: Sequence[bytes]) -> None:
        for line in lines:
            self.lines.append(line)
            self.size += len(line)
        if self.size >= LABELS_PART_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self.lines:
            return
        part = f"{self.version:08d}-{self.owner[:12]}-{self.parts_written:04d}"
        self.labels.append_labels(self.job_id, part, b"".join(self.lines))
        self.parts_written += 1
        self.lines, self.size = [], 0

    def unwritten(self, recovered: Sequence[FactKey]) -> set[tuple[str, str, int]]:
        """Facts a dead run published whose label lines it did not get to write (its parts bear this
        run's version: read them, a rare and bounded cost)."""
        written = set()
        for part in self.labels.read_parts(self.job_id, f"{self.version:08d}-"):
            for line in part.splitlines():
                record = _written_decoder.decode(line)
                written.add((record.status, record.labelAttributeName, object_index(record.datasetObjectId)))
        return {
            (fact.kind.value, fact.attribute, fact.index)
            for fact in recovered
            if fact.kind in (FactKind.LABELED, FactKind.FAILED)
            and (fact.kind.value, fact.attribute, fact.index) not in written
        }


class _WrittenLabel(msgspec.Struct):
    datasetObjectId: str
    labelAttributeName: str
    status: str


_written_decoder = msgspec.json.Decoder(_WrittenLabel)


class _Run:
    """One manifest write processed under the job's session."""

    def __init__(self, use_case: ProcessManifest, session: JobSession, bucket: str, location: OutputKey) -> None:
        self.reader, self.labels_store = use_case.reader, use_case.labels
        self.session = session
        self.bucket = bucket
        self.location = location
        self.manifest_uri = f"s3://{bucket}/{location.key}"
        self.outcome = ManifestOutcome(location.key, FileStatus.PROCESSED, job_name=location.job_name)
        self.sender = BatchSender(use_case.publisher, sleep=use_case.sleep)
        self.packers = _Packers(bucket, location, self.manifest_uri)
        self.labels = LabelsWriter(use_case.labels, session.job_id, session.new_version, session.lease.owner)
        self.relabeled = 0

    def execute(self) -> ManifestOutcome:
        session, location = self.session, self.location
        tally = JobTally() if location.area is Area.FINAL_MANIFEST else None
        relabel = self.labels.unwritten(session.recovered) if session.recovered else set()
        detector = Detector(location.job_name, session.ledger, tally, relabel)
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
                for finding in detector.observe(line):
                    if isinstance(finding, InvalidFinding) or finding.publish:
                        self._send(self.packers.add(finding))
                    else:  # published by a run that died before writing its label line
                        self.labels.add([self.packers.label_line(finding)])
                        self.relabeled += 1
            for entry in self.packers.finish():
                self._send(entry)
            self._put(self.sender.take())
            if tally is not None and not session.ledger.completed:
                self._send(self._completion(tally))
                self._put(self.sender.take())
        except PublishFailed:
            # What was published is recorded (even a batch whose journal failed: it is in the ledger),
            # and committing it keeps the retry from publishing it again. Nothing more is published.
            self._commit()
            raise
        self._commit()
        if detector.foreign and not session.ledger.own_attributes:
            self.outcome.foreign_labels = {job: sorted(attrs) for job, attrs in sorted(detector.foreign.items())}
        return self.outcome

    def _send(self, entry: EventEntry | None) -> None:
        if entry is not None:
            self._put(self.sender.add(entry))

    def _put(self, batch: Sequence[EventEntry]) -> None:
        for accepted in self.sender.put(batch):
            try:
                self.session.record(accepted)
            finally:  # on the bus either way: counted, and their labels are the job's
                self._published(accepted)

    def _published(self, entries: Sequence[EventEntry]) -> None:
        published = self.outcome.published
        for entry in entries:
            published[entry.detail_type] = published.get(entry.detail_type, 0) + len(entry.facts)
            if entry.detail_type == JOB_COMPLETED:
                self.outcome.completed = True
            self.labels.add(entry.labels)

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
        self.outcome.put_events_calls = self.sender.calls
        if self.sender.published == 0 and not self.session.recovered and not self.relabeled:
            self.session.release()  # nothing new: no write beyond the lease
            return
        self.labels.flush()
        self.session.commit(self.location.key)


def event_object(finding: LabeledFinding | FailedFinding) -> LabeledObject | FailedObject:
    """The object of a finding as its event carries it."""
    if isinstance(finding, LabeledFinding):
        return labeled_object(finding.object)
    return failed_object(finding.object)


def labeled_object(obj: LineLabel) -> LabeledObject:
    return LabeledObject(
        dataset_object_id=obj.dataset_object_id,
        source=obj.source,
        source_ref=obj.source_ref,
        label=obj.label,
        metadata=obj.metadata,
        human_annotated=obj.human_annotated,
    )


def failed_object(obj: LineFailure) -> FailedObject:
    return FailedObject(
        dataset_object_id=obj.dataset_object_id,
        source=obj.source,
        source_ref=obj.source_ref,
        failure_reason=obj.failure_reason,
    )


class _Packers:
    """One event packer per detail type and label attribute of the manifest being processed."""

    def __init__(self, bucket: str, location: OutputKey, manifest_uri: str) -> None:
        self.bucket = bucket
        self.location = location
        self.manifest_uri = manifest_uri
        self.packers: dict[tuple[str, str], EventPacker] = {}

    def _packer(self, detail_type: str, attribute: str) -> EventPacker:
        packer = self.packers.get((detail_type, attribute))
        if packer is None:
            job = self.location.job_name
            identity = {"bucket": self.bucket, "jobPath": self.location.job_root}
            if detail_type == VALIDATION_FAILED:
                frame: dict[str, object] = {"jobName": job, **identity, "manifestUri": self.manifest_uri}
                packer = EventPacker(detail_type, frame, "errors", "invalidCount")
            else:
                frame = {
                    "jobName": job,
                    **identity,
                    "labelAttributeName": attribute,
                    "iteration": self.location.iteration,
                    "manifestUri": self.manifest_uri,
                }
                packer = EventPacker(detail_type, frame, "objects", "count")
            self.packers[(detail_type, attribute)] = packer
        return packer

    def label_line(self, finding: LabeledFinding | FailedFinding) -> bytes:
        """The finding's line in the labels so far: its object in full, then the frame's fields."""
        obj, common = finding.object, (finding.key.attribute, self.location.iteration, self.manifest_uri)
        line: LabeledLine | FailedLine
        if isinstance(obj, LineLabel):
            line = LabeledLine(
                dataset_object_id=obj.dataset_object_id,
                source=obj.source,
                source_ref=obj.source_ref,
                label=obj.label,
                metadata=obj.metadata,
                human_annotated=obj.human_annotated,
                label_attribute_name=common[0],
                status="labeled",
                iteration=common[1],
                manifest_uri=common[2],
            )
        else:
            line = FailedLine(
                dataset_object_id=obj.dataset_object_id,
                source=obj.source,
                source_ref=obj.source_ref,
                failure_reason=obj.failure_reason,
                label_attribute_name=common[0],
                status="failed",
                iteration=common[1],
                manifest_uri=common[2],
            )
        return _encoder.encode(line) + b"\n"

    def add(self, finding: LabeledFinding | FailedFinding | InvalidFinding) -> EventEntry | None:
        if isinstance(finding, LabeledFinding):
            packer = self._packer(OBJECTS_LABELED, finding.key.attribute)
            encoded = _encoder.encode(labeled_object(finding.object))
            if len(encoded) > packer.room():
                # Too large for any event: published without its label, which the labels so far keep.
                obj = finding.object
                source = {"source": obj.source} if obj.source is not None else {"sourceRef": obj.source_ref}
                omitted: dict[str, Any]
                omitted = {"datasetObjectId": obj.dataset_object_id, **source, "label": None, "metadata": {},
                           "humanAnnotated": obj.human_annotated, "labelOmitted": True}  # fmt: skip
                encoded = _encoder.encode(omitted)
            return packer.add_encoded([encoded], (finding.key,), (self.label_line(finding),))
        if isinstance(finding, FailedFinding):
            packer = self._packer(OBJECTS_FAILED, finding.key.attribute)
            encoded = _encoder.encode(failed_object(finding.object))
            return packer.add_encoded([encoded], (finding.key,), (self.label_line(finding),))
        errors = [error.as_dict() for error in finding.errors]
        return self._packer(VALIDATION_FAILED, "").add(errors, (finding.key,))

    def finish(self) -> list[EventEntry]:
        return [entry for packer in self.packers.values() if (entry := packer.cut()) is not None]
