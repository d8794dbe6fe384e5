"""Typed models of Ground Truth output: manifest labels and metadata per task type, worker-response
files, consolidation requests and responses.

They are msgspec Structs so that a line can be decoded and checked in one pass in C (see
`fastpath.py`); `validation.py` holds the same rules as readable Python and is the reference that
names each broken rule. Metadata models allow unknown keys: Ground Truth adds keys over the years.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from gtproc.domain.groundtruth import TaskType
from gtproc.domain.identity import MAX_INDEX_DIGITS

Confidence = Annotated[float, msgspec.Meta(ge=0, le=1)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
# Real files write class ids as ints; docs sometimes as numeric strings. Strings with a leading zero are
# left to the reference: it reads "05" as 5, so the class-map check would not see the same key. At most
# MAX_INDEX_DIGITS digits, as the reference reads them (a longer string is no class index there).
_CLASS_ID_DIGITS = rf"^(0|[1-9][0-9]{{0,{MAX_INDEX_DIGITS - 1}}})\Z"
ClassId = Annotated[int, msgspec.Meta(ge=0)] | Annotated[str, msgspec.Meta(pattern=_CLASS_ID_DIGITS)]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
S3Uri = Annotated[str, msgspec.Meta(pattern=r"^s3://")]
HexColor = Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}\Z")]


class _Model(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    pass


# ---- metadata -------------------------------------------------------------------------------------


class CommonMetadata(_Model, rename="kebab", kw_only=True):
    """Keys every built-in task writes. `type` is checked separately (it selects the model)."""

    job_name: NonEmpty
    human_annotated: Literal["yes", "no"]
    creation_date: datetime
    adjustment_status: Literal["adjusted", "unadjusted"] | None = None


class ClassificationMetadata(CommonMetadata, rename="kebab", kw_only=True):
    class_name: str
    confidence: Confidence


class MultiLabelMetadata(CommonMetadata, rename="kebab", kw_only=True):
    class_map: dict[str, Any]
    confidence_map: dict[str, Confidence] | None = None


class ObjectConfidence(_Model, kw_only=True):
    confidence: Confidence


class BoundingBoxMetadata(CommonMetadata, rename="kebab", kw_only=True):
    class_map: dict[str, Any]
    objects: list[ObjectConfidence]


class ColorMapEntry(_Model, rename="kebab", kw_only=True):
    class_name: str
    hex_color: HexColor
    confidence: Confidence | None = None


class SemanticSegmentationMetadata(CommonMetadata, rename="kebab", kw_only=True):
    internal_color_map: dict[str, ColorMapEntry]


class EntityConfidence(_Model, kw_only=True):
    confidence: Confidence


class TextSpanMetadata(CommonMetadata, rename="kebab", kw_only=True):
    entities: list[EntityConfidence]


class VideoMetadata(CommonMetadata, rename="kebab", kw_only=True):
    class_map: dict[str, Any]


class FailedMetadata(_Model, rename="kebab", kw_only=True):
    failure_reason: str


# ---- labels ---------------------------------------------------------------------------------------


class ImageSize(_Model, kw_only=True):
    width: NonNegative
    height: NonNegative
    depth: int | None = None


class Box(_Model, kw_only=True):
    class_id: ClassId
    left: float
    top: float
    width: NonNegative
    height: NonNegative


class BoundingBoxLabel(_Model, kw_only=True):
    annotations: list[Box]
    image_size: list[ImageSize] | None = None


class Entity(_Model, kw_only=True):
    label: str
    startOffset: Annotated[int, msgspec.Meta(ge=0)]
    endOffset: Annotated[int, msgspec.Meta(ge=0)]


class EntityLabelName(_Model, kw_only=True):
    label: str
    shortDisplayName: str | None = None


class TextSpanAnnotations(_Model, kw_only=True):
    entities: list[Entity]
    labels: list[EntityLabelName] | None = None


class TextSpanLabel(_Model, kw_only=True):
    annotations: TextSpanAnnotations


# Label and metadata model per task type, for the types with a fast path. Other types (3D detection,
# unknown and custom types) are checked by `validation.py` alone or by the common metadata only.
LABEL_MODELS: dict[TaskType, Any] = {
    TaskType.IMAGE_CLASSIFICATION: ClassId,
    TaskType.TEXT_CLASSIFICATION: ClassId,
    TaskType.LABEL_VERIFICATION: ClassId,
    TaskType.IMAGE_MULTILABEL: list[ClassId],
    TaskType.TEXT_MULTILABEL: list[ClassId],
    TaskType.OBJECT_DETECTION: BoundingBoxLabel,
    TaskType.SEMANTIC_SEGMENTATION: S3Uri,
    TaskType.TEXT_SPAN: TextSpanLabel,
    TaskType.VIDEO_DETECTION: S3Uri,
    TaskType.VIDEO_TRACKING: S3Uri,
    TaskType.CUSTOM: Any,  # not msgspec.Raw: it skips bytes without checking UTF-8 or number range
}
METADATA_MODELS: dict[TaskType, type[CommonMetadata]] = {
    TaskType.IMAGE_CLASSIFICATION: ClassificationMetadata,
    TaskType.TEXT_CLASSIFICATION: ClassificationMetadata,
    TaskType.LABEL_VERIFICATION: ClassificationMetadata,
    TaskType.IMAGE_MULTILABEL: MultiLabelMetadata,
    TaskType.TEXT_MULTILABEL: MultiLabelMetadata,
    TaskType.OBJECT_DETECTION: BoundingBoxMetadata,
    TaskType.SEMANTIC_SEGMENTATION: SemanticSegmentationMetadata,
    TaskType.TEXT_SPAN: TextSpanMetadata,
    TaskType.VIDEO_DETECTION: VideoMetadata,
    TaskType.VIDEO_TRACKING: VideoMetadata,
    TaskType.CUSTOM: CommonMetadata,
}


# ---- worker responses and consolidation files -----------------------------------------------------


class IdentityData(_Model, kw_only=True):
    identityProviderType: str | None = None
    issuer: str | None = None
    sub: str | None = None


class WorkerMetadata(_Model, kw_only=True):
    identityData: IdentityData | None = None


class WorkerAnswerRecord(_Model, kw_only=True):
    """One worker's answer as a worker-response file writes it; `answerContent` is the task form's output.
    The use cases read it as the vocabulary's `groundtruth.WorkerAnswer`."""

    workerId: str
    answerContent: dict[str, Any]
    submissionTime: str | None = None
    acceptanceTime: str | None = None
    timeSpentInSeconds: float | None = None
    workerMetadata: WorkerMetadata | None = None


