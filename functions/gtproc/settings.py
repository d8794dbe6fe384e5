"""Runtime settings of the Lambda handlers: read once from the environment, here and nowhere else."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gtproc.contract import DEFAULT_EVENT_SOURCE


class Settings(BaseSettings):
    """Environment variables set by the stack (infra/) and by the local replay."""

    model_config = SettingsConfigDict(env_prefix="GTPROC_", frozen=True)

    event_bus_name: str = Field(description="Name of the bus events are published on")
    event_source: str = Field(default=DEFAULT_EVENT_SOURCE, description="`source` of published events")
    table_name: str = Field(description="DynamoDB table of per-job and per-object state")
    labels_bucket: str = Field(description="Bucket for the labels so far and the job ledgers")
    labels_prefix: str = Field(default="labels", description="Key prefix under labels_bucket")
    key_prefix: str = Field(default="", description="Ground Truth output prefix the pipeline watches")
    lease_seconds: int = Field(default=900, description="How long a job lease lasts without renewal")
    max_file_bytes: int = Field(
        default=16 * 1024 * 1024, gt=0, description="Largest worker-response or consolidation file read"
    )
    max_mask_pixels: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest segmentation mask decoded")
    max_shapes_per_answer: int = Field(default=500, gt=0, description="Most boxes or spans in one answer")
    max_shapes_per_object: int = Field(default=1500, gt=0, description="Most boxes or spans over one object's answers")
    max_classes: int = Field(default=1000, gt=0, description="Most classes in a job")
    describe_jobs: bool = Field(
        default=True, description="Ask SageMaker (DescribeLabelingJob) for a job's attribute, task and categories"
    )
    streaming_jobs: dict[str, str] = Field(
        default_factory=dict, description="Streaming jobs: output topic ARN -> labeling job name (JSON)"
    )
    streaming_queues: dict[str, str] = Field(
        default_factory=dict, description="Streaming jobs: queue ARN -> output topic ARN (JSON), for raw deliveries"
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()  # type: ignore[call-arg]
