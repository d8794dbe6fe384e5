"""The generated hostile-input corpus: every file is handled within its bound and reported once, never raised.

Each test would fail without its bound: the bomb would inflate (traced memory), the cap would let the
input through, the decoder error would escape.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from gtproc.contract.events import ANNOTATION_FILE_INVALID, ANNOTATIONS_CONSOLIDATED
from gtproc.domain.consolidation import consolidate, decode_png, encode_png
from gtproc.domain.consolidation import png as png_module
from gtproc.domain.consolidation.limits import InputTooLarge, Limits
from gtproc.domain.consolidation.png import PngError
from gtproc.usecases.consolidate_annotations import AnnotationsConfig

from tests.unit.annotations.annotations_support import BUCKET, Harness, worker_key
from tests.unit.annotations.hostile_inputs import (
    deep_nesting,
    huge_coordinates,
    many_boxes,
    many_classes,
    png_bomb,
    segmentation_answer,
    worker_file,
)

JOB = "hostile-job"
KEY = worker_key(JOB, 1, 3)


def run(harness: Harness, body: bytes):
    harness.put(KEY, body)
    return harness(KEY)


def assert_invalid_once(harness: Harness, outcome, code: str) -> None:
    assert (outcome.status, outcome.code, outcome.published) == ("invalid", code, {ANNOTATION_FILE_INVALID: 1})
    (detail,) = harness.events(ANNOTATION_FILE_INVALID)
    assert detail == {
        "jobName": JOB,
        "jobPath": JOB,
        "bucket": BUCKET,
        "iteration": 1,
        "datasetObjectId": "3",
        "fileUri": f"s3://{BUCKET}/{KEY}",
        "code": code,
        "message": outcome.reason,
    }
    assert harness(KEY).published == {}  # a redelivery publishes nothing more
    assert len(harness.events()) == 1


# ---- PNG ------------------------------------------------------------------------------------------


def test_png_bomb_is_refused_without_inflating():
    bomb = png_bomb(16, 16, 256 * 1024 * 1024)  # 256 MiB of zeros behind a 16 x 16 header
    assert len(bomb) < 1024 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(PngError, match="inflates beyond"):
            decode_png(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_png_pixel_cap_and_image_size_are_checked_before_inflating():
    good = encode_png(np.zeros((20, 30, 4), np.uint8))
    assert decode_png(good, max_pixels=600, expected_size=(30, 20)).shape == (20, 30, 4)
    with pytest.raises(PngError, match="over the limit"):
        decode_png(good, max_pixels=599)
    with pytest.raises(PngError, match="the image is 30x21"):
        decode_png(good, expected_size=(30, 21))
    # A header claiming 100,000 x 100,000 pixels over a few bytes of data: refused on the header.
    with pytest.raises(PngError, match="over the limit"):
        decode_png(png_bomb(100_000, 100_000, 1000), max_pixels=8 * 1024 * 1024)


@pytest.mark.parametrize("row_filter", [1, 3, 4])
def test_thin_images_are_unfiltered_without_a_step_per_diagonal(monkeypatch, row_filter):
    def no_diagonals(*args):
        raise AssertionError("a 4 x 100,000 image must not take 100,000 numpy steps")

    monkeypatch.setattr(png_module, "_unfilter_diagonals", no_diagonals)
    pixels = np.random.default_rng(row_filter).integers(0, 256, (4, 100_000, 4), dtype=np.uint8)
    assert (decode_png(encode_png(pixels, row_filter=row_filter, level=1)) == pixels).all()


def test_square_images_still_take_the_vectorised_diagonals(monkeypatch):
    calls = []
    original = png_module._unfilter_diagonals
    monkeypatch.setattr(png_module, "_unfilter_diagonals", lambda *a: calls.append(1) or original(*a))
    pixels = np.random.default_rng(1).integers(0, 256, (300, 300, 4), dtype=np.uint8)
    assert (decode_png(encode_png(pixels, row_filter=[4, 3] * 150)) == pixels).all()
    assert calls


def test_a_bomb_mask_is_dropped_and_the_good_masks_are_voted(harness: Harness):
    good = encode_png(np.full((8, 8, 4), 255, np.uint8))
    body = worker_file(
        segmentation_answer("w1", good, 8, 8),
        segmentation_answer("w2", png_bomb(8, 8, 64 * 1024 * 1024), 8, 8),
        segmentation_answer("w3", encode_png(np.zeros((8, 9, 4), np.uint8)), 8, 8),  # not the image's size
    )
    outcome = run(harness, body)
    assert outcome.published == {ANNOTATIONS_CONSOLIDATED: 1}
    (event,) = harness.events(ANNOTATIONS_CONSOLIDATED)
    assert event["workerIds"] == ["w1"]


def test_only_bomb_masks_make_the_file_invalid(harness: Harness):
    body = worker_file(segmentation_answer("w1", png_bomb(8, 8, 64 * 1024 * 1024), 8, 8))
    assert_invalid_once(harness, run(harness, body), "no-usable-answer")


# ---- shapes, classes, items -----------------------------------------------------------------------


def test_boxes_per_answer_are_capped(harness: Harness):
    assert_invalid_once(harness, run(harness, many_boxes(3, 501)), "too-many-shapes")


def test_boxes_per_object_are_capped():
    answers = [
        {"workerId": f"w{k}", "answerContent": {"boundingBox": {"boundingBoxes": boxes}}}
        for k in range(4)
        for boxes in [[{"label": "car", "left": i, "top": 0, "width": 5, "height": 5} for i in range(400)]]
    ]
    args = dict(label_attribute_name="cars", job_name="cars")
    assert consolidate("object-detection", {"1": answers}, limits=Limits(max_shapes_per_object=1600), **args).objects
    with pytest.raises(InputTooLarge, match="1600 bounding boxes"):
        consolidate("object-detection", {"1": answers}, limits=Limits(max_shapes_per_object=1599), **args)


def test_classes_are_capped(harness: Harness):
    assert_invalid_once(harness, run(harness, many_classes(100_000)), "too-many-classes")


def test_records_over_the_dynamodb_item_limit_are_refused():
    harness = Harness(config=AnnotationsConfig(limits=Limits(max_classes=200_000)))
    assert_invalid_once(harness, run(harness, many_classes(100_000)), "item-too-large")
    assert harness.store.quality == {}


# ---- decoder errors -------------------------------------------------------------------------------


def test_deep_nesting_is_an_invalid_file(harness: Harness):
    outcome = run(harness, deep_nesting(100_000))
    assert_invalid_once(harness, outcome, "undecodable")
    assert "nesting too deep" in outcome.reason


def test_huge_coordinates_drop_the_box_not_the_file(harness: Harness):
    outcome = run(harness, huge_coordinates())
    assert outcome.published == {ANNOTATIONS_CONSOLIDATED: 1}
    (event,) = harness.events(ANNOTATIONS_CONSOLIDATED)
    assert [(a["left"], a["width"]) for a in event["label"]["annotations"]] == [(10, 20)]


def test_files_over_the_size_cap_are_not_read():
    harness = Harness(config=AnnotationsConfig(max_file_bytes=1000))
    outcome = run(harness, many_boxes(1, 20))
    assert_invalid_once(harness, outcome, "file-too-large")
    assert "over the limit of 1000" in outcome.reason
