"""Use case: one message of a streaming job's SNS output topic; publish what is new, exactly once.

The message holds one output line, as the job's periodic manifests do. It is processed under the
job's lease and ledger (the same ones as the manifests of the job's output path), so an object seen on
both channels, or a message delivered twice, is published once. A bad message is reported once as
`Validation Failed` (with `topicArn`), never retried.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from gtproc.contract.events import OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.domain.detection import Detector, FailedFinding, InvalidFinding, LabeledFinding
from gtproc.domain.groundtruth import LineError
from gtproc.domain.identity import object_index
from gtproc.domain.ledger import FactKey, FactKind, Ledger, fingerprint
from gtproc.domain.scan import scan_lines
from gtproc.domain.sniff import InputRule
from gtproc.usecases.ports import (
    EventEntry,
    EventPublisher,
    JobLease,
    JobStateStore,
    JournalFailed,
    LabelingJobs,
    LabelStore,
    LeaseHeld,
)
from gtproc.usecases.process_manifest import event_object
from gtproc.usecases.publishing import BatchSender, EventPacker

_encoder = msgspec.json.Encoder()
_generic = msgspec.json.Decoder()


class JobNotDescribed(Exception):
    """The streaming job's output path is unknown (DescribeLabelingJob refused): its ledger cannot be found."""


@dataclass(frozen=True)
class StreamConfig:
    lease_seconds: int = 900
    lease_wait_seconds: float = 20.0
    journal_attempts: int = 5


@dataclass
class StreamOutcome:
    job_name: str
    topic_arn: str
    status: str = "processed"  # or "invalid" (reported as Validation Failed)
    published: dict[str, int] = field(default_factory=dict)


def message_line(message: bytes) -> bytes:
    """The output line an SNS message holds: JSON text (pretty-printed, or once more JSON-encoded as a
    string) made one compact line; anything else is left for the validation to report."""
    try:
        value = _generic.decode(message)
        if isinstance(value, str):
            value = _generic.decode(value)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return message.replace(b"\r", b" ").replace(b"\n", b" ")
    return _encoder.encode(value)


