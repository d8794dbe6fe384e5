"""Use case: a manifest was written; publish what is new for its job, exactly once.

Under the job's lease: load the ledger, fold in what a dead run journaled, stream and validate the
manifest, publish the new facts (journaled as PutEvents accepts them), append the new labels to the
job's labels so far, then commit the ledger. A final manifest also publishes the job's completion once.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
from gtproc.domain.detection import (
    Detector,
    FailedFinding,
    FailedLine,
    InvalidFinding,
    JobTally,
    LabeledFinding,
    LabeledLine,
)
from gtproc.domain.keys import Area, OutputKey, is_under_prefix, parse_output_key
from gtproc.domain.ledger import FactKey, FactKind, Ledger
from gtproc.domain.scan import scan_lines
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import (
    EventEntry,
    EventPublisher,
    JobLease,
    JobStateStore,
    JournalFailed,
    LabelStore,
    LeaseHeld,
    ObjectMissing,
    ObjectReader,
    ObjectUnreadable,
    PublishFailed,
)
from gtproc.usecases.publishing import BatchSender, EventPacker

LABELS_PART_BYTES = 16 * 1024 * 1024
_encoder = msgspec.json.Encoder()


class _ObjectsFrame(msgspec.Struct):
    """An Objects Labeled/Failed detail with its objects left as JSON."""

    labelAttributeName: str
    iteration: int | None
    manifestUri: str
    objects: list[msgspec.Raw]


_frame_decoder = msgspec.json.Decoder(_ObjectsFrame)


class _WrittenLabel(msgspec.Struct):
    datasetObjectId: str
    labelAttributeName: str
    status: str


_written_decoder = msgspec.json.Decoder(_WrittenLabel)


class _ObjectId(msgspec.Struct):
    datasetObjectId: str


_object_id_decoder = msgspec.json.Decoder(_ObjectId)


def labeled_object(obj: LabeledLine) -> LabeledObject:
    return LabeledObject(
        dataset_object_id=obj.dataset_object_id,
        source=obj.source,
        source_ref=obj.source_ref,
        label=obj.label,
        metadata=obj.metadata,
        human_annotated=obj.human_annotated,
    )


def failed_object(obj: FailedLine) -> FailedObject:
    return FailedObject(
        dataset_object_id=obj.dataset_object_id,
        source=obj.source,
        source_ref=obj.source_ref,
        failure_reason=obj.failure_reason,
    )


def event_object(finding: LabeledFinding | FailedFinding) -> LabeledObject | FailedObject:
    """The object of a finding as its event carries it."""
    if isinstance(finding, LabeledFinding):
        return labeled_object(finding.object)
    return failed_object(finding.object)


@dataclass(frozen=True)
class PipelineConfig:
    key_prefix: str = ""
    lease_seconds: int = 900  # the lease of a run with no deadline (CLI, tests)
    lease_wait_seconds: float = 20.0  # how long to wait for another run of the same job before retrying later
    # A run with a deadline holds its lease until the deadline plus this margin (clock skew between
    # Lambda and DynamoDB's clients); Lambda ends the run at its deadline, so the lease always covers it.
    lease_grace_seconds: float = 10.0
    journal_attempts: int = 5  # about 3 s of backoff before the run gives up and commits what it published


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
        job_id = location.job_id(bucket)
        lease = self._acquire(job_id, deadline)
        try:
            return _Run(self, lease, bucket, location).execute()
        except BaseException:
            self.state.release(lease)
            raise

    def _lease_seconds(self, now: float, deadline: float | None) -> int:
        if deadline is None:
            return self.config.lease_seconds
        return max(1, math.ceil(deadline - now + self.config.lease_grace_seconds))

    def _acquire(self, job_id: str, deadline: float | None) -> JobLease:
        owner = uuid.uuid4().hex
        give_up = self.clock() + self.config.lease_wait_seconds
        if deadline is not None:
            give_up = min(give_up, deadline - self.config.lease_wait_seconds)  # leave time for the run
        delay = 0.25
        while True:
            now = self.clock()
            try:
                return self.state.acquire(job_id, owner, now, self._lease_seconds(now, deadline))
            except LeaseHeld:
                if self.clock() + delay > give_up:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 4.0)


class _Run:
    """One manifest write processed under the job's lease."""

    def __init__(self, use_case: ProcessManifest, lease: JobLease, bucket: str, location: OutputKey) -> None:
        self.uc = use_case
        self.lease = lease
        self.bucket = bucket
        self.location = location
        self.job_id = lease.job_id
        self.manifest_uri = f"s3://{bucket}/{location.key}"
        self.outcome = ManifestOutcome(location.key, FileStatus.PROCESSED, job_name=location.job_name)
        self.labels_part: list[bytes] = []
        self.labels_part_bytes = 0
        self.labels_parts_written = 0
        self.relabeled = 0
        self.ledger = Ledger()

    def execute(self) -> ManifestOutcome:
        uc, location = self.uc, self.location
        stored = uc.labels.load_ledger(self.job_id)
        if stored is not None:
            self.ledger = Ledger.from_bytes(stored)
        self.recovered = uc.state.published_since(self.job_id, self.lease.version)
        for fact in self.recovered:
            self.ledger.add(fact)  # a run that died after publishing: never publish those again
        self.new_version = self.lease.version + 1

        is_final = location.area is Area.FINAL_MANIFEST
        tally = JobTally() if is_final else None
        relabel = self._labels_missing() if self.recovered else set()
        detector = Detector(location.job_name, self.ledger, tally, relabel)
        sender = BatchSender(uc.publisher, self._on_published, sleep=uc.sleep)
        packers = self.packers = _Packers(self.bucket, location, self.manifest_uri)
        try:
            chunks = uc.reader.read_chunks(self.bucket, location.key)
        except ObjectMissing:
            self.uc.state.release(self.lease)
            return ManifestOutcome(location.key, FileStatus.SKIPPED, "the object no longer exists", location.job_name)
        except ObjectUnreadable as error:
            self.uc.state.release(self.lease)
            return ManifestOutcome(location.key, FileStatus.UNREADABLE, str(error), location.job_name)
        try:
            for line in scan_lines(chunks):
                self.outcome.lines += 1
                if line.errors:
                    self.outcome.invalid_lines += 1
                for finding in detector.observe(line):
                    if not isinstance(finding, InvalidFinding) and not finding.publish:
                        self._add_unpublished_label(finding)
                        continue
                    entry = packers.add(finding)
                    if entry is not None:
                        sender.send(entry)
            for entry in packers.finish():
                sender.send(entry)
            sender.flush()
            if tally is not None and not self.ledger.completed:
                sender.send(self._completion(tally))
                sender.flush()
        except JournalFailed as failure:
            # The facts of the batch the journal missed are in this run's ledger: committing it (ledger
            # to S3 first) is what keeps the retry from publishing them again. Nothing more is published.
            self._fold_in(failure.entries, [fact for entry in failure.entries for fact in entry.facts])
            self._commit(sender)
            raise
        except PublishFailed:
            self._commit(sender)  # what was published is committed; the retry publishes the rest
            raise
        self._commit(sender)
        if detector.foreign and not self.ledger.own_attributes:
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
            labels_uri=self.uc.labels.labels_uri(self.job_id),
            label_attribute_names=sorted(self.ledger.own_attributes),
        )
        return EventEntry(JOB_COMPLETED, _encoder.encode(detail), (FactKey(FactKind.COMPLETED, "", -1, 0),))

    def _on_published(self, entries: Sequence[EventEntry]) -> None:
        facts = [fact for entry in entries for fact in entry.facts]
        self._journal(entries, facts)
        self._fold_in(entries, facts)

    def _journal(self, entries: Sequence[EventEntry], facts: list[FactKey]) -> None:
        """Journal facts that are on the bus, retried: a journal lost here is a batch published twice."""
        attempts = self.uc.config.journal_attempts
        for attempt in range(attempts):
            try:
                self.uc.state.record_published(self.lease, facts, self.uc.clock())
                return
            except Exception as error:
                if attempt == attempts - 1:
                    message = f"journaling {len(facts)} published facts failed {attempts} times: {error}"
                    raise JournalFailed(message, entries) from error
                self.uc.sleep(min(0.2 * 2**attempt, 5.0))

    def _fold_in(self, entries: Sequence[EventEntry], facts: list[FactKey]) -> None:
        for entry in entries:
            self.outcome.published[entry.detail_type] = self.outcome.published.get(entry.detail_type, 0) + len(
                entry.facts
            )
            if entry.detail_type == JOB_COMPLETED:
                self.outcome.completed = True
            elif entry.detail_type in (OBJECTS_LABELED, OBJECTS_FAILED):
                self._add_labels(entry)
        for fact in facts:
            self.ledger.add(fact)

    def _add_labels(self, entry: EventEntry) -> None:
        """The labels so far: one JSON line per published object, written in parts as they fill up.

        Each object's JSON is taken from the event as is and extended with the frame's fields."""
        frame = _frame_decoder.decode(entry.detail)
        status = "labeled" if entry.detail_type == OBJECTS_LABELED else "failed"
        common = _encoder.encode(
            {
                "labelAttributeName": frame.labelAttributeName,
                "status": status,
                "iteration": frame.iteration,
                "manifestUri": frame.manifestUri,
            }
        )
        tail = b"," + common[1:] + b"\n"
        for obj in frame.objects:
            raw = bytes(obj)
            if self.packers.oversized and b'"labelOmitted":true' in raw:
                object_id = _object_id_decoder.decode(raw).datasetObjectId
                raw = self.packers.oversized.pop((frame.labelAttributeName, object_id), raw)
            self._add_label_line(raw[:-1] + tail)

    def _labels_missing(self) -> set[tuple[str, str, int]]:
        """Facts a dead run published whose label lines it did not get to write (its parts bear this
        run's version: read them, a rare and bounded cost)."""
        written = set()
        for part in self.uc.labels.read_parts(self.job_id, f"{self.new_version:08d}-"):
            for line in part.splitlines():
                record = _written_decoder.decode(line)
                written.add((record.status, record.labelAttributeName, int(record.datasetObjectId)))
        return {
            (fact.kind.value, fact.attribute, fact.index)
            for fact in self.recovered
            if fact.kind in (FactKind.LABELED, FactKind.FAILED)
            and (fact.kind.value, fact.attribute, fact.index) not in written
        }

    def _add_unpublished_label(self, finding: LabeledFinding | FailedFinding) -> None:
        """The label line of a fact a dead run published before writing its labels."""
        labeled = isinstance(finding, LabeledFinding)
        common = {
            "labelAttributeName": finding.key.attribute,
            "status": "labeled" if labeled else "failed",
            "iteration": self.location.iteration,
            "manifestUri": self.manifest_uri,
        }
        self.relabeled += 1
        self._add_label_line(_encoder.encode(event_object(finding))[:-1] + b"," + _encoder.encode(common)[1:] + b"\n")

    def _add_label_line(self, line: bytes) -> None:
        self.labels_part.append(line)
        self.labels_part_bytes += len(line)
        if self.labels_part_bytes >= LABELS_PART_BYTES:
            self._write_labels_part()

    def _write_labels_part(self) -> None:
        if not self.labels_part:
            return
        # The run's own name: a run retrying a dead one commits the same version and must not overwrite its parts.
        part = f"{self.new_version:08d}-{self.lease.owner[:12]}-{self.labels_parts_written:04d}"
        self.uc.labels.append_labels(self.job_id, part, b"".join(self.labels_part))
        self.labels_parts_written += 1
        self.labels_part, self.labels_part_bytes = [], 0

    def _commit(self, sender: BatchSender) -> None:
        self.outcome.put_events_calls = sender.calls
        if sender.published == 0 and not self.recovered and not self.relabeled:
            self.uc.state.release(self.lease)  # nothing new: no write beyond the lease
            return
        self._write_labels_part()
        self.ledger.version = self.new_version
        self.uc.labels.save_ledger(self.job_id, self.ledger.to_bytes())
        summary = {
            "lastManifest": self.location.key,
            "labeled": self.ledger.count(FactKind.LABELED),
            "failed": self.ledger.count(FactKind.FAILED),
            "completed": self.ledger.completed,
        }
        self.uc.state.commit(self.lease, self.new_version, self.uc.clock(), summary)


