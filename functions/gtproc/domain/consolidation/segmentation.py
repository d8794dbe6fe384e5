"""Semantic segmentation: a per-pixel vote over the workers' masks.

Internal class ids follow Ground Truth's internal-color-map: 0 = BACKGROUND (#ffffff), class i of the
class list = id i + 1. A worker's pixel is class c when its RGB equals the colour that worker's
labelMappings gives c; transparent (alpha 0) and unmapped colours are background.

Vote: most workers wins; tie -> the class with more votes in the 3x3 neighbourhood (a light version
of GT's neighbour smoothing); still tied -> lowest id (background first).
Confidence (one per image, repeated for every class as GT does): mean winning vote share over the
pixels that at least one worker marked as non-background; 1.0 when nobody marked anything.
Worker agreement: share of pixels where the worker matches the result, over the pixels that either
the worker or the result marks as non-background (1.0 when both are empty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

import msgspec
import numpy as np

from gtproc.domain.consolidation.png import encode_png

BACKGROUND = "BACKGROUND"
BACKGROUND_COLOR = "#ffffff"
# d3 category10, the palette of Ground Truth's segmentation tool, for classes no worker gave a colour.
DEFAULT_PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def parse_hex_color(value: str) -> int:
    text = value.strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    if len(text) != 6:
        raise ValueError(f"not a hex colour: {value!r}")
    return int(text, 16)


def format_hex_color(rgb: int) -> str:
    return f"#{rgb:06x}"


def class_mask(pixels: np.ndarray, color_to_id: Mapping[int, int]) -> np.ndarray:
    """(H, W, C) uint8 image -> (H, W) int16 internal class ids."""
    channels = pixels.shape[2]
    rgb = pixels[:, :, :3] if channels >= 3 else np.repeat(pixels[:, :, :1], 3, axis=2)
    key = (rgb[:, :, 0].astype(np.int32) << 16) | (rgb[:, :, 1].astype(np.int32) << 8) | rgb[:, :, 2]
    unique, inverse = np.unique(key, return_inverse=True)
    ids = np.array([color_to_id.get(int(k), 0) for k in unique], np.int16)
    mask = ids[inverse.reshape(key.shape)]
    if channels in (2, 4):
        mask[pixels[:, :, -1] == 0] = 0
    return mask


def _box3(counts: np.ndarray) -> np.ndarray:
    padded = np.pad(counts, 1)
    h, w = counts.shape
    total = sum(padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3))
    return cast("np.ndarray", total)  # a sum of nine arrays, never the start value 0


class SegmentationOutput(msgspec.Struct, frozen=True):
    mask: np.ndarray  # (H, W) internal class ids
    confidence: float  # unrounded
    worker_agreement: list[float]
    png: bytes


def consolidate_masks(masks: Sequence[np.ndarray], colors: Sequence[str]) -> SegmentationOutput:
    """masks: one (H, W) internal-id mask per worker; colors: hex colour per internal id."""
    n = len(masks)
    stack = np.stack(masks)
    present = np.unique(stack)
    scale = 9 * n + 1  # votes dominate; neighbourhood votes only break ties
    best_score = np.full(stack.shape[1:], -1, np.int64)
    best_id = np.zeros(stack.shape[1:], np.int16)
    for class_id in present.tolist():
        votes = (stack == class_id).sum(axis=0, dtype=np.int64)
        score = votes * scale + _box3(votes)
        better = score > best_score
        best_score[better] = score[better]
        best_id[better] = class_id
    winning_share = (best_score // scale) / n
    touched = (stack != 0).any(axis=0)
    confidence = float(winning_share[touched].mean()) if touched.any() else 1.0
    agreement = []
    for mask in masks:
        union = (mask != 0) | (best_id != 0)
        agreement.append(float(((mask == best_id) & union).sum() / union.sum()) if union.any() else 1.0)
    table = np.array([[(c >> 16) & 255, (c >> 8) & 255, c & 255] for c in map(parse_hex_color, colors)], np.uint8)
    png = encode_png(table[best_id])
    return SegmentationOutput(best_id, confidence, agreement, png)
