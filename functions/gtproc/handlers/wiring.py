"""Composition root: builds each use case once per Lambda container from the settings."""

from __future__ import annotations

from functools import cache

from gtproc.adapters.annotation_store import DynamoAnnotationStore
from gtproc.adapters.dynamodb import DynamoJobState
from gtproc.adapters.eventbridge import EventBridgePublisher
from gtproc.adapters.labels_store import S3LabelStore
from gtproc.adapters.s3 import S3Objects
from gtproc.adapters.sagemaker import NoJobDescriptions, SageMakerJobs
from gtproc.contract.layout import SERVICE_NAME
from gtproc.domain.consolidation.limits import Limits
from gtproc.settings import get_settings
from gtproc.usecases.consolidate_annotations import AnnotationsConfig, ConsolidateAnnotations
from gtproc.usecases.process_manifest import PipelineConfig, ProcessManifest

METRICS_NAMESPACE = SERVICE_NAME


@cache
def process_manifest() -> ProcessManifest:
    settings = get_settings()
    return ProcessManifest(
        reader=S3Objects(),
        state=DynamoJobState(settings.table_name),
        labels=S3LabelStore(settings.labels_bucket, settings.labels_prefix),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
        config=PipelineConfig(key_prefix=settings.key_prefix, lease_seconds=settings.lease_seconds),
    )


@cache
def consolidate_annotations() -> ConsolidateAnnotations:
    settings = get_settings()
    objects = S3Objects()
    return ConsolidateAnnotations(
        blobs=objects,
        jobs=SageMakerJobs(objects=objects) if settings.describe_jobs else NoJobDescriptions(),
        store=DynamoAnnotationStore(settings.table_name),
        publisher=EventBridgePublisher(settings.event_bus_name, settings.event_source),
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
    )


def reset() -> None:
    """Forget the built use cases and settings (the local replay starts each run afresh)."""
    from gtproc.adapters.aws import reset_clients

    process_manifest.cache_clear()
    consolidate_annotations.cache_clear()
    get_settings.cache_clear()
    reset_clients()
