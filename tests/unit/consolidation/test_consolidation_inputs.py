"""Input side: answer shapes, task-type inference, class order; multi-label consolidation."""

from __future__ import annotations

import json

import pytest
from gtproc.domain.consolidation import (
    TaskType,
    consolidate,
    infer_task_type,
    objects_from_consolidation_request,
    parse_answer,
    resolve_classes,
)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"crowd-image-classifier": {"label": "Falcon"}}, TaskType.IMAGE_CLASSIFICATION),
        ({"crowd-classifier": {"label": "x"}}, TaskType.TEXT_CLASSIFICATION),
        ({"crowd-classifier-multi-select": {"labels": ["x"]}}, TaskType.TEXT_MULTILABEL),
        ({"crowd-image-classifier-multi-select": {"labels": []}}, TaskType.IMAGE_MULTILABEL),
        ({"boundingBox": {"boundingBoxes": None}}, TaskType.OBJECT_DETECTION),
        ({"crowd-entity-annotation": {"entities": []}}, TaskType.TEXT_SPAN),
        ({"crowd-semantic-segmentation": {"labeledImage": {}}}, TaskType.SEMANTIC_SEGMENTATION),
        ({"crowd-label-verification": {"label": "good"}}, TaskType.LABEL_VERIFICATION),
        ('{"crowd-image-classifier": {"label": "Falcon"}}', TaskType.IMAGE_CLASSIFICATION),
        ({"category": {"label": "Correct"}}, TaskType.UNKNOWN),
        ({"annotatedResult": {"keypoints": []}}, TaskType.UNKNOWN),
        ([], TaskType.UNKNOWN),
    ],
)
def test_infer_task_type(content, expected):
    assert infer_task_type(content) is expected


def test_parse_answer_shapes():
    content = {"crowd-classifier": {"label": "B"}}
    from_file = parse_answer({"workerId": "w", "answerContent": content, "submissionTime": "2019-04-18T16:11:15Z"})
    from_request = parse_answer({"workerId": "w", "annotationData": {"content": json.dumps(content)}})
    from_string = parse_answer(json.dumps({"workerId": "w", "answerContent": json.dumps(content)}))
    assert from_file == from_request == from_string
    assert from_file.content == content
    with pytest.raises(ValueError, match="s3Uri"):
        parse_answer({"workerId": "w", "annotationData": {"s3Uri": "s3://b/k"}})
    with pytest.raises(ValueError, match="workerId"):
        parse_answer({"answerContent": content})
    with pytest.raises(ValueError, match="JSON"):
        parse_answer({"workerId": "w", "answerContent": "{not json"})


def test_objects_from_consolidation_request_keeps_order_and_string_ids():
    request = [
        {"datasetObjectId": "7", "annotations": [{"workerId": "a"}]},
        {"datasetObjectId": 5, "annotations": [{"workerId": "b"}]},
    ]
    assert objects_from_consolidation_request(request) == {"7": [{"workerId": "a"}], "5": [{"workerId": "b"}]}


def test_resolve_classes():
    assert resolve_classes(["b", "a"], ["z", "a", "b"]) == ("z", "a", "b")
    assert resolve_classes(["b", "a", "B"], None) == ("B", "a", "b")  # code-point order
    assert resolve_classes(["d", "a", "c"], None, previous=("c", "b")) == ("c", "b", "a", "d")
    with pytest.raises(ValueError, match="duplicates"):
        resolve_classes([], ["a", "a"])


def multi(worker, labels, key="crowd-image-classifier-multi-select"):
    return {"workerId": worker, "answerContent": {key: {"labels": labels}}}


def test_multi_label_majority_hand_computed():
    objects = {"1": [multi("w1", ["sky", "tree"]), multi("w2", ["sky"]), multi("w3", ["sky", "cloud"])]}
    result = consolidate(None, objects, label_attribute_name="ml", job_name="ML", categories=["tree", "sky", "cloud"])
    (obj,) = result.objects
    assert result.task_type is TaskType.IMAGE_MULTILABEL
    assert obj.label == [1]
    assert obj.metadata["class-map"] == {"1": "sky"}
    assert obj.metadata["confidence-map"] == {"1": 1.0}
    assert obj.metadata["type"] == "groundtruth/image-classification-multilabel"
    # Jaccard of each answer with {sky}: 1/2, 1, 1/2.
    assert obj.agreement == pytest.approx(2 / 3)
    assert obj.votes == {"tree": 1, "sky": 3, "cloud": 1}  # workers naming each class, in category order
    assert set(obj.metadata) == {"class-map", "confidence-map", "type", "job-name", "human-annotated", "creation-date"}


def test_multi_label_any_vote_is_gts_documented_rule():
    objects = {
        "1": [
            multi("w1", ["sky", "tree"], "crowd-classifier-multi-select"),
            multi("w2", ["sky"], "crowd-classifier-multi-select"),
        ]
    }
    result = consolidate(
        None, objects, label_attribute_name="ml", job_name="j", categories=["tree", "sky"], method="any-vote"
    )
    (obj,) = result.objects
    assert result.task_type is TaskType.TEXT_MULTILABEL
    assert obj.label == [1, 0]  # by share, then class id
    assert obj.metadata["confidence-map"] == {"1": 1.0, "0": 0.5}


def test_multi_label_half_is_enough_and_empty_answers_count():
    objects = {"1": [multi("w1", ["a"]), multi("w2", [])], "2": [multi("w1", []), multi("w2", [])]}
    result = consolidate("image-classification-multilabel", objects, label_attribute_name="m", job_name="j")
    got = {o.dataset_object_id: o for o in result.objects}
    assert got["1"].label == [0]
    assert got["2"].label == []
    assert got["2"].agreement == 1.0
