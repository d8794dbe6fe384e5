"""Ground Truth task types as they appear in `<LAN>-metadata.type`."""

from __future__ import annotations

from enum import StrEnum


class TaskType(StrEnum):
    IMAGE_CLASSIFICATION = "groundtruth/image-classification"
    TEXT_CLASSIFICATION = "groundtruth/text-classification"
    IMAGE_MULTILABEL = "groundtruth/image-classification-multilabel"
    TEXT_MULTILABEL = "groundtruth/text-classification-multilabel"
    BOUNDING_BOX = "groundtruth/object-detection"
    SEMANTIC_SEGMENTATION = "groundtruth/semantic-segmentation"
    LABEL_VERIFICATION = "groundtruth/label-verification"
    NAMED_ENTITY = "groundtruth/text-span"
    VIDEO_DETECTION = "groundtruth/video-object-detection"
    VIDEO_TRACKING = "groundtruth/video-object-tracking"
    POINT_CLOUD_DETECTION = "groundtruth/point_cloud_object_detection"
    POINT_CLOUD_TRACKING = "groundtruth/point_cloud_object_tracking"
    POINT_CLOUD_SEGMENTATION = "groundtruth/point_cloud_single_frame_semantic_segmentation"
    CUSTOM = "groundtruth/custom"


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

_BY_LOWER = {t.value.lower(): t for t in TaskType}


def task_type_of(type_string: str) -> TaskType | None:
    """The known task type of a metadata `type`; None for custom-looking or unknown types.

    Matching ignores case: the docs once spell `groundTruth/custom`.
    """
    return _BY_LOWER.get(type_string.lower())
