"""Single-label classification: hand-computed cases per method, output shape, tie-breaking."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from gtproc.domain.consolidation import DEFAULT_METHOD, METHODS, TaskType, consolidate
from gtproc.domain.consolidation import single_label as sl

IC = TaskType.IMAGE_CLASSIFICATION


def run(objects, method, categories=("A", "B"), **kwargs):
    return consolidate(
        IC,
        objects,
        label_attribute_name="my-Label",
        job_name="My-Job",
        categories=categories,
        method=method,
        **kwargs,
    )


def by_id(result):
    return {o.dataset_object_id: o for o in result.objects}


def test_default_single_label_method_is_the_measured_best():
    assert DEFAULT_METHOD[IC] == "dawid-skene"
    assert set(METHODS[IC]) == {
        "dawid-skene",
        "dawid-skene-classic",
        "aws-modified-dawid-skene",
        "weighted-vote",
        "majority-vote",
        "dawid-skene-tempered",
        "dawid-skene-mixture",
    }


def test_majority_vote_share_and_content_shape(make_objects):
    objects = make_objects({"3": [("w1", "B"), ("w2", "B"), ("w3", "A")]})
    result = run(objects, "majority-vote", creation_date="2024-01-02T03:04:05.000006")
    (obj,) = result.objects
    assert obj.label == 1
    assert obj.content == {
        "my-Label": 1,
        "my-Label-metadata": {
            "class-name": "B",
            "confidence": 0.67,
            "type": "groundtruth/image-classification",
            "job-name": "labeling-job/my-job",
            "human-annotated": "yes",
            "creation-date": "2024-01-02T03:04:05.000006",
        },
    }
    assert obj.workers == 3
    assert obj.agreement == pytest.approx(2 / 3)
    assert obj.votes == {"A": 1, "B": 2}  # outside the content: Ground Truth's shape is unchanged
    assert obj.worker_ids == ("w1", "w2", "w3")
    assert obj.method == "majority-vote"
    assert result.consolidation_response() == [
        {"datasetObjectId": "3", "consolidatedAnnotation": {"content": obj.content}}
    ]


def test_ties_go_to_the_class_answered_first(make_objects):
    objects = make_objects({"1": [("w1", "B"), ("w2", "A")], "2": [("w1", "A"), ("w2", "B")]})
    for method in METHODS[IC]:
        got = by_id(run(objects, method))
        assert got["1"].metadata["class-name"] == "B", method
        assert got["2"].metadata["class-name"] == "A", method


def test_weighted_vote_hand_computed(make_objects):
    # w1 and w2 always agree, w3 always disagrees: leave-one-out agreement 10/10 for w1, w2 -> accuracy
    # (10 + 2) / (10 + 3) = 12/13, weight log(12); w3 0/10 -> clipped to chance, weight 0.
    # Posterior of the majority class = 12^2 / (12^2 + 1) = 144/145.
    table = {str(i): [("w1", "A"), ("w2", "A"), ("w3", "B")] for i in range(10)}
    result = run(make_objects(table), "weighted-vote")
    for obj in result.objects:
        assert obj.metadata["class-name"] == "A"
        assert obj.metadata["confidence"] == round(144 / 145, 2)


def test_log_odds_weight():
    assert sl._log_odds(np.array([0.75]), 3)[0] == pytest.approx(math.log(6))
    assert sl._log_odds(np.array([0.2]), 3)[0] == 0.0  # below chance: ignored, not inverted


def _votes(rows, k):
    obj, worker, label = zip(*rows, strict=True)
    return sl.Votes.build(np.array(obj), np.array(worker), np.array(label), max(obj) + 1, max(worker) + 1, k)


def test_aws_first_epoch_is_the_0_7_initialisation():
    # Two workers say class 0, K=2, matrices 0.7/0.3, uniform prior: 0.49 / (0.49 + 0.09).
    out = sl.aws_modified_dawid_skene(_votes([(0, 0, 0), (0, 1, 0)], 2), max_epochs=1)
    assert out.confidence[0] == pytest.approx(0.49 / 0.58)
    # Birds object 172: Goose x3, Duck x2, K=10 -> odds Goose:Duck = 0.7 / (0.3/9) = 21 -> 0.95 like GT.
    rows = [(0, w, 8) for w in range(3)] + [(0, w, 0) for w in (3, 4)]
    out = sl.aws_modified_dawid_skene(_votes(rows, 10), max_epochs=1, confidence_cap=None)
    off = 0.3 / 9
    goose, duck, other = 0.7**3 * off**2, off**3 * 0.7**2, off**5
    assert out.labels[0] == 8
    assert out.confidence[0] == pytest.approx(goose / (goose + duck + 8 * other))
    assert round(float(out.confidence[0]), 2) == 0.95


def test_aws_confidence_is_capped_at_0_95(make_objects):
    table = {str(i): [("w1", "A"), ("w2", "A"), ("w3", "A")] for i in range(5)}
    assert {o.metadata["confidence"] for o in run(make_objects(table), "aws-modified-dawid-skene").objects} == {0.95}


def test_dawid_skene_learns_which_workers_are_noise(make_objects):
    # w1 and w4 are always right; w2 and w3 answer at random (fixed seed) and answer first, so where the
    # two of them agree on the wrong class, majority vote's 2-2 tie goes their way; Dawid-Skene has
    # learnt that they are noise and follows w1 and w4.
    rng = np.random.default_rng(7)
    truth = rng.choice(["A", "B"], size=60)
    table = {
        str(i): [("w2", rng.choice(["A", "B"])), ("w3", rng.choice(["A", "B"])), ("w1", t), ("w4", t)]
        for i, t in enumerate(truth)
    }
    objects = make_objects(table)
    outvoted = [oid for oid, rows in table.items() if rows[0][1] == rows[1][1] != rows[2][1]]
    assert len(outvoted) > 5
    ds = run(objects, "dawid-skene")
    mv = by_id(run(objects, "majority-vote"))
    for oid in outvoted:
        assert by_id(ds)[oid].metadata["class-name"] == table[oid][2][1]
        assert mv[oid].metadata["class-name"] != table[oid][2][1]
    estimated = {f.worker_id: f.estimated_accuracy for f in ds.workers}
    assert min(estimated["w1"], estimated["w4"]) > 0.9
    assert max(estimated["w2"], estimated["w3"]) < 0.7


def test_worker_prior_spreads_errors_like_the_crowd():
    # Crowd's expected counts [worker, true, answered], K=3: true class 0 was mistaken for 1 four times.
    expected = np.zeros((2, 3, 3))
    expected[0, 0] = [10, 3, 0]
    expected[1, 0] = [5, 1, 0]
    prior = sl._worker_prior(np.array([0.8, 0.6]), expected, crowd_error_prior=1.0)
    # Row 0 errors: class 1 gets 4 + 1, class 2 gets 0 + 1 -> 5/6 and 1/6 of (1 - accuracy).
    assert prior[0, 0] == pytest.approx([0.8, 0.2 * 5 / 6, 0.2 / 6])
    assert prior[1, 0] == pytest.approx([0.6, 0.4 * 5 / 6, 0.4 / 6])
    # No errors seen for true class 2: spread evenly.
    assert prior[0, 2] == pytest.approx([0.1, 0.1, 0.8])
    assert np.allclose(prior.sum(axis=2), 1.0)
    even = sl._worker_prior(np.array([0.8, 0.6]), expected, crowd_error_prior=None)
    assert even[0, 0] == pytest.approx([0.8, 0.1, 0.1])


def _lookalike_job():
    """20 ducks, each with one worker of five saying goose, 20 geese with one saying duck; 10 owls, all
    five agree. Then two 3-2 splits: goose/duck (look-alikes this crowd confuses) and owl/parrot (never
    confused)."""
    rows, obj = [], 0
    for i in range(40):
        truth = i % 2
        rows += [(obj, (i + w) % 12, truth) for w in range(4)] + [(obj, (i + 4) % 12, 1 - truth)]
        obj += 1
    for i in range(10):
        rows += [(obj, (i + w) % 12, 2) for w in range(5)]
        obj += 1
    rows += [(obj, w, 1) for w in range(3)] + [(obj, w, 0) for w in (3, 4)]
    rows += [(obj + 1, w, 2) for w in (5, 6, 7)] + [(obj + 1, w, 3) for w in (8, 9)]
    return _votes(rows, 4), obj, obj + 1


def test_a_split_between_look_alikes_is_less_certain():
    votes, goose_duck, owl_parrot = _lookalike_job()
    out = sl.dawid_skene(votes)
    assert out.labels[goose_duck] == 1 and out.labels[owl_parrot] == 2
    # The crowd often takes a duck for a goose, so three goose answers against two duck answers say less
    # than three owls against two parrots.
    assert out.confidence[goose_duck] < out.confidence[owl_parrot] - 0.05
    # With errors spread evenly (the plain one-coin prior) a goose answer for a duck is as rare as an owl
    # answer for a duck, and the same split reads as more certain.
    even = sl.dawid_skene(votes, crowd_error_prior=None)
    assert even.labels[goose_duck] == 1
    assert even.confidence[goose_duck] > out.confidence[goose_duck] + 0.05


def test_dawid_skene_classic_on_the_same_data(make_objects):
    table = {str(i): [("w1", "A"), ("w2", "A"), ("w3", "B")] for i in range(10)}
    for obj in run(make_objects(table), "dawid-skene-classic").objects:
        assert obj.metadata["class-name"] == "A"
        assert obj.metadata["confidence"] >= 0.9


def test_unknown_labels_and_empty_objects_become_failures(make_objects):
    objects = make_objects({"1": [("w1", "Zebra")], "2": [("w1", "A"), ("w2", "Zebra")]})
    objects["3"] = [{"workerId": "w1", "answerContent": {"crowd-image-classifier": {}}}]
    result = run(objects, None)
    assert [o.dataset_object_id for o in result.objects] == ["2"]
    assert result.objects[0].workers == 1
    assert {f.dataset_object_id: f.reason for f in result.failures} == {
        "1": "no answer names a known category",
        "3": "no answer with a label",
    }


def test_without_categories_classes_are_sorted_names(make_objects):
    objects = make_objects({"1": [("w1", "cat"), ("w2", "cat")], "2": [("w1", "ant"), ("w2", "bee")]})
    result = run(objects, "majority-vote", categories=None)
    assert result.classes == ("ant", "bee", "cat")
    assert by_id(result)["1"].label == 2


def test_consolidation_request_answers_with_json_string_content():
    request = [
        {
            "datasetObjectId": "5",
            "dataObject": {"content": "some text"},
            "annotations": [
                {
                    "workerId": "w1",
                    "annotationData": {"content": json.dumps({"crowd-classifier": {"label": "B"}})},
                },
                {
                    "workerId": "w2",
                    "annotationData": {"content": json.dumps({"crowd-classifier": {"label": "B"}})},
                },
            ],
        }
    ]
    from gtproc.domain.consolidation import objects_from_consolidation_request

    result = consolidate(
        None, objects_from_consolidation_request(json.dumps(request)), label_attribute_name="t", job_name="j"
    )
    assert result.task_type is TaskType.TEXT_CLASSIFICATION
    assert result.objects[0].metadata["type"] == "groundtruth/text-classification"
    assert result.objects[0].metadata["class-name"] == "B"


def test_label_verification_carries_worker_feedback():
    objects = {
        "0": [
            {
                "workerId": "w1",
                "answerContent": {"verify-label": {"label": "bad", "comment": "box too wide"}},
            },
            {"workerId": "w2", "answerContent": {"verify-label": {"label": "bad"}}},
        ]
    }
    result = consolidate(None, objects, label_attribute_name="v", job_name="j", categories=["good", "bad"])
    (obj,) = result.objects
    assert result.task_type is TaskType.LABEL_VERIFICATION
    assert obj.label == 1
    assert obj.metadata["type"] == "groundtruth/label-verification"
    assert obj.metadata["worker-feedback"] == [{"comment": "box too wide"}]


def test_repeated_answers_of_one_worker_count_once(make_objects):
    objects = make_objects({"1": [("w1", "A"), ("w1", "B"), ("w2", "B")]})
    (obj,) = run(objects, "majority-vote").objects
    assert obj.workers == 2
    assert obj.metadata["class-name"] == "A"  # 1-1 tie, w1's first answer came first


def test_job_arn_and_datetime_are_accepted(make_objects):
    from datetime import datetime

    result = consolidate(
        IC,
        make_objects({"1": [("w1", "A")]}),
        label_attribute_name="x",
        job_name="arn:aws:sagemaker:us-east-1:1:labeling-job/Birds-Job",
        creation_date=datetime(2020, 1, 2, 3, 4, 5, 6),
    )
    meta = result.objects[0].metadata
    assert meta["job-name"] == "labeling-job/birds-job"
    assert meta["creation-date"] == "2020-01-02T03:04:05.000006"


def test_bad_arguments_raise(make_objects):
    objects = make_objects({"1": [("w1", "A")]})
    with pytest.raises(ValueError, match="not one of"):
        run(objects, "iou-cluster-median")
    with pytest.raises(ValueError, match="unknown"):
        consolidate("unknown", objects, label_attribute_name="x", job_name="j")
    with pytest.raises(ValueError, match="cannot infer"):
        consolidate(
            None,
            {  # two built-in types (answers with no built-in name are a custom template's, see custom.py)
                "1": [
                    {"workerId": "w", "answerContent": {"crowd-image-classifier": {"label": "A"}}},
                    {"workerId": "v", "answerContent": {"boundingBox": {"boundingBoxes": []}}},
                ]
            },
            label_attribute_name="x",
            job_name="j",
        )


def test_single_class_job(make_objects):
    for method in METHODS[IC]:
        (obj,) = run(make_objects({"1": [("w1", "A"), ("w2", "A")]}), method, categories=["A"]).objects
        assert obj.label == 0
        assert obj.metadata["confidence"] == 1.0


def test_crowd_error_prior_must_be_positive():
    with pytest.raises(ValueError, match="crowd_error_prior"):
        sl.dawid_skene(_votes([(0, 0, 0), (0, 1, 1)], 3), crowd_error_prior=0.0)
