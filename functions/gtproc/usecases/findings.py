"""A run's findings on the bus and in the job's labels so far, under its job session: shared by the
manifests and the streaming use cases, which differ only in where their lines come from.

Each new finding is packed into the event of its detail type and label attribute; the events are put
in batches, and each batch PutEvents accepts is recorded in the session before the next is put; the
label lines of what went out join the labels so far. A finding that a dead run published without
writing its label line only gets the line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from gtproc.contract.events import OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED, FailedObject, LabeledObject
from gtproc.contract.labels import LabelLine, LabelsWriter
from gtproc.domain.detection import FailedFinding, Finding, InvalidFinding, LabeledFinding, LineFailure, LineLabel
from gtproc.usecases.ports import EventEntry, EventPublisher, LabelStore
from gtproc.usecases.publish_once import JobSession
from gtproc.usecases.publishing import BatchSender, EventPacker

FAILURE_REASON_CHARS = 1000  # of a failure reason too large for any event: enough to read what went wrong

_encoder = msgspec.json.Encoder()


class Origin(msgspec.Struct, frozen=True):
    """Where a run's lines come from, as its events' frames and its label lines name it."""

    job_name: str
    bucket: str
    job_path: str
    iteration: int | None = None  # of an intermediate manifest; null for the final one and a topic
    manifest_uri: str | None = None  # null for a streaming job's message
    topic_arn: str | None = None  # a streaming job's output topic; only then in the events

    def frame(self, detail_type: str, attribute: str) -> dict[str, Any]:
        frame: dict[str, Any] = {"jobName": self.job_name, "bucket": self.bucket, "jobPath": self.job_path}
        if detail_type != VALIDATION_FAILED:
            frame |= {"labelAttributeName": attribute, "iteration": self.iteration}
        frame["manifestUri"] = self.manifest_uri
        if self.topic_arn is not None:
            frame["topicArn"] = self.topic_arn
        return frame


class FindingsRun:
    def __init__(
        self,
        session: JobSession,
        publisher: EventPublisher,
        labels: LabelStore,
        origin: Origin,
        sleep: Callable[[float], None],
    ) -> None:
        self.session, self.origin = session, origin
        self.sender = BatchSender(publisher, sleep=sleep)
        self.labels = LabelsWriter(labels, session.job_id, session.new_version, session.lease.owner)
        self.packers: dict[tuple[str, str], EventPacker] = {}
        self.published: dict[str, int] = {}  # facts on the bus, by detail type
        self.relabeled = 0

    def relabel(self) -> set[tuple[str, str, int]]:
        """What the detector must give again: published by a dead run, without a label line."""
        return self.labels.unwritten(self.session.recovered) if self.session.recovered else set()

    def observe(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            if isinstance(finding, InvalidFinding) or finding.publish:
                self.send(self._pack(finding))
            else:
                self.labels.add([self._label_line(finding)])
                self.relabeled += 1

    def send(self, entry: EventEntry | None) -> None:
        """Queue an event (packed here, or the caller's own), putting the batch it does not fit in."""
        if entry is not None:
            self._put(self.sender.add(entry))

    def flush(self) -> None:
        """Put every event packed so far."""
        for packer in self.packers.values():
            self.send(packer.cut())
        self._put(self.sender.take())

    def commit(self, last_manifest: str | None = None, last_topic_arn: str | None = None) -> None:
        """Write the label lines and commit the session; with nothing new, only give the lease back.
        Also after a PublishFailed: committing what did go out keeps the retry from publishing it again."""
        if self.sender.published == 0 and not self.session.recovered and not self.relabeled:
            self.session.release()
            return
        self.labels.flush()
        self.session.commit(last_manifest, last_topic_arn=last_topic_arn)

    def _put(self, batch: Sequence[EventEntry]) -> None:
        for accepted in self.sender.put(batch):
            try:
                self.session.record(accepted)
            finally:  # on the bus either way: counted, and their labels are the job's
                for entry in accepted:
                    self.published[entry.detail_type] = self.published.get(entry.detail_type, 0) + len(entry.facts)
                    self.labels.add(entry.labels)

    def _packer(self, detail_type: str, attribute: str) -> EventPacker:
        packer = self.packers.get((detail_type, attribute))
        if packer is None:
            frame = self.origin.frame(detail_type, attribute)
            if detail_type == VALIDATION_FAILED:
                packer = EventPacker(detail_type, frame, "errors", "invalidCount")
            else:
                packer = EventPacker(detail_type, frame, "objects", "count")
            self.packers[(detail_type, attribute)] = packer
        return packer

    def _pack(self, finding: Finding) -> EventEntry | None:
        if isinstance(finding, InvalidFinding):
            errors = [error.as_dict() for error in finding.errors]
            return self._packer(VALIDATION_FAILED, "").add(errors, (finding.key,))
        detail_type = OBJECTS_LABELED if isinstance(finding, LabeledFinding) else OBJECTS_FAILED
        packer = self._packer(detail_type, finding.key.attribute)
        encoded = _encoder.encode(event_object(finding))
        if len(encoded) > packer.room():
            encoded = _encoder.encode(_omitted(finding))
        return packer.add_encoded([encoded], (finding.key,), (self._label_line(finding),))

    def _label_line(self, finding: LabeledFinding | FailedFinding) -> bytes:
        """The object in full, then the frame's fields."""
        obj, origin = finding.object, self.origin
        line = LabelLine(
            dataset_object_id=obj.dataset_object_id,
            source=obj.source,
            source_ref=obj.source_ref,
            label_attribute_name=finding.key.attribute,
            status="failed",
            iteration=origin.iteration,
            manifest_uri=origin.manifest_uri,
            topic_arn=origin.topic_arn,
        )
        if isinstance(obj, LineLabel):
            line.status = "labeled"
            line.label, line.metadata, line.human_annotated = obj.label, obj.metadata, obj.human_annotated
        else:
            line.failure_reason = obj.failure_reason
        return _encoder.encode(line) + b"\n"


def event_object(finding: LabeledFinding | FailedFinding) -> LabeledObject | FailedObject:
    """The object of a finding as its event carries it."""
    obj = finding.object
    if isinstance(obj, LineLabel):
        return LabeledObject(
            dataset_object_id=obj.dataset_object_id,
            source=obj.source,
            source_ref=obj.source_ref,
            label=obj.label,
            metadata=obj.metadata,
            human_annotated=obj.human_annotated,
        )
    return FailedObject(
        dataset_object_id=obj.dataset_object_id,
        source=obj.source,
        source_ref=obj.source_ref,
        failure_reason=obj.failure_reason,
    )


def _omitted(finding: LabeledFinding | FailedFinding) -> LabeledObject | FailedObject:
    """An object too large for any event, abridged to fit: a label goes out as null, a failure reason cut
    short. The labels so far keep it whole."""
    obj: LineLabel | LineFailure = finding.object
    oid, source, ref = obj.dataset_object_id, obj.source, obj.source_ref
    if isinstance(obj, LineLabel):
        human = obj.human_annotated
        return LabeledObject(dataset_object_id=oid, source=source, source_ref=ref, label=None, metadata={},
                             human_annotated=human, label_omitted=True)  # fmt: skip
    reason = obj.failure_reason[:FAILURE_REASON_CHARS] + "..."
    return FailedObject(dataset_object_id=oid, source=source, source_ref=ref, failure_reason=reason, label_omitted=True)
