"""Polygons (crowd-polygon): match the polygons of different workers by IoU, keep each match's medoid.

Rules (one image, answers in worker-id order so the result does not depend on arrival order):
- IoU of two polygons is measured by rasterising both (even-odd rule) on a GRID x GRID grid over
  the box around the pair; pairs whose boxes do not overlap have IoU 0 and are not rasterised;
- polygons of different workers with the same label and IoU >= 0.5 are matched by
  clustering.cluster's greedy average linkage (at most one polygon per worker in a match);
- a match is kept when at least half of the workers who answered drew a polygon in it;
- fused polygon = the medoid: the member with the highest mean IoU with the other members
  (ties: the first worker in id order), vertices as that worker drew them;
- confidence = share of workers in the match x mean IoU of the members with the medoid, 2 decimals.
Work is bounded: a label with more than MAX_POLYGONS polygons in one image is not matched.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np

from gtproc.domain.consolidation.clustering import cluster
from gtproc.domain.consolidation.keypoints import TooManyShapes

GRID = 64
MAX_POLYGONS = 500
IOU_THRESHOLD = 0.5
_SHARE_TOL = 1e-9

Vertices = tuple[tuple[float, float], ...]


class FusedPolygon(msgspec.Struct, frozen=True):
    label: str
    vertices: Vertices
    confidence: float
    members: int


def _inside(vertices: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of the grid points (px, py)."""
    inside = np.zeros(px.shape, bool)
    x0, y0 = vertices[:, 0], vertices[:, 1]
    x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
    for ax, ay, bx, by in zip(x0, y0, x1, y1, strict=True):
        if ay == by:
            continue
        crosses = (ay > py) != (by > py)
        with np.errstate(over="ignore"):  # an edge of tiny height crosses at ±inf, which compares right
            at = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < at)
    return inside


def polygon_iou(a: np.ndarray, b: np.ndarray, grid: int = GRID) -> float:
    lo = np.minimum(a.min(axis=0), b.min(axis=0))
    hi = np.maximum(a.max(axis=0), b.max(axis=0))
    if np.any(hi <= lo):
        return 1.0 if np.array_equal(a, b) else 0.0
    xs = lo[0] + (np.arange(grid) + 0.5) * (hi[0] - lo[0]) / grid
    ys = lo[1] + (np.arange(grid) + 0.5) * (hi[1] - lo[1]) / grid
    px, py = np.meshgrid(xs, ys)
    in_a, in_b = _inside(a, px, py), _inside(b, px, py)
    union = np.count_nonzero(in_a | in_b)
    return float(np.count_nonzero(in_a & in_b) / union) if union else 0.0


def consolidate_polygons(
    per_worker: Sequence[Sequence[tuple[str, Vertices]]], min_share: float = 0.5
) -> list[FusedPolygon]:
    """Polygons (label, vertices) of each worker -> medoid polygons sorted by (label, top, left)."""
    n_workers = len(per_worker)
    fused: list[FusedPolygon] = []
    for label in sorted({label for polys in per_worker for label, _ in polys}):
        flat = [(w, v) for w, polys in enumerate(per_worker) for lab, v in polys if lab == label]
        if len(flat) > MAX_POLYGONS:
            raise TooManyShapes(f"{len(flat)} polygons labelled {label!r} (at most {MAX_POLYGONS} are matched)")
        arrays = [np.array(v, np.float64) for _, v in flat]
        owner = np.array([w for w, _ in flat])
        lo = np.array([p.min(axis=0) for p in arrays])
        hi = np.array([p.max(axis=0) for p in arrays])
        overlap = np.all((np.minimum(hi[:, None], hi[None, :]) >= np.maximum(lo[:, None], lo[None, :])), axis=2) & (
            owner[:, None] != owner[None, :]
        )
        iou = np.eye(len(flat))
        for i, j in zip(*np.nonzero(np.triu(overlap, 1)), strict=True):
            iou[i, j] = iou[j, i] = polygon_iou(arrays[i], arrays[j])
        for members in cluster(iou, owner, IOU_THRESHOLD):
            share = len(members) / n_workers
            if share < min_share - _SHARE_TOL:
                continue
            sub = iou[np.ix_(members, members)]
            mean = (sub.sum(axis=1) - 1.0) / max(len(members) - 1, 1)
            medoid = members[int(np.argmax(mean))]  # argmax keeps the first of ties: worker-id order
            closeness = float(sub[members.index(medoid)].mean())
            fused.append(FusedPolygon(label, flat[medoid][1], round(share * closeness, 2), len(members)))
    return sorted(fused, key=lambda p: (p.label, min(y for _, y in p.vertices), min(x for x, _ in p.vertices)))
