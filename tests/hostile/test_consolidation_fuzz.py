"""Consolidation on answers of every family with one value anywhere in them replaced by hostile JSON:
it returns (or refuses with ValueError, a bound's InputTooLarge among them), never crashes, never warns,
and every answer of a built-in task either went into its object's label or is named as unused."""

from __future__ import annotations

import base64
import copy
import re
import struct
import warnings
import zlib
from typing import Any

import pytest
from gtproc.domain import consolidation as cons
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st


def _png(width: int, height: int, rgba: tuple[int, int, int, int]) -> str:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgba) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return base64.b64encode(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    ).decode()


IMAGE = {"width": 100, "height": 100}
SEEDS: list[dict[str, Any]] = [
    {"crowd-image-classifier": {"label": "Falcon"}},
    {"crowd-classifier": {"label": "pos"}},
    {"crowd-image-classifier-multi-select": {"labels": ["a", "b"]}},
    {
        "boundingBox": {
            "boundingBoxes": [
                {"label": "car", "left": 1, "top": 2, "width": 30, "height": 40},
                {"label": "bus", "left": 50, "top": 50, "width": 10, "height": 10},
            ],
            "inputImageProperties": IMAGE,
        }
    },
    {
        "crowd-entity-annotation": {
            "entities": [
                {"label": "PER", "startOffset": 0, "endOffset": 5},
                {"label": "LOC", "startOffset": 7, "endOffset": 12},
            ]
        }
    },
    {
        "crowd-semantic-segmentation": {
            "inputImageProperties": {"width": 4, "height": 4},
            "labelMappings": {"Bird": {"color": "#2ca02c"}},
            "labeledImage": {"pngImageData": _png(4, 4, (0x2C, 0xA0, 0x2C, 255))},
        }
    },
    {"annotatedResult": {"keypoints": [{"label": "eye", "x": 10, "y": 20}], "inputImageProperties": IMAGE}},
    {
        "annotatedResult": {
            "polygons": [{"label": "roof", "vertices": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 10, "y": 10}]}],
            "inputImageProperties": IMAGE,
        }
    },
    {"verify": {"label": "yes"}},
    {"el": {"label": "x"}, "notes": "blurry"},
]
HOSTILE = st.one_of(
    st.sampled_from([None, True, "", "x", "#zz", "12", "\u0000", [], {}, [None], [{}], ["a"], {"a": 1}, [1, 2, 3]]),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([10**400, -(10**400), 2**63, 2**32 + 1]),
    st.floats(allow_nan=False),  # NaN and Infinity are not JSON: the reader refuses them first
    st.sampled_from([1e308, -1e308, 5e-324, -0.0, 1e-320]),
    st.text(max_size=5),
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        found += _paths(inner, (*path, key))
    return found


@st.composite
def jobs(draw: Any) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    seed = draw(st.sampled_from(SEEDS))
    hostile = copy.deepcopy(seed)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(hostile)
        if not paths:
            break
        *parents, last = draw(st.sampled_from(paths))
        holder = hostile
        for key in parents:
            holder = holder[key]
        if draw(st.booleans()) and isinstance(holder, dict):
            del holder[last]
        else:
            holder[last] = copy.deepcopy(draw(HOSTILE))  # sampled lists are shared: no cycles
    objects = {
        str(oid): [
            {"workerId": f"w{w}", "answerContent": hostile if (oid, w) == (1, 0) else copy.deepcopy(seed)}
            for w in range(3)
        ]
        for oid in range(3)
    }
    return objects, hostile


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(jobs())
def test_a_hostile_value_anywhere_in_an_answer_is_consolidated_or_refused_never_a_crash(job: Any) -> None:
    objects, _ = job
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warnings are bugs here, not noise
        try:
            task = cons.task_of(None, objects)
            result = cons.consolidate(
                None, objects, label_attribute_name="lab", job_name="lab", mask_uri=lambda oid: f"s3://b/{oid}.png"
            )
        except ValueError:
            event("refused")
            return
    event(task.family)
    if task is cons.TaskType.CUSTOM:
        return  # a custom element that cannot be consolidated is passed through, every answer in it
    unused = {(u.dataset_object_id, u.worker_id) for u in result.unused}
    used = {(o.dataset_object_id, w) for o in result.objects for w in o.worker_ids}
    given_answers = {(oid, a["workerId"]) for oid, answers in objects.items() for a in answers}
    assert not used & unused
    assert {(u.dataset_object_id, u.worker_id) for u in result.unused_shapes} <= used
    assert used | unused == given_answers


def _with(seed: int, *path_and_value: Any) -> dict[str, list[dict[str, Any]]]:
    hostile = copy.deepcopy(SEEDS[seed])
    *path, last, value = path_and_value
    holder = hostile
    for key in path:
        holder = holder[key]
    holder[last] = value
    return {
        str(oid): [
            {"workerId": f"w{w}", "answerContent": hostile if (oid, w) == (1, 0) else copy.deepcopy(SEEDS[seed])}
            for w in range(3)
        ]
        for oid in range(3)
    }


def test_a_mask_answer_whose_label_mappings_are_no_object_is_unused_not_a_crash() -> None:
    objects = _with(5, "crowd-semantic-segmentation", "labelMappings", "!!!")

    result = cons.consolidate(None, objects, label_attribute_name="l", job_name="l", mask_uri=lambda o: f"s3://b/{o}")

    assert [(u.dataset_object_id, u.worker_id, u.reason) for u in result.unused] == [
        ("1", "w0", "labelMappings is not an object")
    ]
    assert len(result.objects) == 3


def test_a_polygon_whose_vertices_are_no_list_is_no_polygon_not_a_crash() -> None:
    objects = _with(7, "annotatedResult", "polygons", 0, "vertices", 5)

    result = cons.consolidate(None, objects, label_attribute_name="l", job_name="l")

    (one,) = [o for o in result.objects if o.dataset_object_id == "1"]
    assert len(one.label["annotatedResult"]["polygons"]) == 1  # the two other workers still agree


def test_a_coordinate_past_floats_range_is_no_coordinate() -> None:
    objects = _with(3, "boundingBox", "boundingBoxes", 0, "width", 10**400)

    result = cons.consolidate(None, objects, label_attribute_name="l", job_name="l")

    (one,) = [o for o in result.objects if o.dataset_object_id == "1"]
    assert sorted(box["class_id"] for box in one.label["annotations"]) == [0, 1]


def test_a_stray_built_in_answer_does_not_take_over_a_custom_template_job() -> None:
    objects = {
        str(oid): [{"workerId": f"w{w}", "answerContent": copy.deepcopy(SEEDS[6])} for w in range(2)]
        for oid in range(3)
    }
    objects["1"].append({"workerId": "stray", "answerContent": {"crowd-image-classifier": {"label": "x"}}})

    result = cons.consolidate(None, objects, label_attribute_name="l", job_name="l")

    assert result.task_type is cons.TaskType.CUSTOM
    assert len(result.objects) == 3 and not result.failures


def test_image_and_text_classification_answers_are_one_family_and_consolidate_together() -> None:
    image, text = {"crowd-image-classifier": {"label": "a"}}, {"crowd-classifier": {"label": "a"}}
    objects = {"0": [{"workerId": "w0", "answerContent": image}, {"workerId": "w1", "answerContent": text}]}

    result = cons.consolidate(None, objects, label_attribute_name="l", job_name="l")

    assert result.task_type.family == "single-label" and not result.unused
    assert result.objects[0].workers == 2


def test_without_a_majority_family_the_batch_is_refused_naming_the_counts() -> None:
    objects = {"0": [{"workerId": "w0", "answerContent": SEEDS[0]}, {"workerId": "w1", "answerContent": SEEDS[3]}]}

    with pytest.raises(ValueError, match=re.escape("image-classification (1 answer), object-detection (1 answer)")):
        cons.consolidate(None, objects, label_attribute_name="l", job_name="l")
