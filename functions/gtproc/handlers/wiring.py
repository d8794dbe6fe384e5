"""Composition root: builds each use case once per Lambda container from the settings.

Each builder imports its own use case and adapters, so a function loads only its own path (the
manifests function never loads numpy or the consolidation package: a shorter cold start)."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

import msgspec

from gtproc.adapters.sqs import requeue as sqs_requeue
from gtproc.adapters.sqs import requeues as requeues  # the handler counts them through here
from gtproc.contract.layout import SERVICE_NAME
from gtproc.settings import get_settings

if TYPE_CHECKING:
    from gtproc.usecases.consolidate_annotations import ConsolidateAnnotations
    from gtproc.usecases.job_status import PublishJobStatus
    from gtproc.usecases.post_annotation import ConsolidateRequest
    from gtproc.usecases.process_manifest import ProcessManifest
    from gtproc.usecases.process_stream import ProcessStream

METRICS_NAMESPACE = SERVICE_NAME
# What the Tracer patches: the AWS SDK is all the functions call out with (patching every library
# X-Ray supports imports requests and more at each cold start, for nothing traced).
TRACED_MODULES = ("botocore",)


class LocalRun(msgspec.Struct):
    """What a local replay substitutes (`gtproc replay --faults`): a simulated clock that the leases,
    stale claims and deadlines all read, ports wrapped to inject faults, and the busy-job requeue."""

    clock: Callable[[], float]
    sleep: Callable[[float], None]
    port: Callable[[Any, str], Any]
    requeue: Callable[[Any, int], None] | None = None
    use_case: Callable[[Any], Any] | None = None  # wraps each built use case (a failed run's accounting)


local: LocalRun | None = None
# DescribeLabelingJob as the local replay tells it: moto knows no labeling job.
local_jobs: Any = None


def clock() -> float:
    return local.clock() if local is not None else time.time()


def deadline(context: Any) -> float | None:
    """When this invocation ends (a Lambda context's remaining time), on the clock leases are measured by."""
    if context is None:
        return None
    return clock() + context.get_remaining_time_in_millis() / 1000


def _port(port: Any, name: str) -> Any:
    return local.port(port, name) if local is not None else port


def _use_case(use_case: Any) -> Any:
    return local.use_case(use_case) if local is not None and local.use_case is not None else use_case


def _timing() -> dict[str, Any]:
    return {"clock": local.clock, "sleep": local.sleep} if local is not None else {}


@cache
def process_manifest() -> ProcessManifest:
    from gtproc.adapters.dynamodb import DynamoJobState
    from gtproc.adapters.eventbridge import EventBridgePublisher
    from gtproc.adapters.labels_store import S3LabelStore
    from gtproc.adapters.s3 import S3Objects
    from gtproc.usecases.process_manifest import PipelineConfig, ProcessManifest

    settings = get_settings()
    return _use_case(
        ProcessManifest(
            reader=_port(S3Objects(), "s3"),
            state=_port(DynamoJobState(settings.table_name), "dynamodb"),
            labels=_port(S3LabelStore(settings.labels_bucket, settings.labels_prefix), "labels-s3"),
            publisher=_port(EventBridgePublisher(settings.event_bus_name, settings.event_source), "eventbridge"),
            config=PipelineConfig(key_prefix=settings.key_prefix, lease_seconds=settings.lease_seconds),
            **_timing(),
        )
    )


@cache
def consolidate_annotations() -> ConsolidateAnnotations:
    from gtproc.adapters.annotation_store import DynamoAnnotationStore
    from gtproc.adapters.eventbridge import EventBridgePublisher
    from gtproc.adapters.s3 import S3Objects
    from gtproc.adapters.sagemaker import NoJobDescriptions, S3SourceFiles, SageMakerJobs
    from gtproc.domain.consolidation.limits import Limits
    from gtproc.usecases.consolidate_annotations import AnnotationsConfig, ConsolidateAnnotations

    settings = get_settings()
    objects = _port(S3Objects(), "s3")
    return _use_case(
        ConsolidateAnnotations(
            blobs=objects,
            jobs=_port(SageMakerJobs(objects=objects), "sagemaker") if settings.describe_jobs else NoJobDescriptions(),
            store=_port(DynamoAnnotationStore(settings.table_name), "dynamodb"),
            publisher=_port(EventBridgePublisher(settings.event_bus_name, settings.event_source), "eventbridge"),
            sources=_port(S3SourceFiles(objects), "s3-sources"),
            config=AnnotationsConfig(
                key_prefix=settings.key_prefix,
                results_bucket=settings.labels_bucket,
                max_file_bytes=settings.max_file_bytes,
                limits=Limits(
                    max_mask_pixels=settings.max_mask_pixels,
                    max_shapes_per_answer=settings.max_shapes_per_answer,
                    max_shapes_per_object=settings.max_shapes_per_object,
                    max_classes=settings.max_classes,
                ),
            ),
            **_timing(),
        )
    )


def _labeling_jobs() -> Any:
    from gtproc.adapters.labeling_jobs import SageMakerLabelingJobs

    if local_jobs is not None:
        return local_jobs
    return _port(SageMakerLabelingJobs(), "sagemaker")


@cache
def process_stream() -> ProcessStream:
    from gtproc.adapters.dynamodb import DynamoJobState
    from gtproc.adapters.eventbridge import EventBridgePublisher
    from gtproc.adapters.labels_store import S3LabelStore
    from gtproc.usecases.process_stream import ProcessStream, StreamConfig

    settings = get_settings()
    return _use_case(
        ProcessStream(
            jobs=_labeling_jobs(),
            state=_port(DynamoJobState(settings.table_name), "dynamodb"),
            labels=_port(S3LabelStore(settings.labels_bucket, settings.labels_prefix), "labels-s3"),
            publisher=_port(EventBridgePublisher(settings.event_bus_name, settings.event_source), "eventbridge"),
            config=StreamConfig(lease_seconds=settings.lease_seconds),
            **_timing(),
        )
    )


@cache
def publish_job_status() -> PublishJobStatus:
    from gtproc.adapters.annotation_store import DynamoAnnotationStore
    from gtproc.adapters.eventbridge import EventBridgePublisher
    from gtproc.usecases.job_status import PublishJobStatus

    settings = get_settings()
    return _use_case(
        PublishJobStatus(
            jobs=_labeling_jobs(),
            store=_port(DynamoAnnotationStore(settings.table_name), "dynamodb"),
            publisher=_port(EventBridgePublisher(settings.event_bus_name, settings.event_source), "eventbridge"),
            clock=clock,
        )
    )


@cache
def post_annotation() -> ConsolidateRequest:
    """The custom workflow's consolidation Lambda: S3 only, and none of the pipelines' settings."""
    from gtproc.adapters.s3 import S3Objects
    from gtproc.usecases.post_annotation import ConsolidateRequest

    return ConsolidateRequest(_port(S3Objects(), "s3"))


def requeue(record: Any, seconds: int) -> None:
    """Send a busy job's message back to its queue (the local replay keeps it on its simulated clock)."""
    if local is not None and local.requeue is not None:
        local.requeue(record, seconds)
        return
    sqs_requeue(record, seconds)


def reset() -> None:
    """Forget the built use cases, settings and local substitutes (the local replay starts each run afresh)."""
    from gtproc.adapters.aws import reset_clients

    global local, local_jobs
    local = None
    local_jobs = None

    process_manifest.cache_clear()
    consolidate_annotations.cache_clear()
    process_stream.cache_clear()
    publish_job_status.cache_clear()
    post_annotation.cache_clear()
    get_settings.cache_clear()
    reset_clients()
