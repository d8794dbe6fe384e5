"""The SageMaker adapter on botocore's Stubber (moto has no labeling-job API): DescribeLabelingJob -> JobInfo,
the label category file, the ACS consolidation functions, and the fallback when a job cannot be described."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from gtproc.adapters.memory import MemoryBlobs
from gtproc.adapters.s3 import S3Objects
from gtproc.adapters.sagemaker import SageMakerJobs, categories_of
from gtproc.domain.groundtruth import task_of_consolidation_arn
from gtproc.usecases.ports import DescribedBy, JobInfo
from moto import mock_aws

from tests.unit.annotations.annotations_support import CARS, CARS_TREE, CONSOLIDATED, Harness

REGION = "us-east-1"
JOB = "cars-bbox"
CATEGORIES_URI = "s3://gt-input-bucket/cars/annotation-tool/data.json"
CATEGORY_FILE = {
    "document-version": "2018-11-28",
    "labels": [{"label": "car"}, {"label": "truck"}, {"label": "bus"}],
}
BBOX_ARN = f"arn:aws:lambda:{REGION}:432418664414:function:ACS-BoundingBox"


def describe_response(
    job: str = JOB,
    attribute: str | None = "cars-bbox-label",
    categories_uri: str | None = CATEGORIES_URI,
    consolidation_arn: str | None = BBOX_ARN,
    workers: int = 3,
) -> dict:
    human = {
        "WorkteamArn": f"arn:aws:sagemaker:{REGION}:394669845002:workteam/public-crowd/default",
        "UiConfig": {"UiTemplateS3Uri": "s3://gt-input-bucket/cars/template.liquid"},
        "PreHumanTaskLambdaArn": f"arn:aws:lambda:{REGION}:432418664414:function:PRE-BoundingBox",
        "TaskTitle": "Draw boxes around cars",
        "TaskDescription": "Draw a box around every vehicle",
        "NumberOfHumanWorkersPerDataObject": workers,
        "TaskTimeLimitInSeconds": 300,
    }
    if consolidation_arn is not None:
        human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": consolidation_arn}
    now = datetime(2024, 3, 12, 9, 0, tzinfo=UTC)
    response = {
        "LabelingJobStatus": "InProgress",
        "LabelCounters": {"TotalLabeled": 10, "HumanLabeled": 10, "MachineLabeled": 0, "Unlabeled": 20},
        "CreationTime": now,
        "LastModifiedTime": now,
        "JobReferenceCode": "abc123",
        "LabelingJobName": job,
        "LabelingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/{job}",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://gt-input-bucket/cars/input.manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://gt-output-bucket/"},
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole",
        "HumanTaskConfig": human,
    }
    if attribute is not None:
        response["LabelAttributeName"] = attribute
    if categories_uri is not None:
        response["LabelCategoryConfigS3Uri"] = categories_uri
    return response


def stubbed(*responses: dict | str) -> tuple[object, Stubber]:
    """A SageMaker client answering DescribeLabelingJob with the given responses (a str: that error code)."""
    client = boto3.client("sagemaker", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    for response in responses:
        if isinstance(response, str):
            stubber.add_client_error(
                "describe_labeling_job", service_error_code=response, service_message="Requested resource not found."
            )
        else:
            stubber.add_response("describe_labeling_job", response, {"LabelingJobName": response["LabelingJobName"]})
    stubber.activate()
    return client, stubber


def category_blobs(document: object = CATEGORY_FILE) -> MemoryBlobs:
    blobs = MemoryBlobs()
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    blobs.write("gt-input-bucket", "cars/annotation-tool/data.json", body)
    return blobs


def test_bounding_box_job_with_label_categories():
    client, stubber = stubbed(describe_response())
    info = SageMakerJobs(client, objects=category_blobs()).describe(JOB)  # type: ignore[arg-type]
    assert info == JobInfo(
        label_attribute_name="cars-bbox-label",
        categories=("car", "truck", "bus"),
        task_type="object-detection",
        workers_per_object=3,
        source=DescribedBy.SAGEMAKER,
        output_path="s3://gt-output-bucket/",
        input_manifest_uri="s3://gt-input-bucket/cars/input.manifest",  # InputConfig: the lines' sources
    )
    stubber.assert_no_pending_responses()


def test_category_file_served_by_s3():
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="gt-input-bucket")
        s3.put_object(Bucket="gt-input-bucket", Key="cars/annotation-tool/data.json", Body=json.dumps(CATEGORY_FILE))
        client, _ = stubbed(describe_response())
        info = SageMakerJobs(client, objects=S3Objects(s3)).describe(JOB)
    assert info is not None and info.categories == ("car", "truck", "bus")


@pytest.mark.parametrize("error", ["ResourceNotFound", "AccessDeniedException", "ValidationException"])
def test_a_job_that_cannot_be_described_is_none(error: str):
    client, stubber = stubbed(error)
    assert SageMakerJobs(client, objects=category_blobs()).describe(JOB) is None  # type: ignore[arg-type]
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("blobs", "why"),
    [(MemoryBlobs(), "missing"), (category_blobs(b"{not json"), "not-json"), (category_blobs({"labels": []}), "empty")],
)
def test_unreadable_category_file_leaves_categories_unknown(blobs: MemoryBlobs, why: str):
    client, _ = stubbed(describe_response())
    info = SageMakerJobs(client, objects=blobs).describe(JOB)  # type: ignore[arg-type]
    assert info is not None, why
    assert info.categories is None
    assert (info.label_attribute_name, info.task_type) == ("cars-bbox-label", "object-detection")


def test_job_without_category_file_consolidation_function_or_attribute():
    response = describe_response(attribute=None, categories_uri=None, consolidation_arn=None, workers=1)
    client, _ = stubbed(response)
    info = SageMakerJobs(client, objects=MemoryBlobs()).describe(JOB)  # type: ignore[arg-type]
    assert info == JobInfo(
        label_attribute_name=JOB,
        workers_per_object=1,
        source=DescribedBy.SAGEMAKER,
        output_path="s3://gt-output-bucket/",
        input_manifest_uri="s3://gt-input-bucket/cars/input.manifest",
    )


def test_custom_consolidation_lambda_leaves_the_task_to_the_answers():
    custom = f"arn:aws:lambda:{REGION}:123456789012:function:my-post-annotation"
    client, _ = stubbed(describe_response(consolidation_arn=custom))
    info = SageMakerJobs(client, objects=category_blobs()).describe(JOB)  # type: ignore[arg-type]
    assert info is not None and info.task_type is None


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("ACS-ImageMultiClass", "image-classification"),
        ("ACS-ImageMultiClassMultiLabel", "image-classification-multilabel"),
        ("ACS-TextMultiClass", "text-classification"),
        ("ACS-TextMultiClassMultiLabel", "text-classification-multilabel"),
        ("ACS-BoundingBox", "object-detection"),
        ("ACS-AdjustmentBoundingBox", "object-detection"),
        ("ACS-VerificationBoundingBox", "label-verification"),
        ("ACS-VerificationSemanticSegmentation", "label-verification"),
        ("ACS-SemanticSegmentation", "semantic-segmentation"),
        ("ACS-AdjustmentSemanticSegmentation", "semantic-segmentation"),
        ("ACS-NamedEntityRecognition", "text-span"),
        ("ACS-VideoObjectTracking", None),  # consolidated per frame: not ours
        ("ACS-3DPointCloudObjectDetection", None),
        ("ACS-PassThrough", None),
        ("PRE-BoundingBox", None),
        ("BoundingBox", None),
        ("my-ACS-BoundingBox", None),
    ],
)
def test_task_of_consolidation_arn(name: str, task: str | None):
    for region, account in (("us-east-1", "432418664414"), ("eu-west-1", "568282634449")):
        assert task_of_consolidation_arn(f"arn:aws:lambda:{region}:{account}:function:{name}") == task


def test_task_of_consolidation_arn_of_nothing():
    assert task_of_consolidation_arn("") is None


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (CATEGORY_FILE, ("car", "truck", "bus")),
        (
            {
                "document-version": "2018-11-28",
                "labels": [{"label": "Duck"}, {"label": "Sparrow"}, {"label": "Woodpecker"}],
                "categoryGlobalAttributes": [],
                "instructions": {"shortInstruction": "<p>Pick one</p>", "fullInstruction": ""},
            },
            ("Duck", "Sparrow", "Woodpecker"),
        ),
        ({"labels": [{"label": "a"}, {"nolabel": "x"}, "b", {"label": 7}]}, ("a", "7")),
        ({"labels": []}, None),
        ({"labels": "a,b"}, None),
        ({"document-version": "2018-11-28"}, None),
        (["a", "b"], None),
        (None, None),
    ],
)
def test_categories_of_label_category_file(document: object, expected: tuple[str, ...] | None):
    assert categories_of(document) == expected


def test_use_case_falls_back_when_sagemaker_does_not_know_the_job():
    """ResourceNotFound: the job's name is the attribute and the answers tell the task."""
    client, _ = stubbed("ResourceNotFound")
    harness = Harness()
    harness.use_case.jobs = SageMakerJobs(client, objects=MemoryBlobs())  # type: ignore[arg-type]
    key = f"{CARS}/annotations/worker-response/iteration-3/0/2024-03-12_10:00:55.json"
    harness.put(key, (CARS_TREE / key).read_bytes())
    assert harness(key).published == {CONSOLIDATED: 1}
    [event] = harness.events()
    assert (event["labelAttributeName"], event["taskType"]) == (CARS, "groundtruth/object-detection")


