"""Ground Truth's consolidation-response -> `Consolidation Compared` once per object and iteration, and the
label comparison itself (domain/comparison.same_label)."""

from __future__ import annotations

import copy
import json

import pytest
from gtproc.domain.comparison import Agreement, iou, same_label

from tests.unit.annotations.annotations_support import (
    COMPARED,
    CONSOLIDATED,
    FLOWERS,
    FLOWERS_TREE,
    Harness,
    by_object,
    response_key,
)

RESPONSE_1 = (
    f"{FLOWERS}/annotations/consolidated-annotation/consolidation-response/iteration-1/2019-04-18_16:17:42.json"
)
GT_RESPONSE_1 = json.loads((FLOWERS_TREE / RESPONSE_1).read_bytes())
COMPARED_FIELDS = {
    "jobName", "bucket", "jobPath", "iteration", "datasetObjectId", "labelAttributeName", "taskType", "agree", "ours",
    "groundTruth",
}  # fmt: skip


def iteration_1_workers(harness: Harness) -> list[str]:
    return harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: "/iteration-1/" in key)


def with_disagreement(response: list[dict], object_id: str = "7") -> list[dict]:
    """GT's response with one object's label changed (Rose -> Tulip)."""
    changed = copy.deepcopy(response)
    for item in changed:
        if item["datasetObjectId"] == object_id:
            content = item["consolidatedAnnotation"]["content"]
            content[FLOWERS] = 3
            content[f"{FLOWERS}-metadata"]["class-name"] = "Tulip"
    return changed


def test_each_object_compared_once_with_one_disagreement(harness: Harness):
    for key in iteration_1_workers(harness):
        harness(key)
    response = with_disagreement(GT_RESPONSE_1)
    harness.put(RESPONSE_1, response)

    outcome = harness(RESPONSE_1)

    assert (outcome.status, outcome.published) == ("processed", {COMPARED: 10})
    compared = by_object(harness.events(COMPARED))
    assert set(compared) == {item["datasetObjectId"] for item in response}
    assert {oid for oid, event in compared.items() if not event["agree"]} == {"7"}
    ours = by_object(harness.events(CONSOLIDATED))
    for item in response:
        event = compared[item["datasetObjectId"]]
        content = item["consolidatedAnnotation"]["content"]
        assert set(event) == COMPARED_FIELDS
        assert (event["jobName"], event["iteration"], event["labelAttributeName"]) == (FLOWERS, 1, FLOWERS)
        assert event["taskType"] == "groundtruth/image-classification"
        assert event["groundTruth"] == {"label": content[FLOWERS], "metadata": content[f"{FLOWERS}-metadata"]}
        mine = ours[item["datasetObjectId"]]
        assert event["ours"] == {"label": mine["label"], "metadata": mine["metadata"]}
    assert compared["7"]["ours"]["metadata"]["class-name"] == "Rose"

    again = harness(RESPONSE_1)
    assert (again.status, again.published) == ("processed", {})
    assert len(harness.events(COMPARED)) == 10


def test_response_before_the_worker_responses_are_processed(harness: Harness):
    """GT's response is handled first: our consolidation is made from the worker-response files found by
    listing; the worker-response notifications arriving later publish nothing more."""
    workers = iteration_1_workers(harness)
    harness.put(RESPONSE_1, GT_RESPONSE_1)

    outcome = harness(RESPONSE_1)

    assert outcome.published == {CONSOLIDATED: 10, COMPARED: 10}
    assert all(event["agree"] for event in harness.events(COMPARED))
    for key in workers:
        late = harness(key)
        assert (late.status, late.published, late.duplicates) == ("processed", {}, 1)
    assert len(harness.events(CONSOLIDATED)) == 10 and len(harness.events(COMPARED)) == 10
    assert int(harness.quality(FLOWERS).answered.sum()) == 30  # learned once per object


def test_repeated_dataset_object_id_in_one_response_is_compared_once(harness: Harness):
    for key in iteration_1_workers(harness):
        harness(key)
    first, second = GT_RESPONSE_1[0], GT_RESPONSE_1[1]
    repeated = with_disagreement([first], first["datasetObjectId"])[0]
    harness.put(RESPONSE_1, [first, second, repeated, first])

    assert harness(RESPONSE_1).published == {COMPARED: 2}
    compared = by_object(harness.events(COMPARED))
    assert set(compared) == {first["datasetObjectId"], second["datasetObjectId"]}
    assert compared[first["datasetObjectId"]]["agree"] is True  # the first occurrence counts


