"""DescribeLabelingJob for the streaming and job-status functions: the output path and LabelCounters."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from gtproc.adapters.aws import client
from gtproc.usecases.ports import JobStatusInfo

# Errors that mean the job will never be described; others (throttling) are raised and retried.
_NOT_DESCRIBABLE = frozenset({"ResourceNotFound", "ValidationException", "AccessDeniedException", "AccessDenied"})


class SageMakerLabelingJobs:
    def __init__(self, sagemaker_client: Any | None = None) -> None:
        self._client = sagemaker_client

    @property
    def sagemaker(self) -> Any:
        if self._client is None:
            self._client = client("sagemaker")
        return self._client

    def status(self, job_name: str) -> JobStatusInfo | None:
        try:
            job = self.sagemaker.describe_labeling_job(LabelingJobName=job_name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _NOT_DESCRIBABLE:
                return None
            raise
        counters = job.get("LabelCounters") or {}
        return JobStatusInfo(
            output_path=(job.get("OutputConfig") or {}).get("S3OutputPath"),
            label_counters={name: int(value) for name, value in counters.items() if isinstance(value, int)},
        )
