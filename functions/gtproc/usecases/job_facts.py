"""What the annotations pipeline knows of a job: SageMaker's description, read once per job for the life
of the function instance, or, when SageMaker cannot describe it, what the key and the answers tell."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from gtproc.domain import consolidation as cons
from gtproc.domain.groundtruth import TaskType, WorkerAnswer
from gtproc.domain.keys import OutputKey
from gtproc.usecases.ports import DescribedBy, JobDescriptions, JobInfo


def describes(info: JobInfo, bucket: str, location: OutputKey) -> bool:
    """Whether a SageMaker description is of the job whose key this is: its output path is the key's folder."""
    if info.source != DescribedBy.SAGEMAKER:
        return True
    if not info.output_path:
        return False
    return f"{info.output_path.rstrip('/')}/{location.job_name}" == f"s3://{bucket}/{location.job_root}"


class JobFacts:
    def __init__(self, jobs: JobDescriptions, warn: Callable[[str], None]) -> None:
        self.jobs, self.warn = jobs, warn
        # By job name. A transient error raises before anything is cached, so the next message asks again.
        self._described: dict[str, JobInfo | None] = {}

    def of(self, bucket: str, location: OutputKey, answers: Sequence[WorkerAnswer]) -> JobInfo:
        """The facts of the job a worker-response key belongs to."""
        job_name = location.job_name
        if job_name not in self._described:
            self._described[job_name] = self.jobs.describe(job_name)
        info = self._described[job_name]
        if info is not None and describes(info, bucket, location):
            return info
        if info is not None:
            # Another folder's job of the same name: its attribute and categories are not this key's.
            self.warn(
                f"s3://{bucket}/{location.job_root}: SageMaker's job {job_name!r} writes to {info.output_path}, "
                "not here; using the key's own facts"
            )
        # Without a description the job's name is the attribute (the console's default) and the
        # answers' shape tells the task type; a segmentation label is an S3 URI, so its attribute ends in -ref.
        shapes = {cons.infer_task_type(answer.content) for answer in answers}
        if shapes == {TaskType.SEMANTIC_SEGMENTATION}:
            return JobInfo(label_attribute_name=f"{job_name}-ref")
        return JobInfo(label_attribute_name=job_name)
