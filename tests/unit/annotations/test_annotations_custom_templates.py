"""Post-annotation Lambda on custom templates: answers read by shape whatever the element names,
AWS's own sample request run through the handler on moto S3, and nothing that fails the whole request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gtproc.adapters.memory import MemoryBlobs
from gtproc.usecases.post_annotation import consolidate_request

from tests.unit.annotations.annotations_support import NOW, NOW_TEXT
from tests.unit.annotations.test_annotations_post_annotation import BUCKET, REQUEST_KEY, event, s3  # noqa: F401

RECIPE = Path(__file__).parent / "data" / "aws-recipe"
SAMPLE_EVENT = json.loads((RECIPE / "annotation_consolidation_test_event.json").read_text())
SAMPLE_PAYLOAD = (RECIPE / "sample_annotation_consolidation_payload.json").read_bytes()
SAMPLE_WORKER = "private.us-east-1.CYUQXZT3LFXJIUFCZMZ6HC2KFM"


def _expected_sample(creation_date: str) -> list[dict]:
    """Worked by hand from the payload: one worker per image, so each box is kept as drawn with
    confidence 1.0; classes are the sorted names (Green=0, Red=1); boxes in (top, left) order;
    depth defaults to 3; the element keeps its template name, annotatedResult."""

    def item(oid: str, size: tuple[int, int], annotations: list[dict]) -> dict:
        lan = "test-label-attribute"
        return {
            "datasetObjectId": oid,
            "consolidatedAnnotation": {
                "content": {
                    lan: {
                        "annotatedResult": {
                            "image_size": [{"width": size[0], "height": size[1], "depth": 3}],
                            "annotations": annotations,
                        }
                    },
                    f"{lan}-metadata": {
                        "type": "groundtruth/custom",
                        "job-name": "labeling-job/test-labeling-job",
                        "human-annotated": "yes",
                        "creation-date": creation_date,
                        "consolidated": True,
                        "elements": {
                            "annotatedResult": {
                                "shape": "boxes",
                                "consolidated": True,
                                "method": "iou-cluster-median",
                                "objects": [{"confidence": 1.0}, {"confidence": 1.0}],
                                "class-map": {"0": "Green", "1": "Red"},
                            }
                        },
                    },
                }
            },
        }

    return [
        item(
            "0",
            (640, 432),
            [
                {"class_id": 0, "left": 418, "top": 281, "width": 138, "height": 141},
                {"class_id": 1, "left": 116, "top": 283, "width": 137, "height": 128},
            ],
        ),
        item(
            "2",
            (1000, 1000),
            [
                {"class_id": 0, "left": 76, "top": 485, "width": 182, "height": 192},
                {"class_id": 1, "left": 414, "top": 516, "width": 205, "height": 186},
            ],
        ),
    ]


def test_aws_sample_request_through_the_handler_on_moto(s3, lambda_context):  # noqa: F811
    from gtproc.handlers.post_annotation import handler

    s3.create_bucket(Bucket="test-bucket", CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
    s3.put_object(Bucket="test-bucket", Key="sample_annotation_consolidation_payload.json", Body=SAMPLE_PAYLOAD)

    response = handler(SAMPLE_EVENT, lambda_context)

    dates = {
        item["consolidatedAnnotation"]["content"]["test-label-attribute-metadata"]["creation-date"] for item in response
    }
    [date] = dates
    assert len(date) == len("2026-01-01T00:00:00.000000")
    assert response == _expected_sample(date)
    assert json.loads(json.dumps(response)) == response


def run(request: list[dict], **kwargs):
    blobs = MemoryBlobs()
    blobs.write(BUCKET, REQUEST_KEY, json.dumps(request).encode())
    return consolidate_request(event(**kwargs), blobs, clock=lambda: NOW), blobs


def request_of(objects: dict[str, list[tuple[str, dict]]]) -> list[dict]:
    return [
        {
            "datasetObjectId": oid,
            "dataObject": {"s3Uri": f"s3://in/{oid}.jpg"},
            "annotations": [{"workerId": w, "annotationData": {"content": json.dumps(c)}} for w, c in answers],
        }
        for oid, answers in objects.items()
    ]


def test_unknown_shape_is_passed_through_with_every_worker_answer():
    answers = [("w1", {"notes": {"text": "blurry"}, "score": 4}), ("w2", {"notes": {"text": "fine"}, "score": 5})]
    result, _ = run(request_of({"1": answers}))
    [item] = result.response
    content = item["consolidatedAnnotation"]["content"]
    assert content["my-job"] == {
        "notes": {
            "annotationsFromAllWorkers": [
                {"workerId": "w1", "answerContent": {"text": "blurry"}},
                {"workerId": "w2", "answerContent": {"text": "fine"}},
            ]
        },
        "score": {
            "annotationsFromAllWorkers": [
                {"workerId": "w1", "answerContent": 4},
                {"workerId": "w2", "answerContent": 5},
            ]
        },
    }
    metadata = content["my-job-metadata"]
    assert metadata["consolidated"] is False
    assert metadata["elements"]["notes"] == {"shape": "unknown", "consolidated": False}
    assert (metadata["type"], metadata["creation-date"]) == ("groundtruth/custom", NOW_TEXT)


def test_two_elements_each_consolidated_under_its_own_name():
    def answer(label: str, x: int) -> dict:
        return {
            "species": {"label": label},
            "landmarks": {
                "keypoints": [{"label": "beak", "x": x, "y": 40}],
                "inputImageProperties": {"width": 200, "height": 100},
            },
        }

    result, _ = run(
        request_of({"3": [("w1", answer("Owl", 50)), ("w2", answer("Owl", 52)), ("w3", answer("Hawk", 54))]})
    )
    content = result.response[0]["consolidatedAnnotation"]["content"]
    assert content["my-job"]["species"] == 1  # classes sorted: Hawk=0, Owl=1; two of three say Owl
    assert content["my-job"]["landmarks"]["keypoints"] == [{"label": "beak", "x": 52, "y": 40}]
    elements = content["my-job-metadata"]["elements"]
    assert elements["species"]["class-name"] == "Owl"
    assert elements["species"]["shape"] == "single-label"
    assert elements["landmarks"]["keypoints"] == [{"confidence": 1.0}]
    assert content["my-job-metadata"]["consolidated"] is True


def test_mixed_built_in_types_and_broken_answers_do_not_fail_the_request():
    request = request_of(
        {
            # Two families, one answer each: no majority says which the job is, so each element is read by shape.
            "1": [
                ("w1", {"crowd-image-classifier": {"label": "cat"}}),
                (
                    "w2",
                    {
                        "boundingBox": {
                            "boundingBoxes": [{"label": "car", "left": 1, "top": 1, "width": 2, "height": 2}]
                        }
                    },
                ),
            ],
        }
    )
    request.append(
        {
            "datasetObjectId": "2",
            "dataObject": {},
            "annotations": [{"workerId": "w1", "annotationData": {"content": "{broken"}}],
        }
    )
    result, _ = run(request)
    assert [item["datasetObjectId"] for item in result.response] == ["1"]
    elements = result.response[0]["consolidatedAnnotation"]["content"]["my-job-metadata"]["elements"]
    assert set(elements) == {"crowd-image-classifier", "boundingBox"}
    [(oid, reason)] = result.failures
    assert oid == "2" and "not valid JSON" in reason


@pytest.mark.parametrize(
    ("element", "expected_shape"),
    [
        (
            {
                "boundingBoxes": [{"label": "car", "left": 1, "top": 2, "width": 3, "height": 4}],
                "inputImageProperties": {"width": 10, "height": 10},
            },
            "boxes",
        ),
        ({"label": "yes"}, "single-label"),
        ({"labels": ["a", "b"]}, "multi-label"),
        ({"entities": [{"label": "PER", "startOffset": 0, "endOffset": 4}]}, "spans"),
        ({"keypoints": [{"label": "eye", "x": 3, "y": 4}]}, "keypoints"),
        (
            {"polygons": [{"label": "roof", "vertices": [{"x": 0, "y": 0}, {"x": 4, "y": 0}, {"x": 0, "y": 4}]}]},
            "polygons",
        ),
    ],
)
def test_each_shape_under_a_custom_name(element, expected_shape):
    result, _ = run(request_of({"5": [("w1", {"myElement": element}), ("w2", {"myElement": element})]}))
    content = result.response[0]["consolidatedAnnotation"]["content"]
    meta = content["my-job-metadata"]["elements"]["myElement"]
    assert (meta["shape"], meta["consolidated"]) == (expected_shape, True)
    label = content["my-job"]["myElement"]
    if expected_shape == "keypoints":
        assert label["keypoints"] == element["keypoints"]
    if expected_shape == "polygons":
        assert label["polygons"] == element["polygons"]
    if expected_shape == "spans":
        assert label["annotations"]["entities"] == element["entities"]
    if expected_shape == "boxes":
        assert label["annotations"] == [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}]
    if expected_shape == "multi-label":
        assert label == [0, 1]


# ---- the annotations pipeline on a custom-template job ------------------------------------------


def test_pipeline_gives_a_custom_template_job_the_post_annotation_consolidation():
    from gtproc.usecases.ports import DescribedBy, JobInfo

    from tests.unit.annotations.annotations_support import Harness, worker_file, worker_key

    answers = [
        {"workerId": w, "answerContent": c}
        for w, c in (
            (
                "w1",
                {
                    "annotatedResult": {
                        "polygons": [
                            {"label": "roof", "vertices": [{"x": 0, "y": 0}, {"x": 8, "y": 0}, {"x": 0, "y": 8}]}
                        ]
                    },
                    "note": "ok",
                },
            ),
            (
                "w2",
                {
                    "annotatedResult": {
                        "polygons": [
                            {"label": "roof", "vertices": [{"x": 0, "y": 0}, {"x": 9, "y": 0}, {"x": 0, "y": 9}]}
                        ]
                    },
                    "note": "hm",
                },
            ),
        )
    ]
    info = JobInfo(label_attribute_name="roofs", source=DescribedBy.SAGEMAKER, custom_template=True)
    harness = Harness({"roofs": info})
    outcome = harness(harness.put(worker_key("roofs", 1, 4), worker_file(*answers)))
    assert outcome.status == "processed"
    [detail] = harness.events("Annotations Consolidated")
    assert detail["taskType"] == "groundtruth/custom"

    request = request_of({"4": [(a["workerId"], a["answerContent"]) for a in answers]})
    result, _ = run(request, lan="roofs")
    expected = result.response[0]["consolidatedAnnotation"]["content"]
    assert detail["label"] == expected["roofs"]
    assert detail["metadata"] == {
        **expected["roofs-metadata"],
        "job-name": "labeling-job/roofs",
    }  # the request's job is my-job
    assert detail["label"]["note"]["annotationsFromAllWorkers"][0] == {"workerId": "w1", "answerContent": "ok"}


def test_describe_marks_a_custom_template_job():
    from gtproc.adapters.sagemaker import SageMakerJobs

    from tests.unit.annotations.test_annotations_sagemaker import (
        JOB,
        REGION,
        category_blobs,
        describe_response,
        stubbed,
    )

    custom = f"arn:aws:lambda:{REGION}:123456789012:function:gtproc-post-annotation"
    client, _ = stubbed(describe_response(consolidation_arn=custom))
    info = SageMakerJobs(client, objects=category_blobs()).describe(JOB)  # type: ignore[arg-type]
    assert info is not None and (info.task_type, info.custom_template) == (None, True)
    client, _ = stubbed(describe_response())  # the built-in ACS-BoundingBox
    info = SageMakerJobs(client, objects=category_blobs()).describe(JOB)  # type: ignore[arg-type]
    assert info is not None and (info.task_type, info.custom_template) == ("object-detection", False)


def test_pipeline_passes_an_unknown_shape_through_instead_of_rejecting_it():
    from tests.unit.annotations.annotations_support import Harness, worker_file, worker_key

    harness = Harness()
    outcome = harness(
        harness.put(worker_key("forms", 1, 0), worker_file({"workerId": "w1", "answerContent": {"my-form": {"x": 1}}}))
    )
    assert outcome.status == "processed"
    [detail] = harness.events("Annotations Consolidated")
    assert detail["label"] == {
        "my-form": {"annotationsFromAllWorkers": [{"workerId": "w1", "answerContent": {"x": 1}}]}
    }
    assert detail["metadata"]["consolidated"] is False


def test_mask_element_is_written_next_to_ground_truths_masks():
    import base64

    import numpy as np
    from gtproc.domain.consolidation import decode_png, encode_png

    pixels = np.zeros((2, 3, 3), np.uint8)
    pixels[0, :, 1] = 255  # top row green
    element = {
        "labeledImage": {"pngImageData": base64.b64encode(encode_png(pixels)).decode()},
        "labelMappings": {"grass": {"color": "#00ff00"}},
    }
    result, blobs = run(request_of({"9": [("w1", {"area": element}), ("w2", {"area": element})]}))
    content = result.response[0]["consolidatedAnnotation"]["content"]
    uri = content["my-job"]["area"]
    assert uri.startswith(f"s3://{BUCKET}/my-job/annotations/consolidated-annotation/output/9_") and uri.endswith(
        "-area.png"
    )
    mask = decode_png(blobs.read(BUCKET, uri.removeprefix(f"s3://{BUCKET}/")))
    assert mask.shape[:2] == (2, 3)
    assert mask[0, 0, :3].tolist() == [0, 255, 0] and mask[1, 0, :3].tolist() == [255, 255, 255]
    color_map = content["my-job-metadata"]["elements"]["area"]["internal-color-map"]
    assert color_map["1"]["class-name"] == "grass" and color_map["1"]["hex-color"] == "#00ff00"
