"""Worker quality carried across batches, its JSON form, and the calibration metric."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gtproc.domain.consolidation import QualityState, consolidate, expected_calibration_error
from gtproc.domain.consolidation.model import SINGLE_LABEL


def run(objects, method="dawid-skene", prior=None, categories=("A", "B")):
    return consolidate(
        "image-classification", objects, label_attribute_name="l", job_name="j", categories=categories,
        method=method, prior=prior,
    )  # fmt: skip


def test_ece_hand_computed():
    # Bins (0.8, 0.9]: two answers at 0.9, one right -> |0.5 - 0.9| x 2/3; (0.2, 0.3]: |0 - 0.3| x 1/3.
    assert expected_calibration_error([0.9, 0.9, 0.3], [True, False, False]) == pytest.approx(0.4 * 2 / 3 + 0.1)
    assert expected_calibration_error([1.0, 1.0], [True, True]) == 0.0
    assert expected_calibration_error([], []) == 0.0


def test_state_round_trips_through_json():
    rng = np.random.default_rng(1)
    state = QualityState(
        family=SINGLE_LABEL,
        classes=("a", "b", "c"),
        worker_ids=("w1", "w2"),
        answered=np.array([10, 3]),
        agreement=np.array([9.5, 1.25]),
        confusion=rng.integers(0, 50, (2, 3, 3)),
    )
    doc = json.loads(json.dumps(state.to_json()))
    back = QualityState.from_json(doc)
    assert back.classes == state.classes and back.worker_ids == state.worker_ids
    assert back.answered.tolist() == [10, 3]
    assert back.agreement.tolist() == [9.5, 1.25]
    assert (back.confusion == state.confusion).all()
    with pytest.raises(ValueError, match="version"):
        QualityState.from_json({**doc, "v": 99})


BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def test_state_is_compact_for_100_workers_and_10_classes():
    rng = np.random.default_rng(2)
    k, w = 10, 100
    confusion = np.zeros((w, k, k), np.int64)
    for i in range(w):  # ~300 answers each, mostly right
        truth = rng.integers(0, k, 300)
        answer = np.where(rng.random(300) < 0.8, truth, rng.integers(0, k, 300))
        np.add.at(confusion[i], (truth, answer), 1)
    state = QualityState(
        family=SINGLE_LABEL,
        classes=tuple(f"class-{c}" for c in range(k)),
        worker_ids=tuple(f"public.us-east-1.{''.join(rng.choice(list(BASE32), 26))}" for _ in range(w)),
        answered=confusion.sum(axis=(1, 2)),
        agreement=np.trace(confusion, axis1=1, axis2=2).astype(float),
        confusion=confusion,
    )
    doc = state.to_json()
    assert QualityState.from_json(doc).worker_ids == state.worker_ids
    size = len(json.dumps(doc, separators=(",", ":")))
    assert size < 10_000, size  # about 8.8 KB: the random ids and counts themselves


def test_aligned_reorders_by_name():
    state = QualityState(
        family=SINGLE_LABEL,
        classes=("a", "b"),
        worker_ids=("w1",),
        answered=np.array([3]),
        agreement=np.array([2.0]),
        confusion=np.array([[[2, 1], [0, 0]]]),
    )
    moved = state.aligned(("b", "new", "a"), ("w0", "w1"))
    assert moved.answered.tolist() == [0, 3]
    assert moved.confusion[1].tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 2]]


def objects_of(rows):
    return {
        oid: [{"workerId": w, "answerContent": {"crowd-image-classifier": {"label": label}}} for w, label in answers]
        for oid, answers in rows.items()
    }


@pytest.mark.parametrize("method", ["dawid-skene", "dawid-skene-classic", "aws-modified-dawid-skene", "weighted-vote"])
def test_quality_learnt_in_one_batch_decides_a_tie_in_the_next(method):
    # Batch 1: "bad" always contradicts three agreeing workers. Batch 2: one object, bad answers first,
    # good second, 1:1. Alone that tie goes to the first answer (bad); with the carried state to good.
    batch1 = {str(i): [("good", "A"), ("x", "A"), ("y", "A"), ("bad", "B")] for i in range(15)}
    batch1.update({str(i): [("good", "B"), ("x", "B"), ("y", "B"), ("bad", "A")] for i in range(15, 30)})
    first = run(objects_of(batch1), method)
    state_json = json.loads(json.dumps(first.quality.to_json()))
    batch2 = objects_of({"99": [("bad", "B"), ("good", "A")]})
    assert run(batch2, method).objects[0].metadata["class-name"] == "B"
    second = run(batch2, method, prior=state_json)
    assert second.objects[0].metadata["class-name"] == "A"
    figures = {f.worker_id: f for f in second.workers}
    assert figures["good"].answers == 31 and figures["good"].batch_answers == 1
    assert figures["bad"].agreement == 0.0
    assert second.quality.worker_ids == ("bad", "good", "x", "y")  # carried workers kept


def test_state_of_another_task_family_is_refused():
    boxes = consolidate(
        "object-detection",
        {"1": [{"workerId": "w", "answerContent": {"boundingBox": {"boundingBoxes": []}}}]},
        label_attribute_name="b",
        job_name="j",
    )
    with pytest.raises(ValueError, match="prior quality state"):
        run(objects_of({"1": [("w", "A")]}), prior=boxes.quality.to_json())


def test_non_classification_state_counts_agreement():
    answer = {"workerId": "w", "answerContent": {"boundingBox": {"boundingBoxes": []}}}
    first = consolidate("object-detection", {"1": [answer]}, label_attribute_name="b", job_name="j")
    second = consolidate(
        "object-detection",
        {"2": [answer]},
        label_attribute_name="b",
        job_name="j",
        prior=first.quality.to_json(),
    )
    (figures,) = second.workers
    assert (figures.answers, figures.agreement, figures.estimated_accuracy) == (2, 1.0, None)


def test_tempering_evidence_round_trips_and_older_states_load_without_it():
    state = QualityState(
        family=SINGLE_LABEL, classes=("a", "b"), worker_ids=("w1",), answered=np.array([2]),
        agreement=np.array([2.0]), confusion=np.zeros((1, 2, 2), np.int64), held_out=np.array([-10.25, -9.5004]),
    )  # fmt: skip
    doc = json.loads(json.dumps(state.to_json()))
    assert QualityState.from_json(doc).held_out.tolist() == [-10.25, -9.5]  # thousandths are kept
    assert state.aligned(("b", "a"), ("w2", "w1")).held_out.tolist() == [-10.25, -9.5004]
    del doc["heldOut"]  # a state written before dawid-skene-tempered carried its evidence
    assert QualityState.from_json(doc).held_out is None
    assert (
        "heldOut"
        not in run(
            {"1": [{"workerId": "w", "answerContent": {"crowd-image-classifier": {"label": "A"}}}]}
        ).quality.to_json()
    )


def test_tempered_evidence_adds_up_over_the_batches_of_a_job():
    def answer(worker, label):
        return {"workerId": worker, "answerContent": {"crowd-image-classifier": {"label": label}}}

    answers = {str(i): [answer(f"w{(i + j) % 5}", "AB"[(i * j) % 3 == 1]) for j in range(4)] for i in range(30)}
    first = run({k: answers[k] for k in list(answers)[:15]}, method="dawid-skene-tempered")
    second = run({k: answers[k] for k in list(answers)[15:]}, method="dawid-skene-tempered", prior=first.quality)
    alone = run({k: answers[k] for k in list(answers)[15:]}, method="dawid-skene-tempered")
    carried = first.quality.held_out
    assert carried.shape == (60,) and (carried < 0).all()  # log-likelihoods of the held-out answers
    assert (second.quality.held_out < carried).all()  # each batch adds its own held-out answers
    np.testing.assert_allclose(second.quality.held_out - carried, alone.quality.held_out, rtol=0.2)
