"""Composition root: builds each use case once per Lambda container from the settings."""

from __future__ import annotations

from functools import cache

from gtproc.adapters.dynamodb import DynamoJobState
from gtproc.adapters.eventbridge import EventBridgePublisher
from gtproc.adapters.labels_store import S3LabelStore
from gtproc.adapters.s3 import S3Objects
from gtproc.settings import get_settings
from gtproc.usecases.process_manifest import PipelineConfig, ProcessManifest


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


def reset() -> None:
    """Forget the built use cases and settings (the local replay starts each run afresh)."""
    from gtproc.adapters.aws import reset_clients

    process_manifest.cache_clear()
    get_settings.cache_clear()
    reset_clients()
