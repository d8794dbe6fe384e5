"""The ports the use cases need. Adapters implement them on AWS (adapters/) or in memory (tests)."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterator, Sequence
from typing import Protocol

import msgspec

from gtproc.domain.groundtruth import TaskType
from gtproc.domain.ledger import FactKey


class ObjectMissing(Exception):
    """The object is gone (deleted after its notification was sent)."""


class ObjectUnreadable(Exception):
    """The function's role may not read the object (403: no permission, its KMS key, an archived object).

    Permanent until someone changes the permission or restores it: reported, never retried; `gtproc
    backfill` sends the write again afterwards.
    """


class LeaseHeld(Exception):
    """Another invocation is processing the same job; retry later."""


class ObjectTooLarge(Exception):
    """The object is over the size a read may take (a permanent failure: the file is invalid)."""


class PublishFailed(Exception):
    """Some events could not be published after retries; what was published is committed."""


class JournalFailed(PublishFailed):
    """Events were accepted but their journal write kept failing: the run commits its ledger and stops."""

    def __init__(self, message: str, entries: Sequence[EventEntry] = ()) -> None:
        super().__init__(message)
        self.entries = tuple(entries)


class EventEntry(msgspec.Struct, frozen=True):
    """One event to put on the bus, with the facts it publishes (recorded once it is on the bus)."""

    detail_type: str
    detail: bytes  # JSON
    facts: tuple[FactKey, ...]
    labels: tuple[bytes, ...] = ()  # manifests: the label lines the job's labels so far gain once it is out


# Every object-reading port (ObjectReader, BlobStore, SourceFiles) follows one rule: a missing object
# raises ObjectMissing (the caller decides what that means), never a None to be checked; a denied one
# ObjectUnreadable, one past its size ObjectTooLarge. Anything else is transient: the message is retried.


class ObjectReader(Protocol):
    def read_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        """Raises ObjectMissing when the object does not exist."""
        ...


class EventPublisher(Protocol):
    def put(self, entries: Sequence[EventEntry]) -> list[int]:
        """One PutEvents call (at most 10 entries within the size limit); the positions that failed."""
        ...


class JobLease(msgspec.Struct, frozen=True):
    job_id: str
    owner: str
    version: int  # the committed ledger version


class JobStateStore(Protocol):
    def acquire(self, job_id: str, owner: str, now: float, lease_seconds: int) -> JobLease:
        """Take the job's lease (raises LeaseHeld when another live owner has it)."""
        ...

    def record_published(self, lease: JobLease, facts: Sequence[FactKey], now: float) -> None:
        """Journal facts that are on the bus, before the ledger holding them is committed."""
        ...

    def published_since(self, job_id: str, version: int) -> list[FactKey]:
        """Facts journaled after `version` was committed (by a run that died before committing)."""
        ...

    def commit(self, lease: JobLease, new_version: int, now: float, summary: dict[str, object]) -> None:
        """Record the new ledger version and release the lease (only if still the owner)."""
        ...

    def release(self, lease: JobLease) -> None: ...


class LabelStore(Protocol):
    def load_ledger(self, job_id: str) -> bytes | None: ...

    def save_ledger(self, job_id: str, data: bytes) -> None: ...

    def append_labels(self, job_id: str, part: str, lines: bytes) -> None:
        """Write the part of the job's labels found by one commit."""
        ...

    def read_parts(self, job_id: str, part_prefix: str) -> list[bytes]:
        """The label parts whose name starts with `part_prefix` (recovery only)."""
        ...

    def labels_uri(self, job_id: str) -> str: ...


class DescribedBy(enum.StrEnum):
    """Where a job's facts come from."""

    SAGEMAKER = "sagemaker"  # DescribeLabelingJob
    INFERRED = "inferred"  # the key and the answers, when SageMaker cannot describe the job


class JobInfo(msgspec.Struct, frozen=True):
    """What the annotations pipeline needs to know of a labeling job."""

    label_attribute_name: str
    categories: tuple[str, ...] | None = None
    task_type: TaskType | None = None  # None: infer from the answers
    workers_per_object: int | None = None
    source: DescribedBy = DescribedBy.INFERRED
    output_path: str | None = None  # OutputConfig.S3OutputPath: the job writes under <output_path>/<job name>/
    custom_template: bool = False  # a custom UI template with a custom consolidation Lambda (answers read by shape)
    input_manifest_uri: str | None = None  # InputConfig's ManifestS3Uri: line N is datasetObjectId N


