"""The annotations function's use case on hostile worker answers: whatever the content, a file ends as
consolidated or as one `Annotation File Invalid`, never as an exception (which would dead-letter the
message and retry content that cannot change)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gtproc.contract.events import ANNOTATION_FILE_INVALID, ANNOTATIONS_CONSOLIDATED, CONSOLIDATION_COMPARED
from gtproc.domain import consolidation as cons
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import corpus
from tests.unit.annotations.annotations_support import (
    Harness,
    classification_answer,
    response_key,
    worker_file,
    worker_key,
)

ELEMENTS = (
    "crowd-image-classifier",
    "crowd-classifier",
    "crowd-image-classifier-multi-select",
    "boundingBox",
    "crowd-entity-annotation",
    "crowd-semantic-segmentation",
    "annotatedResult",
)
FIELDS = ("label", "labels", "left", "top", "width", "height", "boundingBoxes", "inputImageProperties", "entities")
FIELDS += ("startOffset", "endOffset", "keypoints", "x", "y", "labeledImage", "pngImageData", "labelMappings")
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=12,
)


def box(label: str = "car") -> dict[str, Any]:
    return {"label": label, "left": 10, "top": 20, "width": 30, "height": 40}


def boxes_answer(worker: str, boxes: Any) -> dict[str, Any]:
    content = {"boundingBox": {"boundingBoxes": boxes, "inputImageProperties": {"width": 100, "height": 100}}}
    return {"workerId": worker, "answerContent": content}


def test_a_number_where_the_boxes_go_drops_that_answer_and_keeps_the_others() -> None:
    harness = Harness()
    key = harness.put(
        worker_key("cars", 1, 4),
        corpus.compact({"answers": [boxes_answer("w1", 5), boxes_answer("w2", [box()]), boxes_answer("w3", [box()])]}),
    )

    outcome = harness(key)

    assert outcome.published == {ANNOTATIONS_CONSOLIDATED: 1}
    (event,) = harness.events(ANNOTATIONS_CONSOLIDATED)
    assert sorted(event["workerIds"]) == ["w2", "w3"]
    assert len(event["label"]["annotations"]) == 1


def test_a_number_where_every_answers_entities_go_is_one_invalid_file() -> None:
    harness = Harness()
    bad = {"workerId": "w1", "answerContent": {"crowd-entity-annotation": {"entities": 3.5}}}
    key = harness.put(worker_key("spans", 1, 2), corpus.compact({"answers": [bad]}))

    outcome = harness(key)

    assert (outcome.status, outcome.code) == ("invalid", "no-usable-answer")
    assert [entry.detail_type for entry in harness.publisher.events] == [ANNOTATION_FILE_INVALID]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(ELEMENTS), st.lists(junk, min_size=1, max_size=3))
def test_any_answer_content_is_consolidated_or_one_invalid_file(element: str, contents: list[Any]) -> None:
    harness = Harness()
    answers = [{"workerId": f"w{n}", "answerContent": {element: content}} for n, content in enumerate(contents)]
    key = harness.put(worker_key("fuzzed", 1, 0), json.dumps({"answers": answers}).encode())

    outcome = harness(key)

    assert outcome.status in ("processed", "invalid")
    published = [entry.detail_type for entry in harness.publisher.events]
    assert published in ([ANNOTATIONS_CONSOLIDATED], [ANNOTATION_FILE_INVALID]), published


def test_the_library_itself_reads_a_bad_boxes_answer_as_no_answer() -> None:
    result = cons.consolidate(
        None,
        {"1": [boxes_answer("w1", "x"), boxes_answer("w2", 7)]},
        label_attribute_name="cars",
        job_name="cars",
    )
    assert result.objects == [] and [f.dataset_object_id for f in result.failures] == ["1"]


@pytest.mark.parametrize("name", sorted(corpus.NOT_JSON))
def test_a_hostile_consolidation_response_is_one_invalid_file(name: str) -> None:
    harness = Harness()
    key = harness.put(response_key("pets", 1), corpus.NOT_JSON[name])

    outcome = harness(key)

    assert (outcome.status, outcome.code) == ("invalid", "undecodable")
    assert harness(key).published == {}  # a redelivery publishes nothing more
    assert [entry.detail_type for entry in harness.publisher.events] == [ANNOTATION_FILE_INVALID]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(junk, max_size=3))
def test_any_consolidation_response_items_are_compared_or_skipped_never_raised(contents: list[Any]) -> None:
    harness = Harness()
    answers = worker_file(classification_answer("w1", "cat"), classification_answer("w2", "cat"))
    harness(harness.put(worker_key("pets", 1, 0), answers))
    items = [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": content}} for content in contents]
    key = harness.put(response_key("pets", 1), json.dumps([*contents, *items]).encode())

    outcome = harness(key)

    assert outcome.status in ("processed", "invalid", "skipped")


@pytest.mark.parametrize("metadata", ["x", [1], 3, True])
def test_ground_truths_metadata_of_another_shape_is_not_comparable_and_the_next_item_is(metadata: Any) -> None:
    harness = Harness()
    answers = worker_file(classification_answer("w1", "cat"), classification_answer("w2", "cat"))
    harness(harness.put(worker_key("pets", 1, 0), answers))
    harness(harness.put(worker_key("pets", 1, 1), answers))
    good = {"pets": 0, "pets-metadata": {"class-name": "cat"}}
    items = [
        {"datasetObjectId": "0", "consolidatedAnnotation": {"content": {"pets": 0, "pets-metadata": metadata}}},
        {"datasetObjectId": "1", "consolidatedAnnotation": {"content": good}},
    ]

    outcome = harness(harness.put(response_key("pets", 1), json.dumps(items).encode()))

    assert outcome.status == "processed"
    assert [event["datasetObjectId"] for event in harness.events(CONSOLIDATION_COMPARED)] == ["1"]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(junk, junk)
def test_any_ground_truth_label_and_metadata_are_compared_or_skipped_never_raised(label: Any, metadata: Any) -> None:
    harness = Harness()
    answers = worker_file(classification_answer("w1", "cat"), classification_answer("w2", "cat"))
    harness(harness.put(worker_key("pets", 1, 0), answers))
    content = {"pets": label, "pets-metadata": metadata}
    item = {"datasetObjectId": "0", "consolidatedAnnotation": {"content": content}}

    outcome = harness(harness.put(response_key("pets", 1), json.dumps([item]).encode()))

    assert outcome.status in ("processed", "invalid")  # invalid: an infinity the strict reader refuses
