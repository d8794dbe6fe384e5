"""A valid line per task type of the format reference, line classification, and the real samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from gtproc.domain.fastpath import FastPath
from gtproc.domain.scan import scan_lines, validate_stream
from gtproc.domain.validation import LineStatus, validate_line, validate_record

from tests.unit.format.format_builders import (
    MISSING,
    bbox,
    classification,
    custom,
    encode,
    failed,
    line,
    meta,
    semseg,
    text_span,
)

DATA = Path(__file__).parent / "data"


def read_lines(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().splitlines()


def real_line(name: str, number: int = 1) -> bytes:
    return read_lines(name)[number - 1]


def seg3d_meta(**extra: Any) -> dict[str, Any]:
    return meta(
        "groundtruth/point_cloud_single_frame_semantic_segmentation",
        "pc-seg",
        color_map={"0": {"class-name": "Car", "hex-color": "#ff0000", "confidence": 0.6}},
        **extra,
    )


VALID = {
    # real samples
    "image-classification (real)": real_line("image-classification.output.manifest"),
    "bounding-box (real, zero boxes)": real_line("bbox-cat-labels.output.manifest"),
    "bounding-box (real, 0.09)": real_line("bbox-cat-labels.output.manifest", 3),
    "bounding-box + adjustment chain (real)": real_line("bbox-with-adjustment-chain.output.manifest"),
    "semantic-segmentation (real)": real_line("semantic-segmentation.output.manifest"),
    "custom (real)": real_line("custom-task.output.manifest"),
    # the format reference's other minimal lines
    "image-classification (doc)": encode(
        {
            "source-ref": "s3://b/0273f487d52c16d2.jpg",
            "birds-open-images-clone": 9,
            "birds-open-images-clone-metadata": {
                "confidence": 0.95,
                "job-name": "labeling-job/birds-open-images-clone",
                "class-name": "Canary",
                "human-annotated": "yes",
                "creation-date": "2019-04-18T16:40:59.217995",
                "type": "groundtruth/image-classification",
            },
        }
    ),
    "image-classification (string index)": encode(classification(label="0")),
    "text-classification": encode(
        line(
            "sentiment",
            2,
            meta("groundtruth/text-classification", "sentiment", class_name="positive", confidence=0.84),
            source_ref=None,
            source="The food was great and the service quick.",
        )
    ),
    "image-multilabel": encode(
        line(
            "bg-labeling",
            [6, 0],
            {
                "job-name": "labeling-job/bg-labeling",
                "confidence-map": {"6": 0.0, "0": 0.0},
                "class-map": {"6": "clouds", "0": "Canyon"},
                "type": "groundtruth/image-classification-multilabel",
                "human-annotated": "yes",
                "creation-date": "2024-09-27T21:31:32.051349",
            },
        )
    ),
    "image-multilabel (none picked)": encode(
        line("bg", [], meta("groundtruth/image-classification-multilabel", "bg", class_map={}, confidence_map={}))
    ),
    "text-multilabel": encode(
        line(
            "topics",
            [1, "3"],
            meta(
                "groundtruth/text-classification-multilabel",
                "topics",
                class_map={"1": "sports", "3": "politics"},
                confidence_map={"1": 0.5, "3": 0.95},
            ),
            source_ref=None,
            source="The minister opened the stadium.",
        )
    ),
    "label-verification": encode(
        line("verify", 1, meta("groundtruth/label-verification", "verify", class_name="bad", confidence=0.2))
    ),
    "label-verification (worker-feedback)": encode(
        line(
            "verify",
            "0",
            meta(
                "groundtruth/label-verification",
                "verify",
                class_name="good",
                confidence=0.93,
                worker_feedback=[{"comment": "the box misses the tail"}, {"comment": "fine"}],
            ),
        )
    ),
    "text-span (NER, doc)": encode(
        {
            "source": "Bob was born on Jan 1 1990 in Springfield",
            "EntityRecognizerPOC-1": {
                "annotations": {
                    "entities": [{"endOffset": 22, "startOffset": 16, "label": "Date"}],
                    "labels": [{"label": "Date"}, {"label": "Location"}, {"label": "Person", "shortDisplayName": "P"}],
                }
            },
            "EntityRecognizerPOC-1-metadata": {
                "entities": [{"confidence": 0.08}],
                "job-name": "labeling-job/entityrecognizerpoc-1",
                "type": "groundtruth/text-span",
                "creation-date": "2020-04-17T23:27:41.344393",
                "human-annotated": "yes",
            },
        }
    ),
    "text-span (no entities)": encode(text_span([])),
    "video-object-detection": encode(
        line(
            "vehicles-ref",
            "s3://b/out/vod/annotations/consolidated-annotation/output/0/SeqLabel.json",
            meta("groundtruth/video-object-detection", "vod", class_map={"0": "Vehicle", "1": "Person"}),
            source_ref="s3://b/frames/seq-0.json",
        )
    ),
    "video-object-tracking (doc)": encode(
        {
            "source-ref": "s3://b/2020-07-17-21:04:23.025826_seq.json",
            "Person-ref": "s3://b/nfl-example-job/annotations/consolidated-annotation/output/0/SeqLabel.json",
            "Person-ref-metadata": {
                "class-map": {"0": "Helmet"},
                "job-name": "labeling-job/nfl-example-job-2020-07-17-21-04-23",
                "human-annotated": "yes",
                "creation-date": "2020-07-19T16:59:25.570000",
                "type": "groundtruth/video-object-tracking",
            },
        }
    ),
    "point-cloud-object-detection": encode(
        line(
            "cuboids",
            {
                "annotations": [
                    {
                        "label": "Car",
                        "class-id": 0,
                        "center-x": 1.2,
                        "center-y": -3.4,
                        "center-z": 0.5,
                        "length": 4.2,
                        "width": 1.9,
                        "height": 1.6,
                        "roll": 0,
                        "pitch": 0,
                        "yaw": 1.5,
                        "label-category-attributes": {},
                    }
                ]
            },
            meta(
                "groundtruth/point_cloud_object_detection",
                "pc-od",
                objects=[{"confidence": 0.7}],
                class_map={"0": "Car"},
                dataset_object_attributes={},
            ),
            source_ref="s3://b/pc/frame0.txt",
        )
    ),
    "point-cloud-object-detection (class_map spelling)": encode(
        line(
            "cuboids",
            {"annotations": [{"class-id": "1"}]},
            {
                **meta("groundtruth/point_cloud_object_detection", "pc-od", adjustment_status="unadjusted"),
                "class_map": {"1": "Truck"},
                "objects": [{"confidence": 0.4}],
            },
        )
    ),
    "point-cloud-object-tracking": encode(
        line(
            "tracks-ref",
            "s3://b/out/pc-ot/annotations/consolidated-annotation/output/0/SeqLabel.json",
            meta(
                "groundtruth/point_cloud_object_tracking",
                "pc-ot",
                objects=[{"frame-no": 0, "confidence": []}],
                class_map={"0": "Car"},
            ),
            source_ref="s3://b/pc/seq.json",
        )
    ),
    "point-cloud-semantic-segmentation": encode(
        line(
            "seg-ref",
            "s3://b/out/pc-seg/annotations/consolidated-annotation/output/0/frame.zlib",
            seg3d_meta(),
            source_ref="s3://b/pc/frame0.bin",
        )
    ),
    "custom (doc, lambda result)": encode(custom({"annotationsFromAllWorkers": [{"workerId": "private.x"}]})),
    "custom (no lambda, worker-response-ref)": encode(
        custom({}, worker_response_ref="s3://b/out/job/annotations/worker-response/iteration-1/0/t.json")
    ),
    "custom (groundTruth/custom spelling, +0000 date)": encode(
        custom("Response 2", type="groundTruth/custom", creation_date="2019-10-27T10:35:45+0000")
    ),
    "custom (scalar and null labels)": encode(line("free", None, meta("groundtruth/custom", "free"))),
    "unknown groundtruth/* type: common checks only": encode(
        line("future-task", {"anything": [1, "two", None]}, meta("groundtruth/future-task", "future-task"))
    ),
    "unknown type ending in -ref is fine": encode(line("x-ref", 3, meta("groundtruth/future-ref-task", "x"))),
    "automated labeling (human-annotated no)": encode(
        classification() | {"birds-metadata": {**classification()["birds-metadata"], "human-annotated": "no"}}
    ),
    "job_name / creation_date spelling (custom docs)": encode(
        line(
            "free",
            {},
            {
                "type": "groundtruth/custom",
                "job_name": "free",
                "human-annotated": "yes",
                "creation_date": "2024-01-01T00:00:00",
            },
        )
    ),
    "milliseconds date": encode(
        classification()
        | {"birds-metadata": {**classification()["birds-metadata"], "creation-date": "2024-01-01T00:00:00.123"}}
    ),
    "no-fraction date": encode(
        classification()
        | {"birds-metadata": {**classification()["birds-metadata"], "creation-date": "2024-01-01T00:00:00"}}
    ),
    "lower-case z date (RFC 3339)": encode(
        classification()
        | {"birds-metadata": {**classification()["birds-metadata"], "creation-date": "2024-01-01t00:00:00.5z"}}
    ),
    "semantic-segmentation without confidences": encode(
        semseg(internal_color_map={"0": {"class-name": "BACKGROUND", "hex-color": "#FFFFFF"}})
    ),
    "bbox with float coordinates and numeric-string class": encode(
        bbox([{"class_id": "3", "left": 1.5, "top": 0.25, "width": 0, "height": 10.75}])
    ),
    "bbox without image_size": encode(line("cats", {"annotations": []}, bbox([])["cats-metadata"])),
}


@pytest.mark.parametrize("data", list(VALID.values()), ids=list(VALID))
def test_valid_line(data: bytes) -> None:
    result = validate_line(1, data)
    assert result.errors == []
    assert result.status is LineStatus.LABELED
    assert result.pairs and all(not pair.failed for pair in result.pairs)
    # the stream agrees, also once the fast path has learned the line's shape
    report = validate_stream([data + b"\n" + data + b"\n" + data], "m")
    assert (report.lines, report.labeled, report.errors) == (3, 3, [])


def test_valid_lines_all_task_types_mixed_in_one_stream() -> None:
    data = b"\n".join(VALID.values())
    report = validate_stream([data], "m")
    assert (report.lines, report.labeled, report.invalid) == (len(VALID), len(VALID), 0)


@pytest.mark.parametrize(
    ("record", "status", "attributes"),
    [
        pytest.param(classification(), LineStatus.LABELED, ["birds"], id="labeled"),
        pytest.param({"source-ref": "s3://b/1.jpg"}, LineStatus.UNLABELED, [], id="unlabeled-input-line"),
        pytest.param({"source": "free text", "id": 7}, LineStatus.UNLABELED, [], id="unlabeled-text"),
        pytest.param(failed(), LineStatus.FAILED, ["birds"], id="failed"),
        pytest.param(
            failed()
            | {"birds-metadata": {**meta("groundtruth/image-classification", "birds"), "failure-reason": "expired"}},
            LineStatus.FAILED,
            ["birds"],
            id="failed-with-more-metadata",
        ),
        pytest.param({"image": "s3://b/1.jpg"}, LineStatus.INVALID, [], id="invalid"),
        pytest.param(
            bbox()
            | {
                "cats-adjust": bbox()["cats"],
                "cats-adjust-metadata": {**bbox()["cats-metadata"], "adjustment-status": "adjusted"},
            },
            LineStatus.LABELED,
            ["cats", "cats-adjust"],
            id="chain-two-pairs",
        ),
        pytest.param(
            classification() | {"verify-metadata": {"failure-reason": "ClientError: no worker"}},
            LineStatus.FAILED,
            ["birds", "verify"],
            id="chain-second-job-failed",
        ),
        pytest.param(
            {"source-ref": "s3://b/Letter 36.pdf", "annotator-metadata": {"Info": "Annotate Required Entities"}},
            LineStatus.UNLABELED,
            [],
            id="input-key-ending-in-metadata",
        ),
        pytest.param(
            custom() | {"annotator-metadata": {"Info": "Annotate Required Entities"}, "page": "1"},
            LineStatus.LABELED,
            ["legal-entity"],
            id="custom-with-annotator-metadata",
        ),
        pytest.param(
            {
                "source-ref": "s3://b/1.jpg",
                "camera-metadata": "Canon EOS 5D",
                "exif-metadata": None,
                "tags-metadata": ["a", "b"],
            },
            LineStatus.UNLABELED,
            [],
            id="input-keys-ending-in-metadata-not-objects",
        ),
        pytest.param(
            {"source-ref": "s3://b/1.jpg", "-metadata": {"type": "x"}}, LineStatus.UNLABELED, [], id="bare-metadata-key"
        ),
    ],
)
def test_line_classification(record: dict[str, Any], status: LineStatus, attributes: list[str]) -> None:
    result = validate_record(3, record)
    assert result.status is status
    assert [pair.attribute for pair in result.pairs] == attributes
    # and the stream counts it under the same status
    report = validate_stream([orjson.dumps(record)], "m")
    assert getattr(report, status.value) == 1 and report.lines == 1


def test_label_pair_details() -> None:
    result = validate_record(1, failed("worker task expired") | {"source-ref": "s3://b/x.jpg"})
    (pair,) = result.pairs
    assert (pair.failed, pair.failure_reason, pair.label) == (True, "worker task expired", None)
    result = validate_record(1, classification())
    (pair,) = result.pairs
    assert (pair.failed, pair.label, pair.job_name, pair.human_annotated, pair.task_type) == (
        False,
        1,
        "labeling-job/birds",
        True,
        "groundtruth/image-classification",
    )
    assert result.source_ref == "s3://b/img/0001.jpg" and result.source is None


def test_failed_line_needs_no_other_metadata() -> None:
    result = validate_record(1, line("my_attr", MISSING, {"failure-reason": ""}))
    assert result.status is LineStatus.INVALID  # the attribute name is still checked
    assert validate_record(1, line("my-attr", MISSING, {"failure-reason": ""})).status is LineStatus.FAILED


# ---- real samples -------------------------------------------------------------------------------------

REAL_COUNTS = {
    # file: (lines, labeled, unlabeled, failed, invalid)
    "bbox-cat-labels.output.manifest": (4, 4, 0, 0, 0),
    "bbox-with-adjustment-chain.output.manifest": (25, 25, 0, 0, 0),
    "custom-task.output.manifest": (20, 20, 0, 0, 0),
    "image-classification.input.manifest": (119, 0, 119, 0, 0),
    "image-classification.output.manifest": (119, 119, 0, 0, 0),
    "semantic-segmentation.output.manifest": (1, 1, 0, 0, 0),
}


@pytest.mark.parametrize("name", list(REAL_COUNTS))
@pytest.mark.parametrize("chunk", [1 << 20, 4096, 7])
def test_real_manifest_validates_clean(name: str, chunk: int) -> None:
    data = (DATA / name).read_bytes()
    report = validate_stream((data[i : i + chunk] for i in range(0, len(data), chunk)), name)
    assert report.errors == []
    counts = (report.lines, report.labeled, report.unlabeled, report.failed, report.invalid)
    assert counts == REAL_COUNTS[name]
    assert report.ok


@pytest.mark.parametrize("name", list(REAL_COUNTS))
def test_real_manifest_reference_and_fast_path_agree(name: str) -> None:
    fast = FastPath()
    accepted = 0
    for number, data in enumerate(read_lines(name), 1):
        result = validate_line(number, data)
        assert result.errors == [], (number, result.errors)
        hit = fast.accept(data)
        if hit is not None:
            accepted += 1
            assert hit[0].status is result.status
        else:
            fast.learn(result)
    if name != "custom-task.output.manifest":  # its `annotator-metadata` input key keeps it on the reference
        assert accepted == REAL_COUNTS[name][0] - 1  # one shape per file: the fast path takes over from line 2


def test_real_chain_has_two_pairs_with_adjustment_status() -> None:
    for data in read_lines("bbox-with-adjustment-chain.output.manifest"):
        result = validate_line(1, data)
        assert [pair.attribute for pair in result.pairs] == [
            "suneung-korean-layout-detection-v2",
            "suneung-korean-layout-detection-v2-chain",
        ]
        assert result.pairs[1].metadata["adjustment-status"] in ("adjusted", "unadjusted")


def test_real_input_and_output_keep_order_and_source_refs() -> None:
    inputs = read_lines("image-classification.input.manifest")
    outputs = read_lines("image-classification.output.manifest")
    scanned = list(scan_lines(iter([(DATA / "image-classification.output.manifest").read_bytes()])))
    assert [s.source_ref for s in scanned] == [json.loads(x)["source-ref"] for x in inputs]
    assert [s.index for s in scanned] == list(range(len(outputs)))
    assert any("\u200b" in (s.source_ref or "") for s in scanned)  # byte-exact, zero-width spaces kept
    assert all(s.status is LineStatus.LABELED and s.attributes[0][0] == "banana-1" for s in scanned)


def test_real_custom_task_keeps_annotator_metadata_out_of_the_pairs() -> None:
    scanned = list(scan_lines([(DATA / "custom-task.output.manifest").read_bytes()]))
    assert len(scanned) == 20
    for item in scanned:
        assert item.attributes == (
            (
                "legal-entity-label-job-labeling-job-20220104T172242",
                False,
                "legal-entity-label-job-labeling-job-20220104t172242",
            ),
        )
        assert " " in (item.source_ref or "")


def test_real_birds_output_lines() -> None:
    """Ground Truth's own consolidated lines of the birds job (iteration 1)."""
    path = DATA / "birds-image-classification-job" / "iteration-1.output-lines.jsonl"
    entries = [json.loads(text) for text in path.read_text().splitlines()]
    assert len(entries) == 10
    for entry in entries:
        result = validate_record(entry["line_index"] + 1, entry["line"])
        assert result.errors == [] and result.status is LineStatus.LABELED
        assert result.pairs[0].metadata["type"] == "groundtruth/image-classification"
    data = b"\n".join(orjson.dumps(entry["line"]) for entry in entries)
    assert validate_stream([data], "birds").labeled == 10
