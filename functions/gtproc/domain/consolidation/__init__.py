"""Pure consolidation of Ground Truth worker answers into labels (standard library, numpy and msgspec only).

    result = consolidate("image-classification", {"7": answers, ...},
                         label_attribute_name="birds", job_name="birds", categories=[...],
                         prior=previous_state_json)
    result.objects[0].content        # {"birds": 2, "birds-metadata": {...}} as GT writes it
    result.quality.to_json()         # persist; pass back as `prior` for the next batch of the job

METHODS lists the algorithms per task type, DEFAULT_METHOD the one used when none is given.
"""

from gtproc.domain.consolidation.answers import (
    infer_task_type,
    objects_from_consolidation_request,
    parse_answer,
    resolve_classes,
)
from gtproc.domain.consolidation.api import (
    AWS_MODIFIED_DAWID_SKENE,
    DAWID_SKENE,
    DEFAULT_METHOD,
    METHODS,
    answer_classes,
    consolidate,
    job_name_metadata,
    task_of,
)
from gtproc.domain.consolidation.model import (
    DEFAULT_CREATION_DATE,
    ConsolidationResult,
    ObjectFailure,
    ObjectResult,
    TaskType,
    UnusedAnswer,
    WorkerAnswer,
    WorkerFigures,
)
from gtproc.domain.consolidation.png import decode_png, encode_png
from gtproc.domain.consolidation.quality import QualityState, expected_calibration_error

__all__ = [
    "AWS_MODIFIED_DAWID_SKENE",
    "DAWID_SKENE",
    "DEFAULT_CREATION_DATE",
    "DEFAULT_METHOD",
    "METHODS",
    "ConsolidationResult",
    "ObjectFailure",
    "ObjectResult",
    "QualityState",
    "TaskType",
    "UnusedAnswer",
    "WorkerAnswer",
    "WorkerFigures",
    "answer_classes",
    "consolidate",
    "decode_png",
    "encode_png",
    "expected_calibration_error",
    "infer_task_type",
    "job_name_metadata",
    "objects_from_consolidation_request",
    "parse_answer",
    "resolve_classes",
    "task_of",
]
