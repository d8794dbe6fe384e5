"""Keypoints (crowd-keypoint): match the points of different workers, fuse each match.

Rules (one image, its workers' answers taken in worker-id order so the result does not depend on
the order answers arrive in):
- two points of different workers can match when they have the same label and lie within
  `radius` = 5% of the image diagonal (10 px when the image size is unknown);
- matching is clustering.cluster's greedy average linkage on similarity 1 - distance / radius
  (closest pairs first, at most one point per worker in a match);
- a match is kept when at least half of the workers who answered placed a point in it;
- fused point = the median x and the median y of its points (rounded to 2 decimals);
- confidence = share of the workers that placed it, rounded to 2 decimals.
Work is bounded: a label with more than MAX_POINTS points in one image is not matched (the caller
passes the element through unconsolidated).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import msgspec
import numpy as np

from gtproc.domain.consolidation.clustering import cluster

MAX_POINTS = 2000  # points of one label in one image: the distance matrix is MAX_POINTS^2 floats (32 MB)
RADIUS_SHARE = 0.05
DEFAULT_RADIUS = 10.0
_SHARE_TOL = 1e-9


class TooManyShapes(ValueError):
    pass


class FusedPoint(msgspec.Struct, frozen=True):
    label: str
    x: float
    y: float
    confidence: float
    members: int


def radius_for(width: float | None, height: float | None) -> float:
    if width and height and width >= 1 and height >= 1:  # a side under one pixel is no image's
        return RADIUS_SHARE * math.hypot(width, height)
    return DEFAULT_RADIUS


def consolidate_keypoints(
    per_worker: Sequence[Sequence[tuple[str, float, float]]], radius: float = DEFAULT_RADIUS, min_share: float = 0.5
) -> list[FusedPoint]:
    """Points (label, x, y) of each worker -> fused points sorted by (label, y, x)."""
    n_workers = len(per_worker)
    fused: list[FusedPoint] = []
    labels = sorted({label for points in per_worker for label, _, _ in points})
    for label in labels:
        flat = [(w, x, y) for w, points in enumerate(per_worker) for lab, x, y in points if lab == label]
        if len(flat) > MAX_POINTS:
            raise TooManyShapes(f"{len(flat)} points labelled {label!r} (at most {MAX_POINTS} are matched)")
        xy = np.array([(x, y) for _, x, y in flat], np.float64)
        distance = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
        similarity = 1.0 - distance / radius
        for members in cluster(similarity, np.array([w for w, _, _ in flat]), 1e-12):
            share = len(members) / n_workers
            if share < min_share - _SHARE_TOL:
                continue
            x = round(float(statistics.median(flat[m][1] for m in members)), 2)
            y = round(float(statistics.median(flat[m][2] for m in members)), 2)
            fused.append(FusedPoint(label, x, y, round(share, 2), len(members)))
    return sorted(fused, key=lambda p: (p.label, p.y, p.x))
