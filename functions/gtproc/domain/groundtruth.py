"""Ground Truth's vocabulary, in one place: task types, worker answers, line errors and job names.

Validation, consolidation, the adapters and the contract all speak these words, so each is defined
once here.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

import msgspec

# ---- task types -------------------------------------------------------------------------------------


class TaskType(StrEnum):
    """A task type. The value is Ground Truth's `type` without its `groundtruth/` prefix, so that
    `groundtruth_type` is exact and the short name is what the CLI and JobInfo speak."""

    IMAGE_CLASSIFICATION = "image-classification"
    TEXT_CLASSIFICATION = "text-classification"
    LABEL_VERIFICATION = "label-verification"
    IMAGE_MULTILABEL = "image-classification-multilabel"
    TEXT_MULTILABEL = "text-classification-multilabel"
    OBJECT_DETECTION = "object-detection"
    TEXT_SPAN = "text-span"  # named entity recognition
    SEMANTIC_SEGMENTATION = "semantic-segmentation"
    VIDEO_DETECTION = "video-object-detection"
    VIDEO_TRACKING = "video-object-tracking"
    POINT_CLOUD_DETECTION = "point_cloud_object_detection"
    POINT_CLOUD_TRACKING = "point_cloud_object_tracking"
    POINT_CLOUD_SEGMENTATION = "point_cloud_single_frame_semantic_segmentation"
    CUSTOM = "custom"  # a custom template: each element consolidated by its shape
    UNKNOWN = "unknown"  # consolidation's "nothing recognisable"; never a metadata type

    @property
    def groundtruth_type(self) -> str:
        """The `<LAN>-metadata.type` Ground Truth writes."""
        return f"groundtruth/{self.value}"

    @property
    def family(self) -> str:
        """Task types that share one consolidation algorithm (and one quality-state layout)."""
        return _FAMILY[self]


# Consolidation families: the keys of the quality state, so their values are part of stored state.
SINGLE_LABEL = "single-label"
MULTI_LABEL = "multi-label"
BOXES = "boxes"
SPANS = "spans"
SEGMENTATION = "segmentation"

_FAMILY = {
    TaskType.IMAGE_CLASSIFICATION: SINGLE_LABEL,
    TaskType.TEXT_CLASSIFICATION: SINGLE_LABEL,
    TaskType.LABEL_VERIFICATION: SINGLE_LABEL,
    TaskType.IMAGE_MULTILABEL: MULTI_LABEL,
    TaskType.TEXT_MULTILABEL: MULTI_LABEL,
    TaskType.OBJECT_DETECTION: BOXES,
    TaskType.TEXT_SPAN: SPANS,
    TaskType.SEMANTIC_SEGMENTATION: SEGMENTATION,
    TaskType.CUSTOM: "custom",
    TaskType.UNKNOWN: "unknown",
}

# The built-in task types gtproc consolidates (in definition order: the CLI lists them so).
CONSOLIDATED_TYPES = tuple(t for t in TaskType if t in _FAMILY and t not in (TaskType.CUSTOM, TaskType.UNKNOWN))

# Label attribute names of these types must end with `-ref`: their label is an S3 URI.
REF_TASK_TYPES = frozenset(
    {
        TaskType.SEMANTIC_SEGMENTATION,
        TaskType.VIDEO_DETECTION,
        TaskType.VIDEO_TRACKING,
        TaskType.POINT_CLOUD_TRACKING,
        TaskType.POINT_CLOUD_SEGMENTATION,
    }
)

SINGLE_LABEL_TYPES = frozenset(
    {TaskType.IMAGE_CLASSIFICATION, TaskType.TEXT_CLASSIFICATION, TaskType.LABEL_VERIFICATION}
)
MULTILABEL_TYPES = frozenset({TaskType.IMAGE_MULTILABEL, TaskType.TEXT_MULTILABEL})

_BY_TYPE = {t.groundtruth_type.lower(): t for t in TaskType if t is not TaskType.UNKNOWN}


def task_type_of(type_string: str) -> TaskType | None:
    """The known task type of a metadata `type`; None for custom-looking or unknown types.

    Matching ignores case: the docs once spell `groundTruth/custom`.
    """
    return _BY_TYPE.get(type_string.lower())


# Built-in annotation-consolidation Lambdas (`arn:...:function:ACS-<name>`) and the task each consolidates.
_ACS_TASKS = {
    "ImageMultiClass": TaskType.IMAGE_CLASSIFICATION,
    "ImageMultiClassMultiLabel": TaskType.IMAGE_MULTILABEL,
    "TextMultiClass": TaskType.TEXT_CLASSIFICATION,
    "TextMultiClassMultiLabel": TaskType.TEXT_MULTILABEL,
    "BoundingBox": TaskType.OBJECT_DETECTION,
    "AdjustmentBoundingBox": TaskType.OBJECT_DETECTION,
    "VerificationBoundingBox": TaskType.LABEL_VERIFICATION,
    "VerificationSemanticSegmentation": TaskType.LABEL_VERIFICATION,
    "SemanticSegmentation": TaskType.SEMANTIC_SEGMENTATION,
    "AdjustmentSemanticSegmentation": TaskType.SEMANTIC_SEGMENTATION,
    "NamedEntityRecognition": TaskType.TEXT_SPAN,
}


def task_of_consolidation_arn(arn: str) -> TaskType | None:
    """`arn:aws:lambda:<region>:<account>:function:ACS-BoundingBox` -> OBJECT_DETECTION; None if not built in."""
    name = arn.rsplit(":", 1)[-1]
    return _ACS_TASKS.get(name.removeprefix("ACS-")) if name.startswith("ACS-") else None


# ---- worker answers ---------------------------------------------------------------------------------


class WorkerAnswer(NamedTuple):  # a tuple: cheap to build for the 500k answers of a large job
    """One worker's answer to one object: who, and the task form's output (`answerContent`), decoded."""

    worker_id: str
    content: dict[str, Any]


# ---- line errors ------------------------------------------------------------------------------------


# One rule a manifest line breaks. Also the wire shape of `Validation Failed`'s `errors` (so no
# docstring: it would become the schema's description).
class LineError(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    line: int  # 1-based
    attribute: str | None = None
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """Every field, `attribute` included when null (as `validate --json` and the events write it)."""
        return {"line": self.line, "attribute": self.attribute, "code": self.code, "message": self.message}


# ---- job names --------------------------------------------------------------------------------------

JOB_NAME_PREFIX = "labeling-job/"


def job_name_of_arn(arn: str) -> str:
    """`arn:aws:sagemaker:...:labeling-job/<name>` -> `<name>`; anything else is taken as the name."""
    return arn.rsplit(JOB_NAME_PREFIX, 1)[-1]


def job_name_in_arn(arn: str) -> str | None:
    """The job a labeling-job ARN names (`...:labeling-job/<name>`); None for any other ARN."""
    marker = f":{JOB_NAME_PREFIX}"
    return arn.rsplit(marker, 1)[1] if marker in arn else None


def job_arn(job_name: str, region: str, account: str) -> str:
    """The ARN SageMaker gives a job (its name in lower case, as its events carry it)."""
    return f"arn:aws:sagemaker:{region}:{account}:{metadata_job_name(job_name)}"


def normalize_job_name(name: str) -> str:
    """Job names are case-insensitive; built-in metadata writes `labeling-job/<name lower-cased>`."""
    name = name.strip().lower()
    return name[len(JOB_NAME_PREFIX) :] if name.startswith(JOB_NAME_PREFIX) else name


def metadata_job_name(job_name: str) -> str:
    """The metadata `job-name` Ground Truth writes: "labeling-job/<name lower-cased>"; an ARN is accepted too."""
    return f"{JOB_NAME_PREFIX}{job_name_of_arn(job_name).lower()}"


def job_name_in(metadata: Any) -> str:
    """The `job-name` of a label's metadata (`job_name` in some old files); "" when it has none."""
    if isinstance(metadata, dict):
        value = metadata.get("job-name") or metadata.get("job_name")
        if isinstance(value, str):
            return value
    return ""
