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

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gtproc.domain.consolidation.clustering import cluster

_SHARE_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Shape:
    """A box as (x1, y1, x2, y2) or a span as (start, end, 0, 0), plus its class index."""

    coords: tuple[float, float, float, float]
    class_id: int


@dataclass(frozen=True, slots=True)
class FusedShape:
    coords: tuple[int, int, int, int]
    class_id: int
    confidence: float  # unrounded
    members: int


@dataclass(frozen=True, slots=True)
class ShapesOutput:
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


def _round_half_up(values: np.ndarray) -> np.ndarray:
    return np.floor(values + 0.5).astype(np.int64)


def _fuse_box(coords: np.ndarray, how: str) -> np.ndarray:
    fused = np.median(coords, axis=0) if how == "median" else coords.mean(axis=0)
    return _round_half_up(fused)


def _mode_or_median(values: Sequence[int]) -> int:
    """The unique most frequent value if it occurs more than once, else the lower median."""
    ranked = Counter(values).most_common()
    if ranked[0][1] > 1 and (len(ranked) == 1 or ranked[1][1] < ranked[0][1]):
        return int(ranked[0][0])
    return int(statistics.median_low(values))


def _fuse_span(coords: np.ndarray, how: str) -> np.ndarray:
    start = _mode_or_median(coords[:, 0].astype(np.int64).tolist())
    end = _mode_or_median(coords[:, 1].astype(np.int64).tolist())
    if end <= start:  # independent boundary votes can cross: take the first member's span
        start, end = int(coords[0, 0]), int(coords[0, 1])
    return np.array([start, end, 0, 0], np.int64)


def _consolidate(
    per_answer: Sequence[Sequence[Shape]],
    similarity_fn,
    fuse_fn,
    fuse: str,
    threshold: float,
    min_share: float,
) -> ShapesOutput:
    n_workers = len(per_answer)
    flat = [(a, s) for a, shapes in enumerate(per_answer) for s in shapes]
    if not flat:
        return ShapesOutput([], [1.0] * n_workers)
    owner = np.array([a for a, _ in flat], np.int64)
    coords = np.array([s.coords for _, s in flat], np.float64)
    classes = np.array([s.class_id for _, s in flat], np.int64)
    similarity = similarity_fn(coords, coords)
    kept: list[FusedShape] = []
    matched = np.zeros(n_workers, np.int64)
    for members in cluster(similarity, owner, threshold):
        if len(members) / n_workers < min_share - _SHARE_TOL:
            continue
        fused = fuse_fn(coords[members], fuse)
        votes = Counter(classes[members].tolist())
        best = max(votes.values())
        class_id = next(int(c) for c in classes[members] if votes[int(c)] == best)
        overlap = similarity_fn(coords[members], fused[None, :].astype(np.float64))[:, 0]
        confidence = len(members) / n_workers * float(overlap.mean())
        kept.append(FusedShape(tuple(int(v) for v in fused), class_id, confidence, len(members)))
        for m in members:
            if classes[m] == class_id:
                matched[owner[m]] += 1
    drawn = np.bincount(owner, minlength=n_workers)
    denominator = np.maximum(drawn, len(kept))
    agreement = np.where(denominator > 0, matched / np.maximum(denominator, 1), 1.0)
    return ShapesOutput(kept, agreement.tolist())


def consolidate_boxes(
    per_answer: Sequence[Sequence[Shape]],
    *,
    fuse: str = "median",
    iou_threshold: float = 0.5,
    min_share: float = 0.5,
) -> ShapesOutput:
    """Boxes of all answers of one image -> fused boxes sorted by (top, left, class)."""
    out = _consolidate(per_answer, box_iou, _fuse_box, fuse, iou_threshold, min_share)
    shapes = sorted(out.shapes, key=lambda s: (s.coords[1], s.coords[0], s.class_id, s.coords[2], s.coords[3]))
    return ShapesOutput(shapes, out.worker_agreement)


def consolidate_spans(
    per_answer: Sequence[Sequence[Shape]],
    *,
    jaccard_threshold: float = 0.5,
    min_share: float = 0.5,
) -> ShapesOutput:
    """Entity spans of all answers of one text -> fused spans sorted by (start, end, class)."""
    out = _consolidate(per_answer, span_jaccard, _fuse_span, "mode", jaccard_threshold, min_share)
    shapes = sorted(out.shapes, key=lambda s: (s.coords[0], s.coords[1], s.class_id))
    return ShapesOutput(shapes, out.worker_agreement)
