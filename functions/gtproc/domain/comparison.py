"""Do two consolidated labels say the same thing? (ours and Ground Truth's, for one object)"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from gtproc.domain.groundtruth import MULTILABEL_TYPES, SINGLE_LABEL_TYPES, TaskType, task_type_of

BOX_MATCH_IOU = 0.5


class Agreement(enum.Enum):
    """What comparing two consolidated labels of one object came to."""

    SAME = "same"
    DIFFERENT = "different"
    NOT_COMPARABLE = "not-comparable"  # semantic segmentation masks live in different objects; video


def same_label(type_string: str, ours: tuple[Any, dict[str, Any]], theirs: tuple[Any, Any]) -> Agreement:
    """By the task's own notion of equality. Class indexes are compared by name: two consolidations
    may number the classes differently."""
    task_type = task_type_of(type_string)
    if task_type in (TaskType.SEMANTIC_SEGMENTATION, TaskType.VIDEO_DETECTION, TaskType.VIDEO_TRACKING):
        return Agreement.NOT_COMPARABLE
    if not isinstance(theirs[1], Mapping):
        return Agreement.NOT_COMPARABLE
    try:
        return Agreement.SAME if _equal(task_type, ours, theirs) else Agreement.DIFFERENT
    except (AttributeError, TypeError, KeyError, ValueError):
        # Ground Truth's side is read from a file: a label of another shape than its task's cannot be compared.
        return Agreement.NOT_COMPARABLE


def _equal(task_type: TaskType | None, ours: tuple[Any, dict[str, Any]], theirs: tuple[Any, dict[str, Any]]) -> bool:
    (our_label, our_meta), (their_label, their_meta) = ours, theirs
    if task_type in SINGLE_LABEL_TYPES:
        return bool(our_meta.get("class-name") == their_meta.get("class-name"))
    if task_type in MULTILABEL_TYPES:
        return _names(our_label, our_meta) == _names(their_label, their_meta)
    if task_type is TaskType.OBJECT_DETECTION:
        return _same_boxes(our_label, our_meta, their_label, their_meta)
    if task_type is TaskType.TEXT_SPAN:
        return _spans(our_label) == _spans(their_label)
    return bool(our_label == their_label)


def _names(label: Any, metadata: dict[str, Any]) -> set[str]:
    class_map = metadata.get("class-map") or {}
    return {str(class_map.get(str(class_id), class_id)) for class_id in (label or [])}


def _spans(label: Any) -> set[tuple[int, int, str]]:
    entities = ((label or {}).get("annotations") or {}).get("entities") or []
    return {(e.get("startOffset"), e.get("endOffset"), e.get("label")) for e in entities}


def _boxes(label: Any, metadata: dict[str, Any]) -> list[tuple[str, float, float, float, float]]:
    class_map = metadata.get("class-map") or {}
    return [
        (str(class_map.get(str(b.get("class_id")), b.get("class_id"))), b["left"], b["top"], b["width"], b["height"])
        for b in (label or {}).get("annotations") or []
    ]


def iou(a: tuple[str, float, float, float, float], b: tuple[str, float, float, float, float]) -> float:
    _, ax, ay, aw, ah = a
    _, bx, by, bw, bh = b
    width = min(ax + aw, bx + bw) - max(ax, bx)
    height = min(ay + ah, by + bh) - max(ay, by)
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    return inter / (aw * ah + bw * bh - inter)


def _same_boxes(our_label: Any, our_meta: dict[str, Any], their_label: Any, their_meta: dict[str, Any]) -> bool:
    """Same number of boxes, and a one-to-one matching of same-class boxes with IoU >= 0.5."""
    ours, theirs = _boxes(our_label, our_meta), _boxes(their_label, their_meta)
    if len(ours) != len(theirs):
        return False
    remaining = list(theirs)
    for box in sorted(ours, key=lambda b: -b[3] * b[4]):
        candidates = [(iou(box, other), n) for n, other in enumerate(remaining) if other[0] == box[0]]
        best = max(candidates, default=(0.0, -1))
        if best[0] < BOX_MATCH_IOU:
            return False
        remaining.pop(best[1])
    return True
