"""The result shapes of consolidation (msgspec Structs, as all value types of the functions).

Task types and worker answers are Ground Truth's vocabulary (`gtproc.domain.groundtruth`), re-exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from gtproc.domain.groundtruth import (
    BOXES,
    MULTI_LABEL,
    SEGMENTATION,
    SINGLE_LABEL,
    SPANS,
    TaskType,
    WorkerAnswer,
)

if TYPE_CHECKING:
    from gtproc.domain.consolidation.quality import QualityState

__all__ = [
    "BOXES",
    "DEFAULT_CREATION_DATE",
    "MULTI_LABEL",
    "SEGMENTATION",
    "SINGLE_LABEL",
    "SPANS",
    "ConsolidationResult",
    "ObjectFailure",
    "ObjectResult",
    "TaskType",
    "UnusedAnswer",
    "WorkerAnswer",
    "WorkerFigures",
]


# Pure functions must not read the clock: callers pass the time, else this fixed value is written.
DEFAULT_CREATION_DATE = "1970-01-01T00:00:00.000000"


class ObjectResult(msgspec.Struct, frozen=True):
    dataset_object_id: str
    label: Any
    metadata: dict[str, Any]
    content: dict[str, Any]  # {"<LAN>": label, "<LAN>-metadata": metadata}, as GT's consolidation returns it
    workers: int  # worker answers that were consolidated
    agreement: float  # in [0, 1]: mean agreement of those answers with the label
    method: str
    worker_ids: tuple[str, ...] = ()
    mask_png: bytes | None = None  # semantic segmentation: the consolidated mask the caller uploads
    masks: tuple[tuple[str, bytes], ...] = ()  # custom templates: (URI, PNG) of each mask element
    # Single- and multi-label: answers naming each class (class name -> count), classes with none left out.
    votes: dict[str, int] | None = None

    def mask_files(self) -> list[tuple[str, bytes]]:
        """(URI, PNG) of every consolidated mask the caller uploads."""
        if self.mask_png is not None:
            return [(str(self.label), self.mask_png)]
        return list(self.masks)


class ObjectFailure(msgspec.Struct, frozen=True):
    dataset_object_id: str
    reason: str


class UnusedAnswer(msgspec.Struct, frozen=True):
    """A worker's answer that went into no label, and why: bad input the caller names, not drops."""

    dataset_object_id: str
    worker_id: str
    reason: str


class WorkerFigures(msgspec.Struct, frozen=True):
    worker_id: str
    answers: int  # across all batches folded into the quality state
    agreement: float  # share (or mean overlap) of those answers agreeing with the consolidated labels
    batch_answers: int
    batch_agreement: float
    estimated_accuracy: float | None = None  # from the Dawid-Skene confusion matrix when the method has one


class ConsolidationResult(msgspec.Struct, frozen=True):
    task_type: TaskType
    method: str
    classes: tuple[str, ...]
    objects: list[ObjectResult]
    failures: list[ObjectFailure]
    quality: QualityState
    workers: list[WorkerFigures] = msgspec.field(default_factory=list)
    unused: list[UnusedAnswer] = msgspec.field(default_factory=list)
    # Answers used without some of their boxes or spans (no usable coordinates, a class outside the
    # categories): the reason says how many.
    unused_shapes: list[UnusedAnswer] = msgspec.field(default_factory=list)

    def consolidation_response(self) -> list[dict[str, Any]]:
        """The post-annotation Lambda's return value (consolidation-response file shape)."""
        return [
            {"datasetObjectId": obj.dataset_object_id, "consolidatedAnnotation": {"content": obj.content}}
            for obj in self.objects
        ]
