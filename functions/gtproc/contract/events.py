"""The events gtproc publishes on its bus: detail types and detail shapes (camelCase on the wire).

Consumers' rules match on `detail-type`; renaming one breaks them. Extend with new fields, never rename.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from gtproc.domain.groundtruth import LineError  # a manifest line's error is Ground Truth vocabulary

DEFAULT_EVENT_SOURCE = "gtproc"

OBJECTS_LABELED = "Objects Labeled"
OBJECTS_FAILED = "Objects Failed"
VALIDATION_FAILED = "Validation Failed"
JOB_COMPLETED = "Labeling Job Completed"
ANNOTATIONS_CONSOLIDATED = "Annotations Consolidated"
CONSOLIDATION_COMPARED = "Consolidation Compared"
ANNOTATION_FILE_INVALID = "Annotation File Invalid"
JOB_STATUS_CHANGED = "Labeling Job Status Changed"

# EventBridge PutEvents: at most 10 entries per call, 256 KiB per entry and per call.
MAX_ENTRIES_PER_PUT = 10
MAX_PUT_BYTES = 256 * 1024


class _Camel(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    pass


class _JobEvent(_Camel, kw_only=True):
    """The job an event is about, first in most details (Annotation File Invalid orders them otherwise)."""

    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity


class EventObject(_Camel, kw_only=True):
    """Which object: its id, then the `source` or `source-ref` of its line."""

    dataset_object_id: str
    source: str | None = None
    source_ref: str | None = None
    # True when the object was too large for any event: it goes out abridged (label null, or its failure
    # reason cut short), and the job's labels so far hold it whole. Absent otherwise.
    label_omitted: bool = False


class LabeledObject(EventObject, kw_only=True):
    label: Any
    metadata: dict[str, Any]
    human_annotated: bool


class FailedObject(EventObject, kw_only=True):
    failure_reason: str


ObjectT = TypeVar("ObjectT", LabeledObject, FailedObject)


class _ObjectsEvent(_JobEvent, Generic[ObjectT], kw_only=True):
    """Objects Labeled and Objects Failed: the objects of one label attribute, from one manifest or topic."""

    label_attribute_name: str
    iteration: int | None  # null for the final manifest and a streaming job's SNS output; always present
    manifest_uri: str | None  # null for a streaming job's SNS output; always present
    count: int
    objects: list[ObjectT]
    topic_arn: str | None = None  # the streaming job's output topic the objects came from; only then present


class ObjectsLabeled(_ObjectsEvent[LabeledObject], kw_only=True):
    pass


class ObjectsFailed(_ObjectsEvent[FailedObject], kw_only=True):
    pass


class ValidationFailed(_JobEvent, kw_only=True):
    manifest_uri: str | None  # null for a bad message of a streaming job's output topic
    invalid_count: int
    errors: list[LineError]  # for a bad SNS message, `line` is 1: the message holds one line
    topic_arn: str | None = None  # the streaming job's output topic the bad message came from


class LabelingJobCompleted(_JobEvent, kw_only=True):
    manifest_uri: str
    objects: int
    labeled: int
    failed: int
    unlabeled: int
    human_labeled: int
    auto_labeled: int
    invalid_lines: int
    class_counts: dict[str, int]
    labels_uri: str
    label_attribute_names: list[str] = []


class AnnotationsConsolidated(_JobEvent, kw_only=True):
    iteration: int
    dataset_object_id: str
    label_attribute_name: str
    task_type: str
    label: Any
    metadata: dict[str, Any]
    workers: int  # how many worker answers were consolidated
    agreement: float  # share of those answers that agree with the label
    method: str
    worker_ids: list[str] = []
    # Single- and multi-label: {class name: answers naming it}; empty for the other task types.
    votes: dict[str, int] = {}
    # Which object: `source-ref` or `source` of its input line; absent when neither file that says so
    # could be read (counted in the ObjectsWithoutSource metric).
    source_ref: str | None = None
    source: str | None = None


class ConsolidatedLabel(_Camel, kw_only=True):
    label: Any
    metadata: dict[str, Any] = {}


class ConsolidationCompared(_JobEvent, kw_only=True):
    iteration: int
    dataset_object_id: str
    label_attribute_name: str
    task_type: str
    agree: bool
    ours: ConsolidatedLabel
    ground_truth: ConsolidatedLabel


class AnnotationFileInvalid(_Camel, kw_only=True):
    """A worker-response or consolidation file that cannot be used; published once, never retried."""

    job_name: str
    job_path: str  # the key's path up to and including the job folder
    bucket: str
    iteration: int
    dataset_object_id: str | None  # None for a consolidation-response file (it holds many objects)
    file_uri: str
    code: str
    message: str


class LabelCounters(_Camel, kw_only=True):
    """DescribeLabelingJob's LabelCounters, camelCased."""

    total_labeled: int
    human_labeled: int
    machine_labeled: int
    failed_non_retryable_error: int
    unlabeled: int


class LabelingJobStatusChanged(_Camel, kw_only=True):
    """A labeling job's status as SageMaker reports it; once per job and status. A stopped streaming
    job's `Stopped` is its end."""

    job_name: str
    status: str  # Initializing, InProgress, Completed, Failed, Stopping, Stopped
    label_counters: LabelCounters | None  # null when DescribeLabelingJob cannot describe the job


DETAIL_TYPES: dict[str, type[msgspec.Struct]] = {
    OBJECTS_LABELED: ObjectsLabeled,
    OBJECTS_FAILED: ObjectsFailed,
    VALIDATION_FAILED: ValidationFailed,
    JOB_COMPLETED: LabelingJobCompleted,
    ANNOTATIONS_CONSOLIDATED: AnnotationsConsolidated,
    CONSOLIDATION_COMPARED: ConsolidationCompared,
    ANNOTATION_FILE_INVALID: AnnotationFileInvalid,
    JOB_STATUS_CHANGED: LabelingJobStatusChanged,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """A JSON Schema per detail type, for docs/events.md and for consumers' contract tests."""
    return {name: msgspec.json.schema(model) for name, model in DETAIL_TYPES.items()}