def test_use_case_with_the_described_job():
    client, stubber = stubbed(describe_response(categories_uri=CATEGORIES_URI))
    harness = Harness()
    harness.use_case.jobs = SageMakerJobs(client, objects=category_blobs())  # type: ignore[arg-type]
    keys = harness.put_tree(CARS_TREE, "worker-response", only=lambda key: "/iteration-1/" in key)
    for key in keys:
        harness(key)
    stubber.assert_no_pending_responses()  # one DescribeLabelingJob for the 10 objects
    events = harness.events(CONSOLIDATED)
    assert len(events) == 10
    assert {e["labelAttributeName"] for e in events} == {"cars-bbox-label"}
    for event in events:
        for box in event["label"]["annotations"]:
            name = event["metadata"]["class-map"][str(box["class_id"])]
            assert ("car", "truck", "bus").index(name) == box["class_id"]


@pytest.mark.parametrize("error", ["ThrottlingException", "InternalFailure", "ServiceUnavailable"])
def test_transient_errors_are_raised_not_taken_for_a_missing_job(error: str):
    """A throttled or failing DescribeLabelingJob says nothing about the job: answering None would label the
    job's objects with a guessed attribute and class order for the life of the container."""
    client, _ = stubbed(error)
    with pytest.raises(ClientError):
        SageMakerJobs(client, objects=category_blobs()).describe(JOB)  # type: ignore[arg-type]


def test_use_case_retries_a_throttled_description_instead_of_caching_the_fallback():
    client, stubber = stubbed("ThrottlingException", describe_response())
    harness = Harness()
    harness.use_case.jobs = SageMakerJobs(client, objects=category_blobs())  # type: ignore[arg-type]
    key = f"{CARS}/annotations/worker-response/iteration-3/0/2024-03-12_10:00:55.json"
    harness.put(key, (CARS_TREE / key).read_bytes())

    with pytest.raises(ClientError):
        harness(key)  # the SQS message is retried
    assert harness.publisher.events == [] and harness.store.records == {}

    assert harness(key).published == {CONSOLIDATED: 1}
    [event] = harness.events()
    assert event["labelAttributeName"] == "cars-bbox-label"
    assert event["metadata"]["class-map"] == {"0": "car", "1": "truck"}
    stubber.assert_no_pending_responses()
