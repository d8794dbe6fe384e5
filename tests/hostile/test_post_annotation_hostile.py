"""The post-annotation Lambda's use case on a hostile consolidation request: an object whose answers
cannot be read is left out (Ground Truth records it as failed) and the request's other objects are
still consolidated; the response is JSON that Ground Truth can read (no NaN)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryBlobs
from gtproc.usecases.post_annotation import consolidate_request

from tests.hostile import corpus

BUCKET = "gt-output-bucket"
KEY = "my-job/annotations/consolidated-annotation/consolidation-request/iteration-1/2021-01-05_01:36:23.json"
EVENT = {
    "version": "2018-10-06",
    "labelingJobArn": "arn:aws:sagemaker:us-east-2:111122223333:labeling-job/my-job",
    "payload": {"s3Uri": f"s3://{BUCKET}/{KEY}"},
    "labelAttributeName": "my-job",
    "outputConfig": f"s3://{BUCKET}/my-job/annotations",
}


def item(oid: str, *contents: str) -> dict[str, Any]:
    annotations = [{"workerId": f"w{n}", "annotationData": {"content": content}} for n, content in enumerate(contents)]
    return {"datasetObjectId": oid, "dataObject": {"s3Uri": f"s3://in/{oid}.jpg"}, "annotations": annotations}


def label(name: str) -> str:
    return json.dumps({"crowd-image-classifier": {"label": name}})


def boxes(left: str) -> str:
    box = '{"label":"car","left":' + left + ',"top":1,"width":2,"height":3}'
    return '{"boundingBox":{"boundingBoxes":[' + box + "]}}"


HOSTILE = {
    "deep": corpus.deep_array().decode(),
    "nan-label": '{"crowd-image-classifier":{"label":NaN}}',
    "truncated": '{"crowd-image-classifier":',
    "huge-integer": '{"crowd-image-classifier":{"label":' + corpus.huge_integer().decode() + "}}",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_an_unreadable_object_is_left_out_and_the_others_consolidated(name: str) -> None:
    request = [item("0", label("cat"), label("cat")), item("1", HOSTILE[name], HOSTILE[name])]
    blobs = MemoryBlobs()
    blobs.write(BUCKET, KEY, json.dumps(request).encode())

    result = consolidate_request(EVENT, blobs, clock=lambda: 1_700_000_000.0)

    assert [line["datasetObjectId"] for line in result.response] == ["0"]
    assert [oid for oid, _ in result.failures] == ["1"]


def test_nan_in_a_box_is_no_number_in_the_response() -> None:
    request = [item("0", boxes("10"), boxes("NaN"), boxes("Infinity"))]
    blobs = MemoryBlobs()
    blobs.write(BUCKET, KEY, json.dumps(request).encode())

    result = consolidate_request(EVENT, blobs, clock=lambda: 1_700_000_000.0)

    text = json.dumps(result.response, allow_nan=False)  # raises on NaN or Infinity
    (line,) = json.loads(text)
    (annotation,) = line["consolidatedAnnotation"]["content"]["my-job"]["annotations"]
    assert math.isclose(annotation["left"], 10)


def test_an_object_over_a_bound_is_left_out_and_the_request_still_answered() -> None:
    """It raised for the whole batch: Ground Truth would have failed every object of the request."""
    many = [label(f"class-{n}") for n in range(1001)]
    request = [item("0", label("cat"), label("cat")), item("1", *many), item("2", label("dog"))]
    blobs = MemoryBlobs()
    blobs.write(BUCKET, KEY, json.dumps(request).encode())

    result = consolidate_request(EVENT, blobs, clock=lambda: 1_700_000_000.0)

    assert [line["datasetObjectId"] for line in result.response] == ["0", "2"]
    ((oid, reason),) = result.failures
    assert oid == "1" and "over the limit" in reason


def test_objects_within_a_bound_alone_but_over_it_together_are_each_answered() -> None:
    """400 classes each pass one at a time, 1,200 together are over the 1,000 the batch may hold."""
    request = [item(str(o), *[label(f"o{o}-class-{n}") for n in range(400)]) for o in range(3)]
    blobs = MemoryBlobs()
    blobs.write(BUCKET, KEY, json.dumps(request).encode())

    result = consolidate_request(EVENT, blobs, clock=lambda: 1_700_000_000.0)

    assert [line["datasetObjectId"] for line in result.response] == ["0", "1", "2"]
    assert result.failures == []


def test_a_stray_answer_of_another_type_is_unused_and_the_job_keeps_its_type() -> None:
    # Before: answers of two built-in types sent the whole request down the custom path, so every
    # object came back in the custom shape, which a classification job cannot use.
    request = [item("0", label("cat"), label("cat"), boxes("1")), item("1", label("dog"), label("dog"))]
    blobs = MemoryBlobs()
    blobs.write(BUCKET, KEY, json.dumps(request).encode())

    result = consolidate_request(EVENT, blobs, clock=lambda: 1_700_000_000.0)

    assert result.task_type is not None and result.task_type.value == "image-classification"
    names = [line["consolidatedAnnotation"]["content"]["my-job-metadata"]["class-name"] for line in result.response]
    assert names == ["cat", "dog"]
    assert [(u.dataset_object_id, u.worker_id) for u in result.unused] == [("0", "w2")]
