"""Deterministic generators of Ground Truth output-manifest lines for benchmarks."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator

CLASSES = ["Cat", "Dog", "Bird", "Car", "Person", "Tree", "Bus", "Boat"]


def bbox_line(index: int, rng: random.Random, boxes: int = 5, job: str = "bench-bbox") -> bytes:
    annotations = [
        {
            "class_id": rng.randrange(len(CLASSES)),
            "width": rng.randrange(1, 400),
            "top": rng.randrange(0, 800),
            "height": rng.randrange(1, 400),
            "left": rng.randrange(0, 1200),
        }
        for _ in range(boxes)
    ]
    line = {
        "source-ref": f"s3://bench-bucket/images/{index:08d}.jpg",
        job: {"annotations": annotations, "image_size": [{"width": 1600, "depth": 3, "height": 1200}]},
        f"{job}-metadata": {
            "job-name": f"labeling-job/{job}",
            "class-map": {str(a["class_id"]): CLASSES[a["class_id"]] for a in annotations},
            "human-annotated": "yes",
            "objects": [{"confidence": round(rng.random(), 2)} for _ in annotations],
            "creation-date": f"2024-05-{1 + index % 28:02d}T10:{index % 60:02d}:11.{index % 999999:06d}",
            "type": "groundtruth/object-detection",
        },
    }
    return json.dumps(line, separators=(",", ":")).encode()


def classification_line(index: int, rng: random.Random, job: str = "bench-classes") -> bytes:
    class_id = rng.randrange(len(CLASSES))
    line = {
        "source-ref": f"s3://bench-bucket/images/{index:08d}.jpg",
        job: class_id,
        f"{job}-metadata": {
            "confidence": round(rng.uniform(0.5, 0.95), 2),
            "job-name": f"labeling-job/{job}",
            "class-name": CLASSES[class_id],
            "human-annotated": "yes",
            "creation-date": f"2024-05-{1 + index % 28:02d}T10:{index % 60:02d}:11.{index % 999999:06d}",
            "type": "groundtruth/image-classification",
        },
    }
    return json.dumps(line, separators=(",", ":")).encode()


def lines(kind: str, count: int, seed: int = 7) -> Iterator[bytes]:
    rng = random.Random(seed)
    make = bbox_line if kind == "bbox" else classification_line
    for index in range(count):
        yield make(index, rng)