class JobDescriptions(Protocol):
    def describe(self, job_name: str) -> JobInfo | None:
        """The job as SageMaker describes it; None when it cannot be described (deleted, no access)."""
        ...


class SourceFiles(Protocol):
    def read(self, uri: str, max_bytes: int) -> bytes:
        """The object at an s3:// URI (ObjectMissing for a URI that names no object, its bucket gone too)."""
        ...


class BlobStore(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int | None = None) -> bytes:
        """Raises ObjectMissing when the object does not exist, ObjectTooLarge past max_bytes (having read no more)."""
        ...

    def list_keys(self, bucket: str, prefix: str) -> list[str]: ...

    def write(self, bucket: str, key: str, body: bytes, content_type: str = ...) -> None: ...


class ConsolidationOf(msgspec.Struct, frozen=True):
    """The record of our consolidation of one object in one iteration (its `Annotations Consolidated`)."""

    iteration: int | None
    object_id: str

    @property
    def record_id(self) -> str:
        return f"ANN#{self.iteration}#{self.object_id}"


class ComparisonOf(msgspec.Struct, frozen=True):
    """The record of one object's comparison with Ground Truth's consolidation (`Consolidation Compared`)."""

    iteration: int | None
    object_id: str

    @property
    def record_id(self) -> str:
        return f"CMP#{self.iteration}#{self.object_id}"


class InvalidFileOf(msgspec.Struct, frozen=True):
    """The record of one unusable file's `Annotation File Invalid`."""

    iteration: int | None
    key: str

    @property
    def record_id(self) -> str:
        # Keys are up to 1 KB, as are sort keys: the record is named by the key's digest.
        return f"INV#{self.iteration}#{hashlib.sha256(self.key.encode()).hexdigest()[:32]}"


# The records the annotations pipeline publishes once; their ids are the state table's sort keys
# (deployed tables hold them: never change one).
AnnotationRecord = ConsolidationOf | ComparisonOf | InvalidFileOf


class AnnotationStore(Protocol):
    """Per-job worker quality and per-object consolidation records of the annotations pipeline.

    Records are named by a `record_id`: an `AnnotationRecord`'s, or the job-status use case's own."""

    def load_quality(self, job_id: str) -> tuple[dict[str, object] | None, int]: ...

    def save_quality(self, job_id: str, state: dict[str, object], expected_version: int) -> bool:
        """Conditional on the version read; False when another invocation saved first."""
        ...

    def claim(self, job_id: str, record_id: str, owner: str, now: float, record: dict[str, object]) -> bool:
        """Create the record unless it exists (first writer wins)."""
        ...

    def get(self, job_id: str, record_id: str) -> dict[str, object] | None: ...

    def get_with_quality(
        self, job_id: str, record_id: str
    ) -> tuple[dict[str, object] | None, tuple[dict[str, object] | None, int]]:
        """`get` and `load_quality` in one round trip: (record, (quality, its version))."""
        ...

    def mark_published(self, job_id: str, record_id: str) -> None: ...

    def unclaim(self, job_id: str, record_id: str, owner: str) -> None: ...

    def release_stale(self, job_id: str, record_id: str, claimed_before: float) -> None:
        """Delete the record if it is still unpublished and was claimed before the given time."""
        ...

    def take_over(
        self, job_id: str, record_id: str, owner: str, now: float, claimed_before: float
    ) -> dict[str, object] | None:
        """Become the owner of an unpublished claim made before the given time; the record, or None."""
        ...

    def release_claim(self, job_id: str, record_id: str, owner: str) -> None:
        """Keep the record but make it stale at once, so the next delivery takes it over (if still the owner)."""
        ...


class JobStatusInfo(msgspec.Struct, frozen=True):
    """What DescribeLabelingJob says of a job for the streaming and job-status functions."""

    output_path: str | None  # OutputConfig.S3OutputPath: the job writes under <output_path>/<job name>/
    label_counters: dict[str, int]  # LabelCounters as SageMaker names them (TotalLabeled, ...)


class LabelingJobs(Protocol):
    def status(self, job_name: str) -> JobStatusInfo | None:
        """None when the job cannot be described (deleted, another account's, no permission)."""
        ...