def test_two_responses_of_one_iteration_compare_their_own_objects(harness: Harness):
    for key in iteration_1_workers(harness):
        harness(key)
    harness.put(response_key(FLOWERS, 1, "2019-04-18_16:17:42"), GT_RESPONSE_1[:6])
    harness.put(response_key(FLOWERS, 1, "2019-04-18_16:20:00"), GT_RESPONSE_1[4:])
    assert harness(response_key(FLOWERS, 1, "2019-04-18_16:17:42")).published == {COMPARED: 6}
    assert harness(response_key(FLOWERS, 1, "2019-04-18_16:20:00")).published == {COMPARED: 4}  # 2 overlap
    assert len(by_object(harness.events(COMPARED))) == 10


def test_ground_truth_under_another_attribute_name_is_still_compared(harness: Harness):
    for key in iteration_1_workers(harness):
        harness(key)
    renamed = []
    for item in GT_RESPONSE_1[:1]:
        content = item["consolidatedAnnotation"]["content"]
        renamed.append({**item, "consolidatedAnnotation": {"content": {
            "flowers": content[FLOWERS], "flowers-metadata": content[f"{FLOWERS}-metadata"]}}})  # fmt: skip
    harness.put(RESPONSE_1, renamed)
    harness(RESPONSE_1)
    [event] = harness.events(COMPARED)
    assert (event["labelAttributeName"], event["agree"]) == ("flowers", True)


def test_objects_without_worker_responses_are_not_compared(harness: Harness):
    """Objects of the response with no worker-response file (and none listed) publish nothing, no error."""
    harness.put(RESPONSE_1, GT_RESPONSE_1)
    outcome = harness(RESPONSE_1)
    assert (outcome.status, outcome.published) == ("processed", {})
    assert harness.publisher.events == []


def test_comparisons_of_other_iterations_are_separate_facts(harness: Harness):
    keys = harness.put_tree(FLOWERS_TREE, "worker-response")
    responses = harness.put_tree(FLOWERS_TREE, "consolidation-response")
    for key in [*responses, *keys]:
        harness(key)
    compared = {(e["iteration"], e["datasetObjectId"]) for e in harness.events(COMPARED)}
    assert len(compared) == len(harness.events(COMPARED)) == 25
    assert {iteration for iteration, _ in compared} == {1, 2, 3}


# ---- same_label ----------------------------------------------------------------------------------

IC = "groundtruth/image-classification"
AGREEMENT = {True: Agreement.SAME, False: Agreement.DIFFERENT}
BOX = "groundtruth/object-detection"


def classification(index: int, name: str) -> tuple[int, dict]:
    return index, {"class-name": name, "confidence": 0.9}


def boxes(*items: tuple[int, float, float, float, float], class_map: dict[str, str]) -> tuple[dict, dict]:
    annotations = [{"class_id": c, "left": x, "top": y, "width": w, "height": h} for c, x, y, w, h in items]
    return {"annotations": annotations, "image_size": []}, {"class-map": class_map}


def spans(*entities: tuple[int, int, str]) -> tuple[dict, dict]:
    label = {"annotations": {"entities": [{"startOffset": s, "endOffset": e, "label": n} for s, e, n in entities]}}
    return label, {}


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (classification(0, "Daisy"), classification(3, "Daisy"), True),  # numbered differently, same class
        (classification(1, "Rose"), classification(1, "Tulip"), False),  # same index, different class
        (classification(1, "Rose"), (None, {}), False),
    ],
)
def test_single_label_compares_class_names_not_indexes(ours, theirs, expected):
    assert same_label(IC, ours, theirs) is AGREEMENT[expected]
    assert same_label("groundtruth/label-verification", ours, theirs) is AGREEMENT[expected]
    assert same_label("GroundTruth/Image-Classification", ours, theirs) is AGREEMENT[expected]


def test_multi_label_compares_the_sets_of_names():
    ours = ([0, 1], {"class-map": {"0": "cat", "1": "dog"}})
    renumbered = ([4, 2], {"class-map": {"4": "dog", "2": "cat"}})
    fewer = ([2], {"class-map": {"2": "cat"}})
    for task in ("groundtruth/image-classification-multilabel", "groundtruth/text-classification-multilabel"):
        assert same_label(task, ours, renumbered) is Agreement.SAME
        assert same_label(task, ours, fewer) is Agreement.DIFFERENT


CAR_TRUCK = {"0": "car", "1": "truck"}


