"""PNG codec and semantic-segmentation pixel vote."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pytest
from gtproc.domain.consolidation import TaskType, consolidate, decode_png, encode_png
from gtproc.domain.consolidation.png import PngError


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("row_filter", [0, 1, 2, 3, 4, "mixed"])
def test_png_round_trip(channels, row_filter):
    rng = np.random.default_rng(channels)
    pixels = rng.integers(0, 256, (7, 5, channels), dtype=np.uint8)
    filters = [0, 1, 2, 3, 4, 4, 3] if row_filter == "mixed" else row_filter
    decoded = decode_png(encode_png(pixels, row_filter=filters))
    assert decoded.shape == pixels.shape
    assert (decoded == pixels).all()


def _with_chunk(png: bytes, kind: bytes, body: bytes) -> bytes:
    """Insert a chunk right before IDAT."""
    at = png.index(b"IDAT") - 4
    chunk = struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return png[:at] + chunk + png[at:]


def test_png_palette_with_transparency():
    index = np.array([[0, 1], [2, 1]], np.uint8)
    palette = [(255, 255, 255), (44, 160, 44), (1, 2, 3)]
    plain = decode_png(encode_png(index, palette=palette, row_filter=4))
    assert plain.tolist() == [[[255, 255, 255], [44, 160, 44]], [[1, 2, 3], [44, 160, 44]]]
    with_alpha = decode_png(_with_chunk(encode_png(index, palette=palette), b"tRNS", bytes([0])))
    assert with_alpha[0, 0].tolist() == [255, 255, 255, 0]
    assert with_alpha[0, 1].tolist() == [44, 160, 44, 255]


def test_png_rejects_what_it_cannot_read():
    good = encode_png(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(PngError, match="signature"):
        decode_png(b"GIF89a" + good)
    with pytest.raises(PngError, match="CRC"):
        decode_png(good[:-5] + b"x" + good[-4:])
    sixteen_bit = bytearray(good)
    sixteen_bit[24] = 16
    header = bytes(sixteen_bit[12:29])
    sixteen_bit[29:33] = struct.pack(">I", zlib.crc32(header))
    with pytest.raises(PngError, match="unsupported"):
        decode_png(bytes(sixteen_bit))


BIRD, SKY = "#2ca02c", "#1f77b4"


def mask_answer(worker, pixels, mappings, palette_mode=False):
    png = encode_png(pixels)
    return {
        "workerId": worker,
        "answerContent": {
            "crowd-semantic-segmentation": {
                "inputImageProperties": {"width": pixels.shape[1], "height": pixels.shape[0]},
                "labelMappings": mappings,
                "labeledImage": {"pngImageData": base64.b64encode(png).decode()},
            }
        },
    }


def rgba(shape, painted: dict[tuple[int, int], str]) -> np.ndarray:
    """Transparent image with the given pixels painted opaque in hex colours."""
    out = np.zeros((*shape, 4), np.uint8)
    for (y, x), color in painted.items():
        value = int(color[1:], 16)
        out[y, x] = [(value >> 16) & 255, (value >> 8) & 255, value & 255, 255]
    return out


def test_pixel_vote_hand_computed():
    mappings = {"Bird": {"color": BIRD}}
    objects = {
        "0": [
            mask_answer("w1", rgba((2, 3), {(0, 0): BIRD, (0, 1): BIRD}), mappings),
            mask_answer("w2", rgba((2, 3), {(0, 0): BIRD}), mappings),
            mask_answer("w3", rgba((2, 3), {(0, 0): BIRD, (1, 2): BIRD}), mappings),
        ]
    }
    uri = "s3://b/job/annotations/consolidated-annotation/output/0_2024.png"
    result = consolidate(
        None, objects, label_attribute_name="seg-ref", job_name="Seg", categories=["Sky", "Bird"],
        mask_uri={"0": uri},
    )  # fmt: skip
    assert result.task_type is TaskType.SEMANTIC_SEGMENTATION
    (obj,) = result.objects
    assert obj.label == uri
    # Touched pixels (0,0) 3/3 bird, (0,1) and (1,2) 2/3 background: confidence mean(1, 2/3, 2/3).
    confidence = round((1 + 2 / 3 + 2 / 3) / 3, 2)
    assert obj.metadata["internal-color-map"] == {
        "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": confidence},
        "1": {"class-name": "Sky", "hex-color": "#1f77b4", "confidence": confidence},
        "2": {"class-name": "Bird", "hex-color": BIRD, "confidence": confidence},
    }
    assert obj.metadata["type"] == "groundtruth/semantic-segmentation"
    mask = decode_png(obj.mask_png)
    expected = np.full((2, 3, 3), 255, np.uint8)
    expected[0, 0] = [0x2C, 0xA0, 0x2C]
    assert (mask == expected).all()
    # Agreement over pixels either side marks: w1 1/2, w2 1/1, w3 1/2.
    assert obj.agreement == pytest.approx((0.5 + 1 + 0.5) / 3)


def test_pixel_tie_broken_by_neighbours_and_workers_colours_are_their_own():
    # w2 uses another colour for Bird: colours are read per worker through its labelMappings.
    w1 = rgba((1, 3), {(0, 0): BIRD, (0, 1): BIRD, (0, 2): BIRD})
    w2 = rgba((1, 3), {(0, 1): "#ff0000", (0, 2): "#ff0000"})
    objects = {
        "9": [
            mask_answer("w1", w1, {"Bird": {"color": BIRD}}),
            mask_answer("w2", w2, {"Bird": {"color": "#ff0000"}}),
        ]
    }
    (obj,) = consolidate(
        "semantic-segmentation", objects, label_attribute_name="s-ref", job_name="j", mask_uri=lambda oid: oid
    ).objects
    # Pixel 0 is 1:1; its neighbourhood has 3 Bird votes vs 1 background: Bird.
    assert (decode_png(obj.mask_png)[0] == [0x2C, 0xA0, 0x2C]).all()


def test_segmentation_needs_a_mask_uri_and_skips_broken_masks():
    good = mask_answer("w1", rgba((1, 1), {(0, 0): BIRD}), {"Bird": {"color": BIRD}})
    broken = {
        "workerId": "w2",
        "answerContent": {"crowd-semantic-segmentation": {"labeledImage": {"pngImageData": "bm9wZQ=="}}},
    }
    with pytest.raises(ValueError, match="mask_uri"):
        consolidate("semantic-segmentation", {"1": [good]}, label_attribute_name="s", job_name="j")
    result = consolidate(
        "semantic-segmentation", {"1": [good, broken], "2": [broken]}, label_attribute_name="s", job_name="j",
        mask_uri=lambda oid: f"s3://x/{oid}.png",
    )  # fmt: skip
    assert [o.worker_ids for o in result.objects] == [("w1",)]
    assert result.failures[0].dataset_object_id == "2"
