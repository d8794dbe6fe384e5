"""Bounding boxes and named-entity spans: hand-computed clusters, fusion, votes, confidences."""

from __future__ import annotations

import numpy as np
import pytest
from gtproc.domain.consolidation import TaskType, consolidate
from gtproc.domain.consolidation.clustering import cluster
from gtproc.domain.consolidation.shapes import box_iou, span_jaccard


def box(label, left, top, width, height):
    return {"label": label, "left": left, "top": top, "width": width, "height": height}


def bbox_answer(worker, boxes, size=(640, 480)):
    return {
        "workerId": worker,
        "answerContent": {
            "boundingBox": {
                "boundingBoxes": boxes,
                "inputImageProperties": {"width": size[0], "height": size[1]},
            }
        },
    }


def test_iou_and_jaccard():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[1, 1, 11, 11], [20, 20, 30, 30]], float)
    assert box_iou(a, b)[0] == pytest.approx([81 / 119, 0.0])
    spans = np.array([[0, 5], [0, 6], [5, 9]], float)
    assert span_jaccard(spans, spans)[0] == pytest.approx([1.0, 5 / 6, 0.0])


def test_clustering_keeps_one_shape_per_worker_and_does_not_chain():
    # 0~1 and 1~2 similar, 0 and 2 not: average linkage stops the chain at {0, 1}.
    similarity = np.array([[1, 0.9, 0.2], [0.9, 1, 0.7], [0.2, 0.7, 1]])
    assert cluster(similarity, np.array([0, 1, 2]), 0.5) == [[0, 1], [2]]
    # Same worker drew 0 and 1: never in one cluster.
    assert cluster(similarity, np.array([0, 0, 1]), 0.5) == [[0], [1, 2]]


def test_boxes_hand_computed():
    objects = {
        "img-1": [
            bbox_answer("w1", [box("cat", 0, 0, 10, 10), box("cat", 100, 100, 20, 20)]),
            bbox_answer("w2", [box("cat", 0, 0, 10, 10)]),
            bbox_answer("w3", [box("dog", 1, 1, 10, 10)]),
        ]
    }
    result = consolidate(None, objects, label_attribute_name="b", job_name="Boxes", categories=["dog", "cat"])
    assert result.task_type is TaskType.OBJECT_DETECTION
    (obj,) = result.objects
    # One cluster of three (IoUs 1, 0.68, 0.68); median box (0, 0, 10, 10); class cat 2:1.
    # The lone 20x20 box of w1 has 1/3 of the workers: dropped.
    # Confidence = 3/3 x mean IoU with the fused box = (1 + 1 + 81/119) / 3.
    assert obj.label == {
        "image_size": [{"width": 640, "height": 480, "depth": 3}],
        "annotations": [{"class_id": 1, "left": 0, "top": 0, "width": 10, "height": 10}],
    }
    assert obj.metadata["objects"] == [{"confidence": round((2 + 81 / 119) / 3, 2)}]
    assert obj.metadata["class-map"] == {"1": "cat"}
    assert obj.metadata["type"] == "groundtruth/object-detection"
    # Agreement: w1 1 of max(2, 1); w2 1 of 1; w3's box has the losing class: 0.
    assert obj.agreement == pytest.approx((0.5 + 1 + 0) / 3)
    assert {f.worker_id: f.batch_agreement for f in result.workers} == {"w1": 0.5, "w2": 1.0, "w3": 0.0}


def test_box_mean_versus_median_fusion():
    answers = [
        bbox_answer("w1", [box("a", 0, 0, 100, 100)]),
        bbox_answer("w2", [box("a", 2, 0, 100, 100)]),
        bbox_answer("w3", [box("a", 10, 0, 100, 100)]),
    ]
    median = consolidate("object-detection", {"1": answers}, label_attribute_name="b", job_name="j")
    mean = consolidate(
        "object-detection", {"1": answers}, label_attribute_name="b", job_name="j", method="iou-cluster-mean"
    )
    assert median.objects[0].label["annotations"][0]["left"] == 2
    assert mean.objects[0].label["annotations"][0]["left"] == 4


def test_no_boxes_gives_an_empty_label_like_gt():
    objects = {
        "0": [
            bbox_answer("w1", []),
            {"workerId": "w2", "answerContent": {"boundingBox": {"boundingBoxes": None}}},
        ]
    }
    (obj,) = consolidate("object-detection", objects, label_attribute_name="c", job_name="j").objects
    assert obj.label["annotations"] == []
    assert obj.metadata["objects"] == []
    assert obj.metadata["class-map"] == {}
    assert obj.agreement == 1.0


def test_object_without_a_box_answer_fails():
    objects = {"0": [{"workerId": "w1", "answerContent": {"crowd-image-classifier": {"label": "x"}}}]}
    result = consolidate("object-detection", objects, label_attribute_name="c", job_name="j")
    assert result.objects == []
    assert result.failures[0].reason == "no answer with bounding boxes"


def entity_answer(worker, entities):
    return {
        "workerId": worker,
        "answerContent": {
            "crowd-entity-annotation": {
                "entities": [{"label": label, "startOffset": s, "endOffset": e} for label, s, e in entities]
            }
        },
    }


def test_entities_hand_computed():
    objects = {
        "7": [
            entity_answer("w1", [("Person", 0, 5), ("Location", 10, 15), ("Date", 20, 25)]),
            entity_answer("w2", [("Person", 0, 5), ("Date", 21, 26)]),
            entity_answer("w3", [("Organization", 0, 6)]),
        ]
    }
    result = consolidate(None, objects, label_attribute_name="ner", job_name="NER")
    (obj,) = result.objects
    assert result.task_type is TaskType.TEXT_SPAN
    # Span 1: ends 5, 5, 6 -> mode 5; label Person 2:1; confidence 1 x mean(1, 1, 5/6).
    # Location: 1 of 3 workers -> dropped.
    # Date: starts 20/21, ends 25/26, no clear mode -> lower medians 20, 25; confidence 2/3 x mean(1, 4/6).
    assert obj.label == {
        "annotations": {
            "entities": [
                {"label": "Person", "startOffset": 0, "endOffset": 5},
                {"label": "Date", "startOffset": 20, "endOffset": 25},
            ],
            "labels": [
                {"label": "Date"},
                {"label": "Location"},
                {"label": "Organization"},
                {"label": "Person"},
            ],
        }
    }
    assert obj.metadata["entities"] == [
        {"confidence": round((2 + 5 / 6) / 3, 2)},
        {"confidence": round(2 / 3 * (1 + 4 / 6) / 2, 2)},
    ]
    assert obj.metadata["type"] == "groundtruth/text-span"
    assert obj.content["ner-metadata"]["job-name"] == "labeling-job/ner"