@pytest.mark.parametrize(
    ("theirs", "expected"),
    [
        (boxes((0, 10, 10, 100, 50), (1, 300, 40, 80, 80), class_map=CAR_TRUCK), True),  # identical
        (boxes((1, 305, 42, 78, 80), (0, 12, 9, 100, 52), class_map=CAR_TRUCK), True),  # moved a little, other order
        (boxes((5, 10, 10, 100, 50), (2, 300, 40, 80, 80), class_map={"5": "car", "2": "truck"}), True),  # renumbered
        (boxes((0, 60, 10, 100, 50), (1, 300, 40, 80, 80), class_map=CAR_TRUCK), False),  # IoU 0.33 < 0.5
        (boxes((1, 10, 10, 100, 50), (0, 300, 40, 80, 80), class_map=CAR_TRUCK), False),  # classes swapped
        (boxes((0, 10, 10, 100, 50), class_map=CAR_TRUCK), False),  # a box missing
        (boxes((0, 10, 10, 100, 50), (0, 12, 10, 100, 50), class_map=CAR_TRUCK), False),  # both match one of ours
    ],
)
def test_boxes_match_one_to_one_by_class_and_iou(theirs, expected):
    ours = boxes((0, 10, 10, 100, 50), (1, 300, 40, 80, 80), class_map=CAR_TRUCK)
    assert same_label(BOX, ours, theirs) is AGREEMENT[expected]


def test_no_boxes_on_either_side_agree():
    assert same_label(BOX, boxes(class_map={}), boxes(class_map={})) is Agreement.SAME
    assert same_label(BOX, boxes(class_map={}), boxes((0, 1, 1, 5, 5), class_map={"0": "car"})) is Agreement.DIFFERENT


def test_iou_values():
    a = ("car", 0.0, 0.0, 2.0, 2.0)
    assert iou(a, a) == 1.0
    assert iou(a, ("car", 1.0, 0.0, 2.0, 2.0)) == pytest.approx(2 / 6)
    assert iou(a, ("car", 1.0, 1.0, 2.0, 2.0)) == pytest.approx(1 / 7)
    assert iou(a, ("car", 2.0, 0.0, 2.0, 2.0)) == 0.0  # touching edges do not overlap


def test_entity_spans_compare_as_sets():
    ours = spans((0, 5, "Person"), (10, 20, "Date"))
    assert same_label("groundtruth/text-span", ours, spans((10, 20, "Date"), (0, 5, "Person"))) is Agreement.SAME
    assert same_label("groundtruth/text-span", ours, spans((0, 6, "Person"), (10, 20, "Date"))) is Agreement.DIFFERENT
    assert same_label("groundtruth/text-span", ours, spans((0, 5, "Location"), (10, 20, "Date"))) is Agreement.DIFFERENT


@pytest.mark.parametrize(
    "task",
    ["groundtruth/semantic-segmentation", "groundtruth/video-object-detection", "groundtruth/video-object-tracking"],
)
def test_labels_stored_elsewhere_cannot_be_compared(task):
    assert same_label(task, ("s3://a/0.png", {}), ("s3://b/0.png", {})) is Agreement.NOT_COMPARABLE


def test_custom_labels_compare_by_equality():
    assert same_label("groundtruth/custom", ({"x": 1}, {}), ({"x": 1}, {})) is Agreement.SAME
    assert same_label("groundtruth/custom", ({"x": 1}, {}), ({"x": 2}, {})) is Agreement.DIFFERENT


# ---- comparison_of: the event, on its own ------------------------------------------------------------


def test_comparison_of_pairs_our_recorded_label_with_ground_truths_under_either_attribute_name():
    from gtproc.domain.groundtruth import TaskType
    from gtproc.domain.keys import parse_output_key
    from gtproc.usecases.comparison import comparison_of

    location = parse_output_key(RESPONSE_1)
    assert location is not None
    ours = {"labelAttributeName": "flowers-label", "taskType": IC, "label": 0, "metadata": {"class-name": "Daisy"}}
    same_name = {"flowers-label": 3, "flowers-label-metadata": {"class-name": "Daisy"}}
    renamed = {"ground-truth-name": 1, "ground-truth-name-metadata": {"class-name": "Rose"}}

    agreed = comparison_of("gt-output", location, "7", ours, same_name)
    assert agreed is not None and agreed.agree is True and agreed.label_attribute_name == "flowers-label"
    assert (agreed.dataset_object_id, agreed.iteration, agreed.ground_truth.label) == ("7", 1, 3)
    differed = comparison_of("gt-output", location, "7", ours, renamed)
    assert differed is not None and differed.agree is False
    assert differed.label_attribute_name == "ground-truth-name" and differed.ground_truth.label == 1
    masks = {**ours, "taskType": TaskType.SEMANTIC_SEGMENTATION.groundtruth_type}  # masks are not compared
    assert comparison_of("gt-output", location, "7", masks, same_name) is None
