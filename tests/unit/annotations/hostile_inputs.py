"""A generated corpus of hostile worker-response files (nothing of it is committed: bombs are built here).

Each builder returns the bytes of one worker-response file, or of one PNG, as an attacker would write.
benchmarks/bench_bounds.py measures the worst of them.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int, height: int, inflated_bytes: int) -> bytes:
    """An RGBA PNG whose header says width x height but whose image data inflates to inflated_bytes."""
    deflate = zlib.compressobj(9)
    block = bytes(1024 * 1024)
    parts = []
    left = inflated_bytes
    while left > 0:
        parts.append(deflate.compress(block[: min(left, len(block))]))
        left -= len(block)
    parts.append(deflate.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def worker_file(*answers: dict[str, Any]) -> bytes:
    return json.dumps({"answers": list(answers)}, separators=(",", ":")).encode()


def segmentation_answer(worker: str, png: bytes, width: int, height: int) -> dict[str, Any]:
    return {
        "workerId": worker,
        "answerContent": {
            "crowd-semantic-segmentation": {
                "inputImageProperties": {"width": width, "height": height},
                "labelMappings": {"Bird": {"color": "#2ca02c"}},
                "labeledImage": {"pngImageData": base64.b64encode(png).decode()},
            }
        },
    }


def boxes_answer(worker: str, boxes: list[tuple[float, float, float, float]]) -> dict[str, Any]:
    return {
        "workerId": worker,
        "answerContent": {
            "boundingBox": {
                "boundingBoxes": [
                    {"label": "car", "left": x, "top": y, "width": w, "height": h} for x, y, w, h in boxes
                ],
                "inputImageProperties": {"width": 4000, "height": 4000},
            }
        },
    }


def many_boxes(workers: int, per_answer: int) -> bytes:
    """Every worker draws per_answer small overlapping boxes: clustering cost grows with their square."""
    grid = [(float(i % 60) * 50, float(i // 60) * 50, 60.0, 60.0) for i in range(per_answer)]
    return worker_file(*(boxes_answer(f"w{k}", grid) for k in range(workers)))


def huge_coordinates() -> bytes:
    """A box at 1e308 (its right edge overflows to infinity) next to a normal box."""
    return worker_file(
        boxes_answer("w1", [(1e308, 1e308, 1e308, 1e308), (10.0, 10.0, 20.0, 20.0)]),
        boxes_answer("w2", [(10.0, 10.0, 20.0, 20.0)]),
    )


def deep_nesting(depth: int) -> bytes:
    content = b"[" * depth + b"]" * depth
    return b'{"answers":[{"workerId":"w1","answerContent":{"x":' + content + b"}}]}"


def many_classes(classes: int) -> bytes:
    """A multi-label answer naming `classes` distinct classes."""
    labels = [f"class-{i:06d}" for i in range(classes)]
    return worker_file({"workerId": "w1", "answerContent": {"crowd-image-classifier-multi-select": {"labels": labels}}})
