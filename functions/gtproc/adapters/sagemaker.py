"""What SageMaker says of a labeling job (DescribeLabelingJob), for the annotations pipeline."""

from __future__ import annotations

from typing import Any

import msgspec
from botocore.exceptions import BotoCoreError, ClientError

from gtproc.adapters.aws import client
from gtproc.adapters.s3 import S3Objects, parse_s3_uri
from gtproc.domain.groundtruth import task_of_consolidation_arn
from gtproc.usecases.ports import DescribedBy, JobInfo, ObjectMissing, ObjectTooLarge

CATEGORIES_MAX_BYTES = 1024 * 1024  # a label category file of any real job is a few KB


# DescribeLabelingJob errors that mean the job will never be described (others are transient).
_NOT_DESCRIBABLE = frozenset({"ResourceNotFound", "ValidationException", "AccessDeniedException", "AccessDenied"})


def categories_of(document: Any) -> tuple[str, ...] | None:
    """Label categories of a label category configuration file (`{"labels": [{"label": ...}]}`)."""
    labels = document.get("labels") if isinstance(document, dict) else None
    if not isinstance(labels, list):
        return None
    names = [entry.get("label") for entry in labels if isinstance(entry, dict)]
    return tuple(str(name) for name in names if name is not None) or None


class SageMakerJobs:
    def __init__(self, sagemaker_client: Any | None = None, objects: S3Objects | None = None) -> None:
        self._client = sagemaker_client
        self.objects = objects or S3Objects()

    @property
    def sagemaker(self) -> Any:
        if self._client is None:
            self._client = client("sagemaker")
        return self._client

    def describe(self, job_name: str) -> JobInfo | None:
        try:
            job = self.sagemaker.describe_labeling_job(LabelingJobName=job_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_DESCRIBABLE:
                return None  # deleted, another account's, or no permission: fall back on the answers
            raise  # throttled or failing: retry the message rather than cache a guess for the job
        except BotoCoreError:
            return None
        human = job.get("HumanTaskConfig") or {}
        arn = (human.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn", "")
        task_type = task_of_consolidation_arn(arn)
        return JobInfo(
            label_attribute_name=job.get("LabelAttributeName") or job_name,
            categories=self._categories(job.get("LabelCategoryConfigS3Uri")),
            task_type=task_type,
            workers_per_object=human.get("NumberOfHumanWorkersPerDataObject"),
            source=DescribedBy.SAGEMAKER,
            # A template of its own and a consolidation Lambda that is not a built-in ACS- one (e.g.
            # gtproc's post-annotation Lambda): no task type, answers read by shape as that Lambda does.
            custom_template=task_type is None
            and bool(arn)
            and bool((human.get("UiConfig") or {}).get("UiTemplateS3Uri")),
            output_path=(job.get("OutputConfig") or {}).get("S3OutputPath"),
            input_manifest_uri=((job.get("InputConfig") or {}).get("DataSource") or {})
            .get("S3DataSource", {})
            .get("ManifestS3Uri"),
        )

    def _categories(self, uri: str | None) -> tuple[str, ...] | None:
        if not uri:
            return None
        try:
            data = self.objects.read(*parse_s3_uri(uri), max_bytes=CATEGORIES_MAX_BYTES)
            return categories_of(msgspec.json.decode(data)) if data else None
        except (
            ClientError,
            BotoCoreError,
            ValueError,
            RecursionError,
            msgspec.DecodeError,
            ObjectMissing,
            ObjectTooLarge,
        ):
            return None


class NoJobDescriptions:
    """For runs without SageMaker (the embedded AWS has no labeling-job API): infer from the answers."""

    def describe(self, job_name: str) -> JobInfo | None:
        return None


class S3SourceFiles:
    """The files that say which object a datasetObjectId is (the input manifest, the intermediate
    annotations), read when the function may; a file it may not read is left out for good."""

    def __init__(self, objects: S3Objects | None = None) -> None:
        self.objects = objects or S3Objects()

    def read(self, uri: str, max_bytes: int) -> bytes:
        try:
            location = parse_s3_uri(uri)
        except ValueError as error:
            raise ObjectMissing(f"{uri!r} is not an s3:// URI") from error
        try:
            return self.objects.read(*location, max_bytes=max_bytes)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "NoSuchBucket":
                raise ObjectMissing(f"{uri}: its bucket does not exist") from error
            raise
