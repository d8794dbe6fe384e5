"""Post-annotation mode: Ground Truth invokes us as the annotation-consolidation Lambda of a custom workflow.
consolidate_request on in-memory blobs, then the Lambda handler on moto S3."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Iterator

import boto3
import pytest
from gtproc.adapters.memory import MemoryBlobs
from gtproc.usecases.post_annotation import BadRequest, consolidate_request
from moto import mock_aws

from tests.unit.annotations.annotations_support import FLOWERS, FLOWERS_TREE, NOW, NOW_TEXT

BUCKET = "gt-output-bucket"
REQUEST_KEY = "my-job/annotations/consolidated-annotation/consolidation-request/iteration-1/2021-01-05_01:36:23.json"
REQUEST_URI = f"s3://{BUCKET}/{REQUEST_KEY}"
ARN = "arn:aws:sagemaker:us-east-2:111122223333:labeling-job/my-job"
CATEGORIES = ["Daisy", "Rose", "Sunflower", "Tulip"]
SAMPLE = f"{FLOWERS}/annotations/consolidated-annotation"
REQUEST_1 = json.loads(
    (FLOWERS_TREE / SAMPLE / "consolidation-request/iteration-1/2019-04-18_16:17:40.json").read_bytes()
)
RESPONSE_1 = json.loads(
    (FLOWERS_TREE / SAMPLE / "consolidation-response/iteration-1/2019-04-18_16:17:42.json").read_bytes()
)
METADATA_KEYS = {"class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"}


def event(lan: str = "my-job", categories: list[str] | None = None, uri: str = REQUEST_URI) -> dict:
    """A real-shaped post-annotation event (section 2.2)."""
    body = {
        "version": "2018-10-06",
        "labelingJobArn": ARN,
        "payload": {"s3Uri": uri},
        "labelAttributeName": lan,
        "roleArn": "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole-20210105T013623",
        "outputConfig": f"s3://{BUCKET}/my-job/annotations",
        "maxHumanWorkersPerDataObject": 3,
    }
    if categories is not None:
        body["labelCategories"] = categories
    return body


def blobs_with(request: list[dict] | bytes) -> MemoryBlobs:
    blobs = MemoryBlobs()
    blobs.write(BUCKET, REQUEST_KEY, request if isinstance(request, bytes) else json.dumps(request).encode())
    return blobs


def run(request: list[dict] | bytes, **kwargs) -> list[dict]:
    return consolidate_request(event(**kwargs), blobs_with(request), clock=lambda: NOW).response


def test_response_shape_and_ground_truth_labels():
    response = run(REQUEST_1, categories=CATEGORIES)

    assert [item["datasetObjectId"] for item in response] == [item["datasetObjectId"] for item in REQUEST_1]
    theirs = {item["datasetObjectId"]: item["consolidatedAnnotation"]["content"] for item in RESPONSE_1}
    for item in response:
        assert set(item) == {"datasetObjectId", "consolidatedAnnotation"}
        assert set(item["consolidatedAnnotation"]) == {"content"}
        content = item["consolidatedAnnotation"]["content"]
        assert set(content) == {"my-job", "my-job-metadata"}
        metadata = content["my-job-metadata"]
        assert set(metadata) == METADATA_KEYS
        assert type(content["my-job"]) is int
        assert metadata["job-name"] == "labeling-job/my-job"
        assert (metadata["type"], metadata["human-annotated"]) == ("groundtruth/image-classification", "yes")
        assert metadata["creation-date"] == NOW_TEXT
        assert 0 <= metadata["confidence"] <= 1
        gt = theirs[item["datasetObjectId"]]
        assert metadata["class-name"] == gt[f"{FLOWERS}-metadata"]["class-name"]
        assert content["my-job"] == gt[FLOWERS]  # same categories, same index
    json.dumps(response)  # what Lambda returns must serialize


def test_class_index_follows_label_categories():
    categories = ["Tulip", "Sunflower", "Rose", "Daisy"]
    for item in run(REQUEST_1, categories=categories):
        content = item["consolidatedAnnotation"]["content"]
        assert categories[content["my-job"]] == content["my-job-metadata"]["class-name"]


def test_without_label_categories_indexes_follow_sorted_names():
    for item in run(REQUEST_1):
        content = item["consolidatedAnnotation"]["content"]
        assert CATEGORIES[content["my-job"]] == content["my-job-metadata"]["class-name"]


def test_unsorted_dataset_object_ids_keep_the_request_order():
    unsorted = [
        dict(item, datasetObjectId=oid) for item, oid in zip(REQUEST_1[:4], ["7", "5", "12", "10"], strict=True)
    ]
    assert [item["datasetObjectId"] for item in run(unsorted)] == ["7", "5", "12", "10"]


def test_annotation_given_as_s3_uri_is_fetched():
    request = copy.deepcopy(REQUEST_1[:2])
    blobs = blobs_with(request)
    # object "7": every annotation by reference; the inline content is stored at the URI
    for n, annotation in enumerate(request[0]["annotations"]):
        key = f"my-job/annotations/worker-response-data/7/{n}.json"
        blobs.write(BUCKET, key, annotation["annotationData"]["content"].encode())
        annotation["annotationData"] = {"s3Uri": f"s3://{BUCKET}/{key}"}
    blobs.write(BUCKET, REQUEST_KEY, json.dumps(request).encode())

    by_reference = consolidate_request(event(categories=CATEGORIES), blobs, clock=lambda: NOW)
    inline = run(REQUEST_1[:2], categories=CATEGORIES)

    assert by_reference.failures == []
    assert by_reference.response == inline


def test_unreadable_annotations_leave_the_object_out():
    request = copy.deepcopy(REQUEST_1[:3])
    for annotation in request[1]["annotations"]:
        annotation["annotationData"] = {"s3Uri": f"s3://{BUCKET}/my-job/gone/{uuid.uuid4()}.json"}
    result = consolidate_request(event(), blobs_with(request), clock=lambda: NOW)
    assert [item["datasetObjectId"] for item in result.response] == [
        request[0]["datasetObjectId"],
        request[2]["datasetObjectId"],
    ]
    assert [oid for oid, _ in result.failures] == [request[1]["datasetObjectId"]]


@pytest.mark.parametrize(
    ("uri", "stored"),
    [
        ("https://example.com/answer.json", None),  # not an s3:// URI
        (f"s3://{BUCKET}", None),  # no key
        (f"s3://{BUCKET}/my-job/refs/latin1.json", b'{"crowd-image-classifier":{"label":"R\xf6se"}}'),  # not UTF-8
    ],
)
def test_annotation_reference_that_cannot_be_read_is_left_out(uri: str, stored: bytes | None):
    request = copy.deepcopy(REQUEST_1[:2])
    for annotation in request[1]["annotations"]:
        annotation["annotationData"] = {"s3Uri": uri}
    blobs = blobs_with(request)
    if stored is not None:
        blobs.write(BUCKET, uri.removeprefix(f"s3://{BUCKET}/"), stored)
    result = consolidate_request(event(), blobs, clock=lambda: NOW)
    assert [item["datasetObjectId"] for item in result.response] == [request[0]["datasetObjectId"]]
    assert [oid for oid, _ in result.failures] == [request[1]["datasetObjectId"]]


def test_result_reports_method_and_task_type():
    result = consolidate_request(event(), blobs_with(REQUEST_1), method="majority-vote", clock=lambda: NOW)
    assert (result.method, result.task_type) == ("majority-vote", "image-classification")


def test_bounding_box_request():
    request_file = (
        "cars-bbox/annotations/consolidated-annotation/consolidation-request/iteration-1/2024-03-12_09:26:16.json"
    )
    request = json.loads((FLOWERS_TREE.parent / "bbox-three-iterations" / request_file).read_bytes())
    response = run(request, lan="cars", categories=["car", "truck", "bus"])
    assert [item["datasetObjectId"] for item in response] == [item["datasetObjectId"] for item in request]
    for item in response:
        content = item["consolidatedAnnotation"]["content"]
        assert set(content["cars"]) == {"image_size", "annotations"}
        assert content["cars-metadata"]["type"] == "groundtruth/object-detection"
        assert len(content["cars-metadata"]["objects"]) == len(content["cars"]["annotations"])


@pytest.mark.parametrize(
    ("bad_event", "request_body", "message"),
    [
        (None, REQUEST_1, "not a post-annotation event"),
        ("a string", REQUEST_1, "not a post-annotation event"),
        ({"payload": {"s3Uri": REQUEST_URI}, "labelAttributeName": "x"}, REQUEST_1, "labelingJobArn"),
        ({**event(), "payload": {}}, REQUEST_1, "payload.s3Uri"),
        ({**event(), "payload": {"s3Uri": ""}}, REQUEST_1, "payload.s3Uri"),
        ({**event(), "payload": {"s3Uri": "https://example.com/request.json"}}, REQUEST_1, "s3://"),
        ({**event(), "payload": {"s3Uri": f"s3://{BUCKET}"}}, REQUEST_1, "s3://"),
        (event(uri=f"s3://{BUCKET}/my-job/missing.json"), REQUEST_1, "does not exist"),
        (event(), b"{not json", "is not a consolidation request"),
        (event(), [{"datasetObjectId": 7}], "is not a consolidation request"),
        (event(), b'{"datasetObjectId":"7"}', "is not a consolidation request"),
    ],
)
def test_bad_event_or_request_raises_bad_request(bad_event, request_body, message):
    with pytest.raises(BadRequest) as raised:
        consolidate_request(bad_event, blobs_with(request_body), clock=lambda: NOW)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text.strip()


def test_empty_request_is_an_empty_response():
    result = consolidate_request(event(), blobs_with([]), clock=lambda: NOW)
    assert (result.response, result.failures) == ([], [])


# ---- the Lambda handler on moto S3 ---------------------------------------------------------------


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    from gtproc.handlers import post_annotation, wiring

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-2",
        "AWS_REGION": "us-east-2",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    post_annotation.logger.setLevel("WARNING")
    with mock_aws():
        wiring.reset()
        client = boto3.client("s3", region_name="us-east-2")
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "us-east-2"})
        yield client
    wiring.reset()


def test_lambda_handler_on_s3(s3, lambda_context):
    from gtproc.handlers.post_annotation import handler

    s3.put_object(Bucket=BUCKET, Key=REQUEST_KEY, Body=json.dumps(REQUEST_1).encode())

    response = handler(event(), lambda_context)

    assert [item["datasetObjectId"] for item in response] == [item["datasetObjectId"] for item in REQUEST_1]
    theirs = {item["datasetObjectId"]: item["consolidatedAnnotation"]["content"] for item in RESPONSE_1}
    for item in response:
        content = item["consolidatedAnnotation"]["content"]
        assert set(content) == {"my-job", "my-job-metadata"}
        assert content["my-job-metadata"]["job-name"] == "labeling-job/my-job"
        assert (
            content["my-job-metadata"]["class-name"]
            == theirs[item["datasetObjectId"]][f"{FLOWERS}-metadata"]["class-name"]
        )
    assert json.loads(json.dumps(response)) == response


def test_lambda_handler_fetches_s3_uri_annotations(s3, lambda_context):
    from gtproc.handlers.post_annotation import handler

    request = copy.deepcopy(REQUEST_1[:1])
    annotation = request[0]["annotations"][0]
    s3.put_object(Bucket=BUCKET, Key="my-job/refs/0.json", Body=annotation["annotationData"]["content"].encode())
    annotation["annotationData"] = {"s3Uri": f"s3://{BUCKET}/my-job/refs/0.json"}
    s3.put_object(Bucket=BUCKET, Key=REQUEST_KEY, Body=json.dumps(request).encode())

    [item] = handler(event(categories=CATEGORIES), lambda_context)
    assert item["datasetObjectId"] == request[0]["datasetObjectId"]
    content = item["consolidatedAnnotation"]["content"]
    assert CATEGORIES[content["my-job"]] == content["my-job-metadata"]["class-name"]


def test_lambda_handler_missing_request_is_bad_request(s3, lambda_context):
    from gtproc.handlers.post_annotation import handler

    with pytest.raises(BadRequest, match="does not exist"):
        handler(event(), lambda_context)


def test_an_annotation_reference_denied_by_s3_leaves_only_that_answer_out():
    from botocore.exceptions import ClientError

    request = copy.deepcopy(REQUEST_1[:2])
    denied_key = "my-job/elsewhere/denied.json"
    request[0]["annotations"][0]["annotationData"] = {"s3Uri": f"s3://{BUCKET}/{denied_key}"}
    blobs = blobs_with(request)
    read = blobs.read

    def read_or_deny(bucket: str, key: str) -> bytes | None:
        if key == denied_key:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        return read(bucket, key)

    blobs.read = read_or_deny  # type: ignore[method-assign]
    result = consolidate_request(event(), blobs, clock=lambda: NOW)

    assert [item["datasetObjectId"] for item in result.response] == [r["datasetObjectId"] for r in request]
    assert result.failures == []


def test_lambda_handler_logs_an_answer_that_goes_into_no_label(s3, lambda_context, monkeypatch):
    import io

    from gtproc.handlers.post_annotation import handler, logger

    request = copy.deepcopy(REQUEST_1[:1])
    request[0]["annotations"].append(
        {"workerId": "stray", "annotationData": {"content": '{"crowd-image-classifier": {}}'}}
    )
    s3.put_object(Bucket=BUCKET, Key=REQUEST_KEY, Body=json.dumps(request).encode())
    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)

    [item] = handler(event(), lambda_context)

    assert item["datasetObjectId"] == request[0]["datasetObjectId"]
    logged = [json.loads(line) for line in stream.getvalue().splitlines()]
    unused = [entry for entry in logged if entry["message"] == "answer not used"]
    assert [(e["workerId"], e["reason"], e["level"]) for e in unused] == [("stray", "no label", "WARNING")]
