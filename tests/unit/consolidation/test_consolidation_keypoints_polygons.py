"""Keypoints and polygons of custom templates: hand-computed cases and properties."""

from __future__ import annotations

import numpy as np
import pytest
from gtproc.domain.consolidation import consolidate
from gtproc.domain.consolidation.keypoints import MAX_POINTS, TooManyShapes, consolidate_keypoints, radius_for
from gtproc.domain.consolidation.polygons import consolidate_polygons, polygon_iou
from hypothesis import example, given, settings
from hypothesis import strategies as st

SQUARE = ((0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0))


def test_keypoints_median_and_share():
    # Three workers place "eye" near (10, 20); the third misses "nose"; a stray "ear" by one worker.
    workers = [
        [("eye", 10, 20), ("nose", 50, 50)],
        [("eye", 12, 21), ("nose", 54, 49)],
        [("eye", 30, 20), ("ear", 90, 90)],
    ]
    fused = consolidate_keypoints(workers, radius=25.0)
    got = [(p.label, p.x, p.y, p.confidence) for p in fused]
    # eye: median x of 10, 12, 30 is 12, median y 20; nose: two of three, median of 50 and 54 is 52.
    assert got == [("eye", 12.0, 20.0, 1.0), ("nose", 52.0, 49.5, 0.67)]


def test_keypoints_beyond_the_radius_do_not_match():
    fused = consolidate_keypoints([[("eye", 0, 0)], [("eye", 30, 0)]], radius=radius_for(200, 150))  # 12.5 px
    assert [(p.x, p.confidence) for p in fused] == [(0.0, 0.5), (30.0, 0.5)]


def test_keypoints_work_is_capped():
    with pytest.raises(TooManyShapes):
        consolidate_keypoints([[("eye", float(i), 0.0) for i in range(MAX_POINTS + 1)]])


def test_polygon_iou_hand_computed():
    half = np.array([(0, 0), (5, 0), (5, 10), (0, 10)], float)
    assert polygon_iou(np.array(SQUARE), half) == pytest.approx(0.5, abs=0.02)
    assert polygon_iou(np.array(SQUARE), np.array(SQUARE)) == 1.0
    far = np.array([(20, 20), (30, 20), (30, 30)], float)
    assert polygon_iou(np.array(SQUARE), far) == 0.0


def test_polygons_medoid_and_confidence():
    shifted = tuple((x + 1, y) for x, y in SQUARE)
    wide = tuple((x * 1.2, y) for x, y in SQUARE)
    fused = consolidate_polygons([[("roof", SQUARE)], [("roof", shifted)], [("roof", wide)], [("door", SQUARE)]])
    [roof] = [p for p in fused if p.label == "roof"]
    # IoU(square, shifted) = 9/11, IoU(square, wide) = 10/12, IoU(shifted, wide) = 10/12: the wide one is
    # closest on average; confidence = 3/4 x mean IoU with it (1 + 10/12 + 10/12) / 3 = 0.67.
    assert roof.vertices == wide
    assert roof.confidence == 0.67
    assert [p.label for p in fused] == ["roof"]  # door: one worker of four, below half


coordinate = st.integers(0, 400)
point = st.tuples(st.sampled_from(["eye", "nose", "tail"]), coordinate, coordinate)
triangle = st.tuples(coordinate, coordinate, st.integers(5, 60)).map(
    lambda t: ((t[0], t[1]), (t[0] + t[2], t[1]), (t[0], t[1] + t[2]))
)


@settings(max_examples=40, deadline=None)
@given(points=st.lists(point, max_size=6, unique_by=lambda p: p[0]), workers=st.integers(1, 5))
def test_unanimous_keypoints_come_back(points, workers):
    fused = consolidate_keypoints([points] * workers, radius=10.0)
    assert sorted((p.label, p.x, p.y) for p in fused) == sorted((lab, float(x), float(y)) for lab, x, y in points)
    assert all(p.confidence == 1.0 for p in fused)


@settings(max_examples=40, deadline=None)
@given(polys=st.lists(triangle, min_size=1, max_size=3), workers=st.integers(1, 4))
def test_unanimous_polygons_come_back(polys, workers):
    labelled = [(f"c{i}", p) for i, p in enumerate(polys)]
    fused = consolidate_polygons([labelled] * workers)
    assert sorted((p.label, p.vertices) for p in fused) == sorted(labelled)
    assert all(p.confidence == 1.0 for p in fused)


def _answer(worker: str, points, polys) -> dict:
    return {
        "workerId": worker,
        "answerContent": {
            "pts": {"keypoints": [{"label": lab, "x": x, "y": y} for lab, x, y in points]},
            "shape": {"polygons": [{"label": "p", "vertices": [{"x": x, "y": y} for x, y in poly]} for poly in polys]},
        },
    }


@settings(max_examples=30, deadline=None)
@given(
    crowd=st.lists(st.tuples(st.lists(point, max_size=4), st.lists(triangle, max_size=2)), min_size=1, max_size=5),
    data=st.data(),
)
def test_result_does_not_depend_on_worker_order(crowd, data):
    answers = [_answer(f"w{i}", points, polys) for i, (points, polys) in enumerate(crowd)]
    shuffled = data.draw(st.permutations(answers))
    one = consolidate(None, {"1": answers}, label_attribute_name="a", job_name="j")
    other = consolidate(None, {"1": shuffled}, label_attribute_name="a", job_name="j")
    assert one.consolidation_response() == other.consolidation_response()


KEYS = [
    "label", "labels", "boundingBoxes", "entities", "keypoints", "polygons", "vertices", "labeledImage",
    "pngImageData", "inputImageProperties", "width", "height", "left", "top", "x", "y", "startOffset", "endOffset",
]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.floats(allow_nan=True) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    contents=st.lists(
        st.dictionaries(st.sampled_from(["el", "other"]), json_values, min_size=1), min_size=1, max_size=3
    )
)
# Found by this property: boxes whose image properties are not an object.
@example(contents=[{"el": None}, {"el": None, "other": {"inputImageProperties": 1, "boundingBoxes": []}}])
def test_any_custom_answer_is_consolidated_or_passed_through_never_raised(contents):
    answers = [{"workerId": f"w{i}", "answerContent": c} for i, c in enumerate(contents)]
    result = consolidate(
        "custom", {"1": answers}, label_attribute_name="a", job_name="j", mask_uri=lambda oid: f"s3://b/{oid}.png"
    )
    [obj] = result.objects
    assert set(obj.label) == {name for c in contents for name in c}
    assert set(obj.metadata["elements"]) == set(obj.label)
