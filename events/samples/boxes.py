"""Bounding-box geometry shared by the box scenarios."""

from __future__ import annotations

import random

CAR_CLASSES = ["car", "truck", "bus"]
CAR_ADJ_CLASSES = ["car", "truck", "bus", "motorcycle"]


def iou(a: dict, b: dict) -> float:
    ax2, ay2 = a["left"] + a["width"], a["top"] + a["height"]
    bx2, by2 = b["left"] + b["width"], b["top"] + b["height"]
    iw = max(0, min(ax2, bx2) - max(a["left"], b["left"]))
    ih = max(0, min(ay2, by2) - max(a["top"], b["top"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union else 0.0


def rand_box(rng: random.Random, w: int, h: int) -> dict:
    bw = rng.randint(int(w * 0.07), int(w * 0.34))
    bh = rng.randint(int(h * 0.08), int(h * 0.40))
    return {"left": rng.randint(0, w - bw - 1), "top": rng.randint(0, h - bh - 1), "width": bw, "height": bh}


def jitter(rng: random.Random, box: dict, w: int, h: int, px: int = 6) -> dict:
    left = min(max(0, box["left"] + rng.randint(-px, px)), w - 2)
    top = min(max(0, box["top"] + rng.randint(-px, px)), h - 2)
    width = min(max(1, box["width"] + rng.randint(-px, px)), w - left)
    height = min(max(1, box["height"] + rng.randint(-px, px)), h - top)
    return {"left": left, "top": top, "width": width, "height": height}


def bbox_label(w: int, h: int, anns: list[dict]) -> dict:
    return {
        "image_size": [{"width": w, "height": h, "depth": 3}],
        "annotations": [
            {"class_id": a["class_id"], "top": a["top"], "left": a["left"], "height": a["height"], "width": a["width"]}
            for a in anns
        ],
    }


def class_map_for(anns: list[dict], classes: list[str]) -> dict[str, str]:
    cmap: dict[str, str] = {}
    for a in anns:
        cmap.setdefault(str(a["class_id"]), classes[a["class_id"]])
    return cmap
