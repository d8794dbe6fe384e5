"""The job's labels so far: one JSON line per published object, in `part-*.jsonl` files under the
job's `labelsUri` (read every part in name order). Each line is the object as its event carries it,
in full even when the event had to omit its label, followed by the event frame's fields.

A run writes its lines in parts of about 16 MB named `<version>-<run>-<n>`: a run retrying a dead one
commits the same version and must not overwrite the dead run's parts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import msgspec
from msgspec import UNSET, UnsetType

from gtproc.contract.events import EventObject
from gtproc.domain.identity import object_index
from gtproc.domain.ledger import FactKey, FactKind

LABELS_PART_BYTES = 16 * 1024 * 1024


class LabelLine(EventObject, kw_only=True):
    """A labeled object's line has `label`, `metadata`, `humanAnnotated`; a failed one's `failureReason`."""

    label: Any = UNSET
    metadata: dict[str, Any] | UnsetType = UNSET
    human_annotated: bool | UnsetType = UNSET
    failure_reason: str | UnsetType = UNSET
    # The frame of the event that published the object.
    label_attribute_name: str
    status: Literal["labeled", "failed"]
    iteration: int | None  # null for the final manifest and a streaming job's message; always present
    manifest_uri: str | None  # null for a streaming job's message; always present
    topic_arn: str | None = None  # the streaming job's output topic; only then present


class PartStore(Protocol):
    """Where the parts go (gtproc.usecases.ports.LabelStore)."""

    def append_labels(self, job_id: str, part: str, lines: bytes) -> None: ...

    def read_parts(self, job_id: str, part_prefix: str) -> list[bytes]: ...


class LabelsWriter:
    """One run's label lines, buffered and written in parts of about `LABELS_PART_BYTES`."""

    def __init__(self, labels: PartStore, job_id: str, version: int, owner: str) -> None:
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
