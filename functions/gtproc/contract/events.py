"""The events gtproc publishes on its bus: detail types and detail shapes (camelCase on the wire).

Consumers' rules match on `detail-type`; renaming one breaks them. Extend with new fields, never rename.
"""

from __future__ import annotations

from typing import Any

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

# EventBridge PutEvents: at most 10 entries per call, 256 KiB per entry and per call.
MAX_ENTRIES_PER_PUT = 10
MAX_PUT_BYTES = 256 * 1024


class _Camel(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    pass


class LabeledObject(_Camel, kw_only=True):
    dataset_object_id: str
    source: str | None = None
    source_ref: str | None = None
    label: Any
    metadata: dict[str, Any]
    human_annotated: bool


class FailedObject(_Camel, kw_only=True):
    dataset_object_id: str
    source: str | None = None
    source_ref: str | None = None
    failure_reason: str


class ObjectsLabeled(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
    label_attribute_name: str
    iteration: int | None  # null for the final manifest; always present
    manifest_uri: str
    count: int
    objects: list[LabeledObject]


class ObjectsFailed(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
    label_attribute_name: str
    iteration: int | None
    manifest_uri: str
    count: int
    objects: list[FailedObject]


class ValidationFailed(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
    manifest_uri: str
    invalid_count: int
    errors: list[LineError]


class LabelingJobCompleted(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
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


class AnnotationsConsolidated(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
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


class ConsolidatedLabel(_Camel, kw_only=True):
    label: Any
    metadata: dict[str, Any] = {}


class ConsolidationCompared(_Camel, kw_only=True):
    job_name: str
    bucket: str  # the output bucket of the key the event comes from
    job_path: str  # the key's path up to and including the job folder: with bucket, the job's identity
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


DETAIL_TYPES: dict[str, type[msgspec.Struct]] = {
    OBJECTS_LABELED: ObjectsLabeled,
    OBJECTS_FAILED: ObjectsFailed,
    VALIDATION_FAILED: ValidationFailed,
    JOB_COMPLETED: LabelingJobCompleted,
    ANNOTATIONS_CONSOLIDATED: AnnotationsConsolidated,
    CONSOLIDATION_COMPARED: ConsolidationCompared,
    ANNOTATION_FILE_INVALID: AnnotationFileInvalid,
}


def json_schemas() -> dict[str, dict[str, Any]]:
    """A JSON Schema per detail type, for docs/events.md and for consumers' contract tests."""
    return {name: msgspec.json.schema(model) for name, model in DETAIL_TYPES.items()}
