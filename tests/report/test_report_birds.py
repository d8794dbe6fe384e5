"""The report of the real birds job (iteration 1, 10 images, 5 public workers each) with its true labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gtproc.report import analysis as an
from gtproc.report.job import load_job

from tests.report.report_support import ROOT, write_manifest

DATA = ROOT / "tests" / "unit" / "consolidation" / "data" / "birds_iteration1.json"  # copied from shared/samples/real
JOB = "birds-open-images-clone"


@pytest.fixture
def birds(tmp_path: Path) -> an.Report:
    """The job folder as it stood after iteration 1: its worker responses and the intermediate manifest."""
    data = json.loads(DATA.read_text())
    job = tmp_path / JOB
    for item in data["worker_responses"].values():
        path = job / item["file"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(item["document"]))
    lines: list[dict | str] = [{"source-ref": f"s3://in/{i}.jpg"} for i in range(251)]
    for item in data["output_lines"]:
        lines[item["line_index"]] = item["line"]
    write_manifest(job, lines, iteration=1)
    truth = {oid: entry["true_label"] for oid, entry in data["true_labels"].items()}
    return an.analyse(load_job(str(job)), truth=truth)


def test_real_job_summary_and_truth(birds: an.Report):
    figures = an.summary(birds)
    assert (figures["objects"], figures["labeled"], figures["human"], figures["answers"]) == (251, 10, 10, 50)
    truth = an.against_truth(birds)
    # One image is wrong on both sides: a Goose 3 / Duck 2 split whose true class is Duck.
    assert truth["Ground Truth"].n == truth["gtproc"].n == 10
    assert truth["Ground Truth"].accuracy == truth["gtproc"].accuracy == 0.9
    assert truth["Ground Truth"].ece == pytest.approx(0.05)  # 0.95 everywhere
    _, disagreements, least = an.to_look_at(birds)
    assert disagreements == 0  # gtproc reproduces all of Ground Truth's labels
    wrong = [
        r
        for r in birds.rows.values()
        if r.oid in birds.truth and an.describe(birds.task_type, r.gt) != birds.truth[r.oid]
    ]
    assert [an.votes(birds.task_type, r.answers) for r in wrong] == ["Goose 3, Duck 2"]
    # Ten images with one error cannot calibrate the default model: it is sure of all ten (notes of issue 4),
    # so its ECE is 0.10 and the least confident list is in id order.
    assert [an.label_confidence(r.ours) for r in least] == [1.0] * 10
    assert truth["gtproc"].ece == pytest.approx(0.10)


def test_real_job_workers_against_the_truth(birds: an.Report):
    rows = an.workers(birds)
    assert sum(w.answers for w in rows) == 50
    assert sum(w.truth_answers for w in rows) == 50
    assert all(w.truth_accuracy is not None and 0 <= w.truth_accuracy <= 1 for w in rows)