def split_output_path(output_path: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` -> ("bucket", "prefix")."""
    rest = output_path.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


class ProcessStream:
    def __init__(
        self,
        jobs: LabelingJobs,
        state: JobStateStore,
        labels: LabelStore,
        publisher: EventPublisher,
        config: StreamConfig | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.jobs, self.state, self.labels, self.publisher = jobs, state, labels, publisher
        self.config = config or StreamConfig()
        self.clock, self.sleep = clock, sleep
        self._paths: dict[str, tuple[str, str]] = {}  # an output path never changes: described once

    def location(self, job_name: str) -> tuple[str, str]:
        """(bucket, job path) of the job's output, where its manifests (and its ledger's identity) are."""
        found = self._paths.get(job_name)
        if found is None:
            info = self.jobs.status(job_name)
            if info is None or not info.output_path:
                raise JobNotDescribed(f"labeling job {job_name!r}: DescribeLabelingJob gives no output path")
            bucket, prefix = split_output_path(info.output_path)
            found = self._paths[job_name] = (bucket, f"{prefix}/{job_name}" if prefix else job_name)
        return found

    def __call__(self, job_name: str, topic_arn: str, message: bytes) -> StreamOutcome:
        bucket, job_path = self.location(job_name)
        lease = self._acquire(f"{bucket}/{job_path}")
        try:
            return _StreamRun(self, lease, bucket, job_path, job_name, topic_arn).execute(message_line(message))
        except BaseException:
            self.state.release(lease)
            raise

    def _acquire(self, job_id: str) -> JobLease:
        owner = uuid.uuid4().hex
        give_up = self.clock() + self.config.lease_wait_seconds
        delay = 0.25
        while True:
            try:
                return self.state.acquire(job_id, owner, self.clock(), self.config.lease_seconds)
            except LeaseHeld:
                if self.clock() + delay > give_up:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 4.0)


class _StreamRun:
    def __init__(
        self, uc: ProcessStream, lease: JobLease, bucket: str, job_path: str, job_name: str, topic_arn: str
    ) -> None:
        self.uc, self.lease, self.bucket, self.job_path = uc, lease, bucket, job_path
        self.outcome = StreamOutcome(job_name, topic_arn)
        self.labels_lines: list[bytes] = []
        self.ledger = Ledger()
        self.packers: dict[tuple[str, str], EventPacker] = {}
        self.oversized: dict[tuple[str, str], bytes] = {}  # full label lines of objects published without label

    def execute(self, line_bytes: bytes) -> StreamOutcome:
        uc = self.uc
        stored = uc.labels.load_ledger(self.lease.job_id)
        if stored is not None:
            self.ledger = Ledger.from_bytes(stored)
        recovered = uc.state.published_since(self.lease.job_id, self.lease.version)
        for fact in recovered:
            self.ledger.add(fact)  # a run that died after publishing: never publish those again
        self.new_version = self.lease.version + 1
        relabel = self._labels_missing(recovered) if recovered else set()
        detector = Detector(self.outcome.job_name, self.ledger, None, relabel)
        sender = BatchSender(uc.publisher, sleep=uc.sleep)
        lines = list(scan_lines([line_bytes]))
        if not lines:  # an empty message: one line to report
            lines = list(scan_lines([b"null"]))
            lines[0].errors = [
                LineError(line=1, code=InputRule.EMPTY, message="the SNS message is empty: expected one output line")
            ]
        line = lines[0]
        if line.errors:
            self.outcome.status = "invalid"
            # Bad messages are told apart by their bytes: a distinct ledger fact per message.
            line.index = -fingerprint(line_bytes) - 1
        elif line.object_id is None:
            # No dedup key: Ground Truth's fallback is the object itself; its source names it here.
            line.object_id = line.source_ref if line.source_ref is not None else line.source
        try:
            for finding in detector.observe(line):
                if not isinstance(finding, InvalidFinding) and not finding.publish:
                    self._label_line(event_object(finding), finding.key.attribute, isinstance(finding, LabeledFinding))
                    continue
                entry = self._add(finding)
                if entry is not None:
                    self._put(sender, sender.add(entry))
            for packer in self.packers.values():
                if (entry := packer.cut()) is not None:
                    self._put(sender, sender.add(entry))
            self._put(sender, sender.take())
        except JournalFailed as failure:
            self._fold_in(failure.entries)
            self._commit(sender, recovered)
            raise
        except Exception:
            self._commit(sender, recovered)
            raise
        self._commit(sender, recovered)
        return self.outcome

    def _frame(self, detail_type: str, attribute: str) -> EventPacker:
        packer = self.packers.get((detail_type, attribute))
        if packer is None:
            common = {"jobName": self.outcome.job_name, "bucket": self.bucket, "jobPath": self.job_path}
            if detail_type == VALIDATION_FAILED:
                frame = {**common, "manifestUri": None, "topicArn": self.outcome.topic_arn}
                packer = EventPacker(detail_type, frame, "errors", "invalidCount")
            else:
                frame = {**common, "labelAttributeName": attribute, "iteration": None, "manifestUri": None,
                         "topicArn": self.outcome.topic_arn}  # fmt: skip
                packer = EventPacker(detail_type, frame, "objects", "count")
            self.packers[(detail_type, attribute)] = packer
        return packer

    def _add(self, finding: LabeledFinding | FailedFinding | InvalidFinding) -> EventEntry | None:
        if isinstance(finding, InvalidFinding):
            errors = [error.as_dict() for error in finding.errors]
            return self._frame(VALIDATION_FAILED, "").add(errors, (finding.key,))
        labeled = isinstance(finding, LabeledFinding)
        packer = self._frame(OBJECTS_LABELED if labeled else OBJECTS_FAILED, finding.key.attribute)
        encoded = _encoder.encode(event_object(finding))
        if len(encoded) > packer.room():
            obj = finding.object  # an SNS message is at most 256 KiB: only a label near that size
            source = {"source": obj.source} if obj.source is not None else {"sourceRef": obj.source_ref}
            omitted: dict[str, object] = {
                "datasetObjectId": obj.dataset_object_id,
                **source,
                "label": None,
                "metadata": {},
                "humanAnnotated": getattr(obj, "human_annotated", True),
                "labelOmitted": True,
            }
            self.oversized[(finding.key.attribute, obj.dataset_object_id)] = encoded
            return packer.add_encoded([_encoder.encode(omitted)], (finding.key,))
        return packer.add_encoded([encoded], (finding.key,))

    def _with_frame(self, encoded: bytes, attribute: str, labeled: bool) -> bytes:
        common = {
            "labelAttributeName": attribute,
            "status": "labeled" if labeled else "failed",
            "iteration": None,
            "manifestUri": None,
            "topicArn": self.outcome.topic_arn,
        }
        return encoded[:-1] + b"," + _encoder.encode(common)[1:] + b"\n"

    def _label_line(self, obj: object, attribute: str, labeled: bool) -> None:
        self.labels_lines.append(self._with_frame(_encoder.encode(obj), attribute, labeled))

    def _put(self, sender: BatchSender, batch: Sequence[EventEntry]) -> None:
        for accepted in sender.put(batch):  # each call's accepted entries journaled before the next call
            self._on_published(accepted)

    def _on_published(self, entries: Sequence[EventEntry]) -> None:
        facts = [fact for entry in entries for fact in entry.facts]
        attempts = self.uc.config.journal_attempts
        for attempt in range(attempts):
            try:
                self.uc.state.record_published(self.lease, facts, self.uc.clock())
                break
            except Exception as error:
                if attempt == attempts - 1:
                    message = f"journaling {len(facts)} published facts failed {attempts} times: {error}"
                    raise JournalFailed(message, entries) from error
                self.uc.sleep(min(0.2 * 2**attempt, 5.0))
        self._fold_in(entries)

    def _fold_in(self, entries: Sequence[EventEntry]) -> None:
        published = self.outcome.published
        for entry in entries:
            published[entry.detail_type] = published.get(entry.detail_type, 0) + len(entry.facts)
            if entry.detail_type in (OBJECTS_LABELED, OBJECTS_FAILED):
                self._labels_of(entry)
            for fact in entry.facts:
                self.ledger.add(fact)

    def _labels_of(self, entry: EventEntry) -> None:
        detail = _generic.decode(entry.detail)
        labeled = entry.detail_type == OBJECTS_LABELED
        attribute = detail["labelAttributeName"]
        for obj in detail["objects"]:
            encoded = _encoder.encode(obj)
            if obj.get("labelOmitted"):
                encoded = self.oversized.pop((attribute, obj["datasetObjectId"]), encoded)
            self.labels_lines.append(self._with_frame(encoded, attribute, labeled))

    def _labels_missing(self, recovered: list[FactKey]) -> set[tuple[str, str, int]]:
        """Facts a dead run published whose label lines it did not get to write."""
        written = set()
        for part in self.uc.labels.read_parts(self.lease.job_id, f"{self.new_version:08d}-"):
            for raw in part.splitlines():
                record = _generic.decode(raw)
                written.add((record["status"], record["labelAttributeName"], object_index(record["datasetObjectId"])))
        return {
            (fact.kind.value, fact.attribute, fact.index)
            for fact in recovered
            if fact.kind in (FactKind.LABELED, FactKind.FAILED)
            and (fact.kind.value, fact.attribute, fact.index) not in written
        }

    def _commit(self, sender: BatchSender, recovered: list[FactKey]) -> None:
        if sender.published == 0 and not recovered and not self.labels_lines:
            self.uc.state.release(self.lease)  # a redelivery: nothing new, no write beyond the lease
            return
        if self.labels_lines:
            part = f"{self.new_version:08d}-{self.lease.owner[:12]}-0000"
            self.uc.labels.append_labels(self.lease.job_id, part, b"".join(self.labels_lines))
        self.ledger.version = self.new_version
        self.uc.labels.save_ledger(self.lease.job_id, self.ledger.to_bytes())
        summary = {
            "lastTopicArn": self.outcome.topic_arn,
            "labeled": self.ledger.count(FactKind.LABELED),
            "failed": self.ledger.count(FactKind.FAILED),
            "completed": self.ledger.completed,
        }
        self.uc.state.commit(self.lease, self.new_version, self.uc.clock(), summary)
