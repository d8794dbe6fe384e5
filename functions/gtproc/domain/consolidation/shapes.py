"""Bounding boxes and named-entity spans: cluster across workers, fuse each cluster, vote its class.

Shared rules (see clustering.py for the grouping):
- a cluster is kept when at least `min_share` (default half) of the workers who answered the object
  drew a member of it; with a single worker every shape is kept;
- class = most frequent member class; tie -> the class of the earliest member in answer order;
- confidence = (members / workers) x mean overlap (IoU or span Jaccard) of the members with the fused
  shape, rounded to 2 decimals;
- per-worker agreement = that worker's shapes in kept clusters with the cluster's class
  / max(its shape count, kept shape count); 1.0 when both are zero.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence

import msgspec
import numpy as np

from gtproc.domain.consolidation.clustering import cluster

_SHARE_TOL = 1e-9


class Shape(msgspec.Struct, frozen=True):
    """A box as (x1, y1, x2, y2) or a span as (start, end, 0, 0), plus its class index."""

    coords: tuple[float, float, float, float]
    class_id: int


class FusedShape(msgspec.Struct, frozen=True):
    coords: tuple[int, int, int, int]
    class_id: int
    confidence: float  # unrounded
    members: int


class ShapesOutput(msgspec.Struct, frozen=True):
    shapes: list[FusedShape]
    worker_agreement: list[float]  # one per answer, in answer order


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of (n, 4) and (m, 4) arrays of (x1, y1, x2, y2)."""
    iw = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = iw * ih
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)


def span_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Character-offset Jaccard of (n, 2+) and (m, 2+) arrays of [start, end)."""
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None, :] - inter
    return np.divide(inter, union, out=np.zeros_like(inter, dtype=np.float64), where=union > 0)


def _pair_iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _pair_jaccard(a: Sequence[float], b: Sequence[float]) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _fuse_box(coords: Sequence[Sequence[float]], how: str) -> tuple[int, int, int, int]:
    columns = list(zip(*coords, strict=True))
    if how == "median":
        x1, y1, x2, y2 = (_round_half_up(_median(c)) for c in columns)
    else:
        x1, y1, x2, y2 = (_round_half_up(sum(c) / len(c)) for c in columns)
    return (x1, y1, x2, y2)


def _mode_or_median(values: Sequence[int]) -> int:
    """The unique most frequent value if it occurs more than once, else the lower median."""
    ranked = Counter(values).most_common()
    if ranked[0][1] > 1 and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
        return int(ranked[0][0])
    return int(statistics.median_low(values))


def _fuse_span(coords: Sequence[Sequence[float]], how: str) -> tuple[int, int, int, int]:
    start = _mode_or_median([int(c[0]) for c in coords])
    end = _mode_or_median([int(c[1]) for c in coords])
    if end <= start:  # independent boundary votes can cross: take the first member's span
        start, end = int(coords[0][0]), int(coords[0][1])
    return (start, end, 0, 0)


def _consolidate(
    per_answer: Sequence[Sequence[Shape]],
    similarity_fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
    pair_fn: Callable[[Sequence[float], Sequence[float]], float],
    fuse_fn: Callable[[Sequence[Sequence[float]], str], tuple[int, int, int, int]],
    fuse: str,
    threshold: float,
    min_share: float,
) -> ShapesOutput:
    n_workers = len(per_answer)
    flat = [(a, s) for a, shapes in enumerate(per_answer) for s in shapes]
    if not flat:
        return ShapesOutput([], [1.0] * n_workers)
    owner = [a for a, _ in flat]
    coords = [s.coords for _, s in flat]
    classes = [s.class_id for _, s in flat]
    similarity = similarity_fn(np.array(coords, np.float64), np.array(coords, np.float64))
    kept: list[FusedShape] = []
    matched = [0] * n_workers
    for members in cluster(similarity, np.array(owner), threshold):
        if len(members) / n_workers < min_share - _SHARE_TOL:
            continue
        fused = fuse_fn([coords[m] for m in members], fuse)
        votes = Counter(classes[m] for m in members)
        best = max(votes.values())
        class_id = next(classes[m] for m in members if votes[classes[m]] == best)
        overlap = sum(pair_fn(coords[m], fused) for m in members) / len(members)
        kept.append(FusedShape(fused, class_id, len(members) / n_workers * overlap, len(members)))
        for m in members:
            if classes[m] == class_id:
                matched[owner[m]] += 1
    drawn = Counter(owner)
    agreement = []
    for a in range(n_workers):
        denominator = max(drawn[a], len(kept))
        agreement.append(matched[a] / denominator if denominator else 1.0)
    return ShapesOutput(kept, agreement)


def consolidate_boxes(
    per_answer: Sequence[Sequence[Shape]],
    *,
    fuse: str = "median",
    iou_threshold: float = 0.5,
    min_share: float = 0.5,
) -> ShapesOutput:
    """Boxes of all answers of one image -> fused boxes sorted by (top, left, class)."""
    out = _consolidate(per_answer, box_iou, _pair_iou, _fuse_box, fuse, iou_threshold, min_share)
    shapes = sorted(out.shapes, key=lambda s: (s.coords[1], s.coords[0], s.class_id, s.coords[2], s.coords[3]))
    return ShapesOutput(shapes, out.worker_agreement)


def consolidate_spans(
    per_answer: Sequence[Sequence[Shape]],
    *,
    jaccard_threshold: float = 0.5,
    min_share: float = 0.5,
) -> ShapesOutput:
    """Entity spans of all answers of one text -> fused spans sorted by (start, end, class)."""
    out = _consolidate(per_answer, span_jaccard, _pair_jaccard, _fuse_span, "mode", jaccard_threshold, min_share)
    shapes = sorted(out.shapes, key=lambda s: (s.coords[0], s.coords[1], s.class_id))
    return ShapesOutput(shapes, out.worker_agreement)