class WorkerResponseFile(_Model, kw_only=True):
    answers: list[WorkerAnswerRecord]


class DataObject(_Model, kw_only=True):
    content: str | None = None
    s3Uri: str | None = None


class AnnotationData(_Model, kw_only=True):
    content: str | None = None  # the worker's answerContent serialized as a JSON string
    s3Uri: str | None = None


class RequestAnnotation(_Model, kw_only=True):
    workerId: str
    annotationData: AnnotationData


class ConsolidationRequestItem(_Model, kw_only=True):
    datasetObjectId: str
    dataObject: DataObject
    annotations: list[RequestAnnotation]


class ConsolidatedAnnotation(_Model, kw_only=True):
    content: dict[str, Any]


class ConsolidationResponseItem(_Model, kw_only=True):
    datasetObjectId: str
    consolidatedAnnotation: ConsolidatedAnnotation


class PostAnnotationEvent(_Model, kw_only=True):
    """The event Ground Truth sends an annotation-consolidation Lambda. `version` is not checked:
    real events say 2018-10-06 where the docs say 2018-10-16."""

    labelingJobArn: str
    labelAttributeName: str
    payload: DataObject
    version: str | None = None
    labelCategories: list[str] | None = None
    roleArn: str | None = None
    outputConfig: str | None = None
    maxHumanWorkersPerDataObject: int | None = None


worker_response_decoder = msgspec.json.Decoder(WorkerResponseFile)
consolidation_request_decoder = msgspec.json.Decoder(list[ConsolidationRequestItem])
consolidation_response_decoder = msgspec.json.Decoder(list[ConsolidationResponseItem])
