"""Where gtproc reads and writes beyond the two pipelines' triggers, and how their messages are retried:
shared by the stack (infra/), the adapters and the local replay."""

from __future__ import annotations

from gtproc.domain.groundtruth import normalize_job_name

# Keys Ground Truth writes that only the post-annotation function touches.
CONSOLIDATION_REQUEST_PATTERNS: tuple[str, ...] = ("*/annotations/consolidated-annotation/consolidation-request/*",)
CONSOLIDATED_OUTPUT_PATTERNS: tuple[str, ...] = ("*/annotations/consolidated-annotation/output/*",)
# Read by the annotations function for the objects' sources (`Annotations Consolidated`'s sourceRef).
INTERMEDIATE_ANNOTATIONS_PATTERNS: tuple[str, ...] = ("*/annotations/intermediate/*",)

# Prefixes in the labels bucket (which has no event notifications).
LABELS_PREFIX = "labels"  # the jobs' labels so far
LEDGERS_PREFIX = "state"  # the jobs' ledgers
MASKS_PREFIX = "consolidated"  # consolidated segmentation masks of the annotations pipeline

# Delivery: a message is received this many times before it goes to the dead-letter queue.
MAX_RECEIVE_COUNT = 5
FUNCTION_TIMEOUT_SECONDS = 300

# The functions as the stack configures them (the replay hands its handlers the same values).
SERVICE_NAME = "gtproc"  # POWERTOOLS_SERVICE_NAME and the metrics namespace of every function
MANIFESTS_MEMORY_MB = 1024  # default of the `manifestsMemoryMb` context key
FUNCTION_MEMORY_MB = 512  # every other function
# Set on every function. numpy's OpenBLAS starts a thread per core the host shows at import, and they
# spin for work; at 512 MB a function has about a third of a vCPU, so they take it from the handler.
# Our arrays are small: one thread is as fast, and the import costs less CPU.
FUNCTION_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}

# SageMaker's labeling-job state changes (EventBridge, default bus): the job ARN is in `resources`.
LABELING_JOB_STATE_CHANGE = "SageMaker Ground Truth Labeling Job State Change"


def labeling_job_state_change_pattern() -> dict[str, object]:
    return {"source": ["aws.sagemaker"], "detail-type": [LABELING_JOB_STATE_CHANGE]}


def job_status_partition(job_name: str) -> str:
    """The state table partition of a job's statuses (`JOB#status/<job>`): apart from any output path's."""
    return f"status/{normalize_job_name(job_name)}"


def job_status_record(status: str) -> str:
    """One record per status published (`STATUS#<status>`): the conditional write that makes it once."""
    return f"STATUS#{status}"