class _Packers:
    """One event packer per detail type and label attribute of the manifest being processed."""

    def __init__(self, bucket: str, location: OutputKey, manifest_uri: str) -> None:
        self.bucket = bucket
        self.location = location
        self.manifest_uri = manifest_uri
        self.packers: dict[tuple[str, str], EventPacker] = {}
        # Objects too large for any event, by (attribute, datasetObjectId): published without their
        # label, which still goes to the labels so far.
        self.oversized: dict[tuple[str, str], bytes] = {}

    def _packer(self, detail_type: str, attribute: str) -> EventPacker:
        packer = self.packers.get((detail_type, attribute))
        if packer is None:
            job = self.location.job_name
            identity = {"bucket": self.bucket, "jobPath": self.location.job_root}
            if detail_type == VALIDATION_FAILED:
                frame = {"jobName": job, **identity, "manifestUri": self.manifest_uri}
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

    def add(self, finding: LabeledFinding | FailedFinding | InvalidFinding) -> EventEntry | None:
        if isinstance(finding, LabeledFinding):
            packer = self._packer(OBJECTS_LABELED, finding.key.attribute)
            encoded = _encoder.encode(labeled_object(finding.object))
            if len(encoded) > packer.room():
                obj = finding.object
                self.oversized[(finding.key.attribute, obj.dataset_object_id)] = encoded
                source = {"source": obj.source} if obj.source is not None else {"sourceRef": obj.source_ref}
                omitted = {"datasetObjectId": obj.dataset_object_id, **source, "label": None, "metadata": {},
                           "humanAnnotated": obj.human_annotated, "labelOmitted": True}  # fmt: skip
                encoded = _encoder.encode(omitted)
            return packer.add_encoded([encoded], (finding.key,))
        if isinstance(finding, FailedFinding):
            return self._packer(OBJECTS_FAILED, finding.key.attribute).add(
                [failed_object(finding.object)], (finding.key,)
            )
        errors = [error.as_dict() for error in finding.errors]
        return self._packer(VALIDATION_FAILED, "").add(errors, (finding.key,))

    def finish(self) -> list[EventEntry]:
        return [entry for packer in self.packers.values() if (entry := packer.cut()) is not None]
