"""The real birds job (iteration 1: 10 images, 5 public workers each) against Ground Truth's own output.

data/birds_iteration1.json holds the worker-response documents, the output-manifest lines GT wrote and
the true classes, copied unchanged from shared/samples/real/birds-image-classification-job.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gtproc.domain.consolidation import METHODS, TaskType, consolidate, expected_calibration_error

DATA = json.loads((Path(__file__).parent / "data" / "birds_iteration1.json").read_text())
LAN = DATA["label_attribute_name"]
GT_LINES = {str(item["line_index"]): item["line"] for item in DATA["output_lines"]}
TRUTH = {oid: item["true_label"] for oid, item in DATA["true_labels"].items()}
OBJECTS = {oid: item["document"]["answers"] for oid, item in DATA["worker_responses"].items()}


def categories() -> list[str]:
    """The job's 10 classes by index, as GT's own output numbers them. Canary is never the consolidated
    label in iteration 1; the format reference (section 2.5) quotes a later line of this job with
    Canary = 9. Indices 3 and 5 appear nowhere, so they get stand-ins."""
    names = [f"unseen-{i}" for i in range(10)]
    for line in GT_LINES.values():
        names[line[LAN]] = line[f"{LAN}-metadata"]["class-name"]
    names[9] = "Canary"
    return names


def run(method=None):
    return consolidate(
        None,
        OBJECTS,
        label_attribute_name=LAN,
        job_name=DATA["job_name"],
        categories=categories(),
        method=method,
    )


def test_fixture_is_the_real_job():
    assert len(OBJECTS) == 10
    assert all(len(answers) == 5 for answers in OBJECTS.values())
    assert {line[f"{LAN}-metadata"]["confidence"] for line in GT_LINES.values()} == {0.95}


@pytest.mark.parametrize("method", [None, *METHODS[TaskType.IMAGE_CLASSIFICATION]])
def test_reproduces_ground_truth_labels(method):
    result = run(method)
    assert result.task_type is TaskType.IMAGE_CLASSIFICATION
    assert not result.failures
    for obj in result.objects:
        gt_line = GT_LINES[obj.dataset_object_id]
        gt_meta = gt_line[f"{LAN}-metadata"]
        assert obj.label == gt_line[LAN]
        meta = obj.content[f"{LAN}-metadata"]
        assert meta["class-name"] == gt_meta["class-name"]
        assert set(meta) == set(gt_meta)
        for key in ("job-name", "type", "human-annotated"):
            assert meta[key] == gt_meta[key]


def test_aws_modified_dawid_skene_also_reproduces_the_confidences():
    result = run("aws-modified-dawid-skene")
    for obj in result.objects:
        assert obj.metadata["confidence"] == GT_LINES[obj.dataset_object_id][f"{LAN}-metadata"]["confidence"]


def test_calibration_on_the_birds():
    # GT says 0.95 everywhere and is right 9 times of 10: ECE 0.05. Image 172 (true Duck) got Goose 3-2.
    gt_conf = [GT_LINES[o][f"{LAN}-metadata"]["confidence"] for o in OBJECTS]
    gt_hit = [GT_LINES[o][f"{LAN}-metadata"]["class-name"] == TRUTH[o] for o in OBJECTS]
    assert sum(gt_hit) == 9
    assert expected_calibration_error(gt_conf, gt_hit) == pytest.approx(0.05)
    ours = run()
    conf = [o.metadata["confidence"] for o in ours.objects]
    hit = [o.metadata["class-name"] == TRUTH[o.dataset_object_id] for o in ours.objects]
    # Dawid-Skene is sure of all ten (1.0): ECE 0.10 on this tiny sample; majority vote's 0.6 for the
    # 3-2 split gives 0.06. Ten objects cannot rank calibration: see benchmarks/consolidation_quality.py.
    assert expected_calibration_error(conf, hit) == pytest.approx(0.10)
    # Tempered by held-out answers (T > 1 here: the Goose/Duck split is dissent): ECE 0.082, same labels.
    tempered = run(method="dawid-skene-tempered")
    tempered_hit = [o.metadata["class-name"] == TRUTH[o.dataset_object_id] for o in tempered.objects]
    tempered_conf = [o.metadata["confidence"] for o in tempered.objects]
    assert [o.metadata["class-name"] for o in tempered.objects] == [o.metadata["class-name"] for o in ours.objects]
    assert expected_calibration_error(tempered_conf, tempered_hit) == pytest.approx(0.082)


def test_worker_figures_and_state():
    result = run()
    by_worker = {f.worker_id: f for f in result.workers}
    assert sum(f.batch_answers for f in result.workers) == 50
    minority = ("public.us-east-1.HFM33NHPCE3EMCKSMV623TGNII", "public.us-east-1.QD3J5Q4EBGPHEPNVVOMKKI2CXY")
    for worker in minority:  # the two Duck answers on image 172
        assert by_worker[worker].agreement == 0.0
    assert by_worker["public.us-east-1.XH63HWUG5RTBGQXPO4SPQDQKUE"].agreement == 1.0
    assert len(json.dumps(result.quality.to_json())) < 2000
