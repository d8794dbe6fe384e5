"""The numbers behind each chart and table of `gtproc report`, computed by hand on small jobs."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from gtproc.domain.comparison import Agreement
from gtproc.domain.consolidation import expected_calibration_error
from gtproc.report import analysis as an
from gtproc.report.job import Answer, load_job

from tests.report.report_support import (
    BROKEN,
    CARS,
    FLOWERS,
    JOBS,
    PETS_TRUTH,
    answer,
    cats_and_dogs,
    write_manifest,
    write_responses,
)


@pytest.fixture
def pets(tmp_path: Path) -> an.Report:
    return an.analyse(load_job(str(cats_and_dogs(tmp_path))), "majority-vote", PETS_TRUTH)


def test_times_as_ground_truth_writes_them():
    assert an.parse_time("2019-04-18T16:09:58Z") == datetime(2019, 4, 18, 16, 9, 58)
    assert an.parse_time("2024-03-12T09:12:00.995Z") == datetime(2024, 3, 12, 9, 12, 0, 995000)
    assert an.parse_time("2019-04-18T16:39:40.299208") == datetime(2019, 4, 18, 16, 39, 40, 299208)
    assert an.parse_time("2019-04-18T18:39:40+0200") == datetime(2019, 4, 18, 16, 39, 40)
    assert an.parse_time("yesterday") is None


def test_summary_of_the_flowers_job_matches_its_expected_counts():
    expected = json.loads((JOBS / "classification-failed-auto.expected.json").read_text())["final"]
    report = an.analyse(load_job(str(FLOWERS)))
    figures = an.summary(report)
    assert figures["objects"] == expected["objects"] == 40
    assert (figures["labeled"], figures["human"], figures["auto"]) == (37, 25, 12)
    assert figures["failed"] == 3 and figures["invalid lines"] == 0
    assert figures["workers"] == 6  # 5 good workers and the spammer
    assert figures["answers"] == 25 * 3
    assert figures["iterations"] == 3
    assert figures["task type"] == "groundtruth/image-classification"


def test_class_balance_counts_both_sides(pets: an.Report):
    classes, ours, theirs = an.class_balance(pets)
    # gtproc: 5 cats and 5 dogs (the two good workers outvote `lazy`); Ground Truth: image 9 is a cat,
    # and the auto-labeled image 10 is a dog.
    assert dict(zip(classes, ours, strict=True)) == {"cat": 5, "dog": 5}
    assert dict(zip(classes, theirs, strict=True)) == {"cat": 6, "dog": 5}


def test_class_balance_of_ground_truth_is_the_final_manifests_class_counts():
    expected = json.loads((JOBS / "classification-failed-auto.expected.json").read_text())["final"]["classCounts"]
    classes, _, theirs = an.class_balance(an.analyse(load_job(str(FLOWERS))))
    assert dict(zip(classes, theirs, strict=True)) == expected


def test_histogram_bins_are_right_closed_like_the_ece():
    counts = an.histogram([0.0, 0.1, 0.15, 0.3, 0.95, 1.0])
    assert counts.tolist() == [2, 1, 1, 0, 0, 0, 0, 0, 0, 2]
    assert an.histogram([]).tolist() == [0] * 10


def test_calibration_by_hand():
    cal = an.calibration([0.95, 0.95, 0.55, 0.55], [True, False, True, True])
    assert cal.n == 4 and cal.accuracy == 0.75
    assert cal.bins[9] == (2, pytest.approx(0.95), 0.5)
    assert cal.bins[5] == (2, pytest.approx(0.55), 1.0)
    assert all(b[0] == 0 and math.isnan(b[1]) for i, b in enumerate(cal.bins) if i not in (5, 9))
    assert cal.ece == pytest.approx((2 * 0.45 + 2 * 0.45) / 4)
    assert cal.ece == expected_calibration_error([0.95, 0.95, 0.55, 0.55], [True, False, True, True])


def test_accuracy_and_ece_against_the_truth(pets: an.Report):
    truth = an.against_truth(pets)
    assert truth is not None
    ground_truth = truth["Ground Truth"]
    # 11 labeled objects: 9 right at 0.95, image 9 wrong at 0.6, image 10 (auto) right at 0.8.
    assert ground_truth.n == 11
    assert ground_truth.accuracy == pytest.approx(10 / 11)
    assert ground_truth.ece == pytest.approx((9 * 0.05 + 0.6 + 0.2) / 11)
    ours = truth["gtproc"]
    assert ours.n == 10 and ours.accuracy == 1.0
    # majority vote, all right: cats unanimous (lazy says cat too) at 1.0, dogs 2 of 3 at 0.67
    assert ours.ece == pytest.approx(5 * (1 - 0.67) / 10)


def test_truth_is_for_single_label_only():
    report = an.analyse(load_job(str(CARS)), truth={"0": "car"})
    assert an.against_truth(report) is None


def test_wilson_interval():
    low, high = an.wilson(0.5, 100)
    assert (round(low, 4), round(high, 4)) == (0.4038, 0.5962)
    assert an.wilson(1.0, 10)[1] == 1.0
    assert an.wilson(0.7, 0) == (0.0, 1.0)


def test_worker_table(pets: an.Report):
    rows = {w.worker_id: w for w in an.workers(pets)}
    assert set(rows) == {"good1", "good2", "lazy"}
    lazy, good1 = rows["lazy"], rows["good1"]
    assert lazy.answers == good1.answers == 10
    assert lazy.agreement == 0.5 and good1.agreement == 1.0
    # majority vote has no model: the estimate is the Laplace-smoothed agreement
    assert lazy.accuracy == pytest.approx(6 / 12) and good1.accuracy == pytest.approx(11 / 12)
    assert (lazy.low, lazy.high) == pytest.approx(an.wilson(0.5, 10))
    assert lazy.flagged and not good1.flagged and not rows["good2"].flagged
    assert good1.median_seconds == 3600 and lazy.median_seconds == 30
    assert lazy.truth_accuracy == 0.5 and good1.truth_accuracy == 1.0 and lazy.truth_answers == 10
    # lazy's confusion: whatever gtproc says, lazy answers cat
    classes = list(pets.classes)
    assert lazy.confusion[classes.index("dog"), classes.index("cat")] == 1.0
    assert lazy.confusion[classes.index("cat"), classes.index("cat")] == 1.0


def test_dawid_skene_estimates_are_the_models(tmp_path: Path):
    report = an.analyse(load_job(str(cats_and_dogs(tmp_path))))
    assert report.method == "dawid-skene"
    rows = {w.worker_id: w for w in an.workers(report)}
    assert rows["lazy"].accuracy == report.estimated["lazy"]
    assert rows["lazy"].accuracy < rows["good1"].accuracy


def test_crowd_confusion(pets: an.Report):
    matrix = an.crowd_confusion(pets.quality)
    cat, dog = pets.classes.index("cat"), pets.classes.index("dog")
    # images gtproc calls cat: all 15 answers cat; dog: 10 dog answers and lazy's 5 cats
    assert (matrix[cat, cat], matrix[cat, dog]) == (1.0, 0.0)
    assert matrix[dog, cat] == pytest.approx(5 / 15) and matrix[dog, dog] == pytest.approx(10 / 15)


def test_objects_to_look_at(pets: an.Report):
    shown, total, least = an.to_look_at(pets)
    assert total == 1 and [r.oid for r in shown] == ["9"]
    row = shown[0]
    assert an.describe(pets.task_type, row.ours) == "dog" and an.describe(pets.task_type, row.gt) == "cat"
    assert an.votes(pets.task_type, row.answers) == "dog 2, cat 1"
    assert row.source == "s3://in/9.jpg"
    assert [r.oid for r in least] == ["5", "6", "7", "8", "9", "0", "1", "2", "3", "4"]  # dogs at 0.67 first


def test_least_confident_first():
    report = an.analyse(load_job(str(FLOWERS)))
    _, _, least = an.to_look_at(report)
    values = [an.label_confidence(r.ours) for r in least]
    assert values == sorted(values) and len(least) == an.LEAST_CONFIDENT_SHOWN


def test_progress_per_hour_stacked_by_iteration():
    def row(oid, when, iteration, human=True):
        return an.ObjectRow(oid, iteration=iteration, human=human, time=datetime.fromisoformat(when))

    rows = [
        row("0", "2024-01-01T10:05:00", 1),
        row("1", "2024-01-01T10:55:00", 1),
        row("2", "2024-01-01T11:10:00", 2),
        row("3", "2024-01-01T11:30:00", 2, human=False),
        an.ObjectRow("4", iteration=2),  # no time: not counted
    ]
    starts, series, counts, unit = an.progress(rows)
    assert unit == "hour"
    assert starts == [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 11)]
    assert series == ["iteration 1", "iteration 2", "auto"]
    assert counts.tolist() == [[2, 0], [0, 1], [0, 1]]
    rows.append(row("5", "2024-01-20T08:00:00", 3))
    starts, series, counts, unit = an.progress(rows)
    assert unit == "day" and len(starts) == 20 and counts.sum() == 5


def test_progress_of_the_flowers_job_counts_every_labeled_object():
    _, series, counts, _ = an.progress(an.analyse(load_job(str(FLOWERS))).rows.values())
    assert counts.sum() == 37
    assert dict(zip(series, counts.sum(axis=1).tolist(), strict=True)) == {
        "iteration 1": 10,
        "iteration 2": 13,
        "iteration 3": 2,
        "auto": 12,
    }


def test_problems_of_the_bad_input_job():
    report = an.analyse(load_job(str(BROKEN)))
    figures = an.summary(report)
    assert (figures["labeled"], figures["failed"], figures["invalid lines"]) == (3, 1, 6)
    codes = {code: (n, [line for line, _ in first]) for code, n, first in an.invalid_by_code(report.invalid)}
    assert codes["json-invalid"] == (1, [3])
    assert codes["not-object"] == (1, [4])
    assert codes["source-missing"] == (1, [5])
    assert codes["box-negative-size"] == (1, [7])
    assert codes["class-map-missing-id"] == (1, [8])
    assert any(why == "an empty manifest (0 objects)" for _, why in report.unusable)


def test_failures_and_unusable_files(tmp_path: Path):
    assert an.failures_by_reason(an.analyse(load_job(str(FLOWERS))).rows.values()) == [
        ("ClientError: Annotation tasks expired", ["24", "27"]),
        ("ClientError: All workers declined the annotation task", ["28"]),
    ]
    job = cats_and_dogs(tmp_path)
    bad = job / "annotations" / "worker-response" / "iteration-1" / "3" / "2024-01-01_10:00:00.json"
    bad.write_text('{"answers": [')
    write_responses(job, 1, 4, [{"answerContent": {}}])  # no workerId
    report = an.analyse(load_job(str(job)))
    reasons = {Path(f).parent.name: why for f, why in report.unusable}
    assert reasons["3"].startswith("not JSON")
    assert "no workerId" in reasons["4"]
    assert an.summary(report)["answers"] == 8 * 3  # the other objects still count


def _answer(content: dict) -> Answer:
    return Answer("w", {"answerContent": content}, None, None, None)


def test_box_agreement_by_hand():
    def boxes(*items):
        return {
            "boundingBox": {
                "boundingBoxes": [dict(zip(("label", "left", "top", "width", "height"), b, strict=True)) for b in items]
            }
        }

    report = an.Report(
        "j", "", "groundtruth/object-detection", "j", None, {}, None, None, [], [], [], None, None, (), {}, []
    )
    report.rows = {
        "0": an.ObjectRow("0", answers=[_answer(boxes(("car", 0, 0, 10, 10))), _answer(boxes(("car", 0, 0, 10, 10)))]),
        "1": an.ObjectRow("1", answers=[_answer(boxes(("car", 0, 0, 10, 10))), _answer(boxes(("car", 5, 0, 10, 10)))]),
        "2": an.ObjectRow(
            "2",
            answers=[
                _answer(boxes(("car", 0, 0, 10, 10))),
                _answer(boxes(("car", 0, 0, 10, 10), ("bus", 50, 50, 5, 5))),
            ],
        ),
        "3": an.ObjectRow("3", answers=[_answer(boxes(("car", 0, 0, 10, 10))), _answer(boxes(("bus", 0, 0, 10, 10)))]),
        "4": an.ObjectRow("4", answers=[_answer(boxes(("car", 0, 0, 10, 10)))]),  # one worker: no pair
    }
    assert an.box_agreement(report) == pytest.approx([1.0, 50 / 150, 0.5, 0.0])


def test_span_agreement_by_hand():
    def spans(*items):
        return {
            "crowd-entity-annotation": {
                "entities": [{"label": name, "startOffset": s, "endOffset": e} for s, e, name in items]
            }
        }

    report = an.Report("j", "", "groundtruth/text-span", "j", None, {}, None, None, [], [], [], None, None, (), {}, [])
    report.rows = {
        "0": an.ObjectRow(
            "0", answers=[_answer(spans((0, 5, "PER"))), _answer(spans((0, 5, "PER"))), _answer(spans((0, 5, "PER")))]
        ),
        "1": an.ObjectRow("1", answers=[_answer(spans((0, 10, "ORG"))), _answer(spans((5, 10, "ORG")))]),
        "2": an.ObjectRow("2", answers=[_answer(spans()), _answer(spans())]),
    }
    assert an.span_agreement(report) == pytest.approx([1.0, 0.5, 1.0])


def test_boxes_per_image_of_the_cars_job():
    report = an.analyse(load_job(str(CARS)))
    ours, theirs = an.boxes_per_image(report)
    assert sum(theirs) == 4 + 42 + 18  # the final manifest's boxes (events/jobs/README.md)
    assert len(ours) == len(theirs) == 30
    assert 0 in theirs  # image 15 has no box


def test_ground_truth_from_consolidation_responses_without_a_manifest(tmp_path: Path):
    job = cats_and_dogs(tmp_path)
    (job / "manifests" / "output" / "output.manifest").unlink()
    response = job / "annotations" / "consolidated-annotation" / "consolidation-response" / "iteration-1" / "t.json"
    response.parent.mkdir(parents=True)
    content = {
        "pets": 0,
        "pets-metadata": {"class-name": "cat", "confidence": 0.5, "type": "groundtruth/image-classification"},
    }
    response.write_text(json.dumps([{"datasetObjectId": "7", "consolidatedAnnotation": {"content": content}}]))
    report = an.analyse(load_job(str(job)))
    assert report.rows["7"].gt == (0, content["pets-metadata"]) and report.rows["7"].agree is Agreement.DIFFERENT
    assert an.summary(report)["labeled"] == 1


def test_auto_labeled_objects_take_the_iteration_of_their_first_snapshot(tmp_path: Path):
    job = cats_and_dogs(tmp_path)
    final = (job / "manifests" / "output" / "output.manifest").read_text().splitlines()
    write_manifest(job, [*final[:10], '{"source-ref":"s3://in/10.jpg"}'], iteration=1)
    write_manifest(job, final, iteration=2)
    report = an.analyse(load_job(str(job)))
    assert report.rows["10"].iteration == 2 and report.rows["10"].human is False
    assert report.rows["3"].iteration == 1


def test_answer_times(tmp_path: Path):
    job = tmp_path / "timed"
    write_responses(
        job,
        1,
        0,
        [
            answer("a", {"crowd-image-classifier": {"label": "x"}}, "2024-01-01T10:00:30.500Z", "2024-01-01T10:00:00Z"),
            {
                **answer("b", {"crowd-image-classifier": {"label": "x"}}, "2024-01-01T10:01:00Z"),
                "timeSpentInSeconds": 9,
            },
        ],
    )
    answers = load_job(str(job)).responses[1]["0"]
    assert [a.seconds for a in answers] == [30.5, None]  # no acceptanceTime: no time per task
    assert np.isclose(an.analyse(load_job(str(job))).rows["0"].time.second, 0)
