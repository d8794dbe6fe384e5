"""The gtproc stack: S3 events of Ground Truth's output -> two pipelines -> events on a bus."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct
from gtproc.contract import ANNOTATION_KEY_PATTERNS, MANIFEST_KEY_PATTERNS, prefixed_key_patterns
from gtproc.contract.layout import (
    CONSOLIDATED_OUTPUT_PATTERNS,
    CONSOLIDATION_REQUEST_PATTERNS,
    INTERMEDIATE_ANNOTATIONS_PATTERNS,
    LABELS_PREFIX,
    LEDGERS_PREFIX,
    MASKS_PREFIX,
)
from gtproc.settings import default

from infra.config import GtprocConfig
from infra.constructs.alarms import Alarms
from infra.constructs.bus import GtprocBus
from infra.constructs.functions import SERVICE_NAME, GtprocFunction, settings_environment
from infra.constructs.pipeline import S3EventPipeline
from infra.constructs.state import StateTable
from infra.constructs.storage import Storage, retain_cdk_function_logs
from infra.constructs.streaming import JobStatusPipeline, StreamingJobQueue
from infra.layer import DependenciesLayer

BOUND_SETTINGS = ("max_file_bytes", "max_mask_pixels", "max_shapes_per_answer", "max_shapes_per_object", "max_classes")
CATEGORIES_PATTERN = "*/annotation-tool/*"  # data.json of console-created jobs (LabelCategoryConfigS3Uri)


class GtprocStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: GtprocConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, description="gtproc: Ground Truth output processor", **kwargs)
        storage = Storage(self, "Storage", output_bucket_name=config.output_bucket_name, removal=config.removal)
        output, labels = storage.output_bucket, storage.labels_bucket
        table = StateTable(self, "State", removal=config.removal)
        bus = GtprocBus(
            self,
            "Events",
            existing_bus_name=config.event_bus_name,
            new_bus_name=config.stack_name.lower(),
            event_source=config.event_source,
            archive_retention_days=config.archive_retention_days,
        ).event_bus
        environment = settings_environment(
            event_bus_name=bus.event_bus_name,
            event_source=config.event_source,
            table_name=table.table_name,
            labels_bucket=labels.bucket_name,
            labels_prefix=LABELS_PREFIX,
            key_prefix=config.key_prefix,
            lease_seconds=str(config.lease_seconds),
            describe_jobs="true",
            # Streaming jobs: output topic -> job; the streaming function adds its queues' topics.
            streaming_jobs=json.dumps({job.output_topic_arn: job.job_name for job in config.streaming_jobs}),
            streaming_queues="{}",
            # The bounds on one annotation file, at the defaults documented with Annotation File Invalid.
            **{name: str(default(name)) for name in BOUND_SETTINGS},
        )
        layer = DependenciesLayer(self, "Dependencies")
        common = {"layer": layer, "environment": environment, "log_level": config.log_level}

        manifests = GtprocFunction(
            self,
            "Manifests",
            handler="gtproc.handlers.manifests.handler",
            memory_size=config.manifests_memory_mb,
            description="Ground Truth output manifests -> labels, ledgers, events",
            **common,
        )
        manifests.read_objects(output, *prefixed_key_patterns(MANIFEST_KEY_PATTERNS, config.key_prefix))
        manifests.list_bucket(output)
        manifests.read_write_objects(labels, f"{LABELS_PREFIX}/*", f"{LEDGERS_PREFIX}/*")
        manifests.list_bucket(labels)
        annotations = GtprocFunction(
            self,
            "Annotations",
            handler="gtproc.handlers.annotations.handler",
            description="Ground Truth worker responses and consolidations -> state, events",
            **common,
        )
        # Worker and Ground Truth consolidations, and the label category file the console writes.
        annotations.read_objects(
            output,
            *prefixed_key_patterns(
                (*ANNOTATION_KEY_PATTERNS, CATEGORIES_PATTERN, *INTERMEDIATE_ANNOTATIONS_PATTERNS), config.key_prefix
            ),
        )
        annotations.list_bucket(output)  # the worker responses of an object (Ground Truth's result first)
        annotations.write_objects(labels, f"{MASKS_PREFIX}/*")
        annotations.describe_labeling_jobs()

        alarms = Alarms(self, "Alarms", alarm_email=config.alarm_email)
        alarms.watch_invalid_annotation_files(SERVICE_NAME, SERVICE_NAME)
        outputs = {}
        for name, function, patterns in (
            ("Manifests", manifests, MANIFEST_KEY_PATTERNS),
            ("Annotations", annotations, ANNOTATION_KEY_PATTERNS),
        ):
            table.grant_read_write_data(function)
            bus.grant_put_events_to(function)
            pipeline = S3EventPipeline(
                self,
                f"{name}Pipeline",
                bucket=output,
                key_patterns=patterns,
                key_prefix=config.key_prefix,
                function=function,
                max_concurrency=config.max_concurrency,
            )
            alarms.watch_pipeline(name, pipeline)
            outputs[f"{name}QueueUrl"] = pipeline.queue.queue_url
            outputs[f"{name}DeadLetterQueueUrl"] = pipeline.dlq.queue_url

        # SageMaker's job state changes -> Labeling Job Status Changed, once per job and status.
        status = GtprocFunction(
            self,
            "JobStatus",
            handler="gtproc.handlers.job_status.handler",
            description="SageMaker labeling job state changes -> Labeling Job Status Changed",
            **common,
        )
        status.describe_labeling_jobs()
        table.grant_read_write_data(status)
        bus.grant_put_events_to(status)
        status_pipeline = JobStatusPipeline(
            self, "JobStatusPipeline", function=status, max_concurrency=config.max_concurrency
        )
        alarms.watch_pipeline("JobStatus", status_pipeline)  # type: ignore[arg-type]
        outputs["JobStatusQueueUrl"] = status_pipeline.queue.queue_url
        outputs["JobStatusDeadLetterQueueUrl"] = status_pipeline.dlq.queue_url

        if config.streaming_jobs:
            self._streaming(config, common, output, labels, table, bus, alarms, outputs)

        if config.post_annotation_lambda:
            # Ground Truth invokes it with the labeling job's role; AmazonSageMakerGroundTruthExecution
            # only allows invoking functions whose name contains "SageMaker" (or GtRecipe, ...).
            post = GtprocFunction(
                self,
                "PostAnnotation",
                handler="gtproc.handlers.post_annotation.handler",
                function_name=f"{config.stack_name}-SageMaker-PostAnnotation",
                description="Annotation consolidation for custom Ground Truth workflows",
                **common,
            )
            post.read_objects(output, prefixed_key_patterns(CONSOLIDATION_REQUEST_PATTERNS, config.key_prefix)[0])
            post.list_bucket(output)
            # Consolidated segmentation masks go where Ground Truth puts its own.
            post.write_objects(output, prefixed_key_patterns(CONSOLIDATED_OUTPUT_PATTERNS, config.key_prefix)[0])
            alarms.watch_function("PostAnnotation", post)
            outputs["PostAnnotationFunctionArn"] = post.function_arn

        outputs |= {
            "EventBusName": bus.event_bus_name,
            "EventBusArn": bus.event_bus_arn,
            "OutputBucketName": output.bucket_name,
            "LabelsBucketName": labels.bucket_name,
            "TableName": table.table_name,
        }
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
        retain_cdk_function_logs(self)  # last: CDK's handlers exist once every bucket is defined

    def _streaming(
        self,
        config: GtprocConfig,
        common: dict[str, Any],
        output: Any,
        labels: Any,
        table: StateTable,
        bus: Any,
        alarms: Alarms,
        outputs: dict[str, str],
    ) -> None:
        """The streaming function and one subscribed queue per streaming job's output topic."""
        jobs = config.streaming_jobs
        streaming = GtprocFunction(
            self,
            "Streaming",
            handler="gtproc.handlers.streaming.handler",
            description="Streaming labeling jobs' SNS output -> labels, ledgers, events",
            **common,
        )
        # The job's ledger and labels so far, shared with its manifests (the same job identity).
        streaming.read_write_objects(labels, f"{LABELS_PREFIX}/*", f"{LEDGERS_PREFIX}/*")
        streaming.list_bucket(labels)
        streaming.describe_labeling_jobs_named(*(job.job_name for job in jobs))
        table.grant_read_write_data(streaming)
        bus.grant_put_events_to(streaming)
        queues: dict[str, str] = {}
        for position, job in enumerate(jobs):
            queue = StreamingJobQueue(
                self,
                f"StreamingJob{position}",
                topic_arn=job.output_topic_arn,
                function=streaming,
                max_concurrency=config.max_concurrency,
            )
            queues[queue.queue.queue_arn] = job.output_topic_arn
            alarms.watch_queue(f"StreamingJob{position}", queue)
            outputs[f"StreamingJob{position}QueueUrl"] = queue.queue.queue_url
            outputs[f"StreamingJob{position}DeadLetterQueueUrl"] = queue.dlq.queue_url
        alarms.watch_function("Streaming", streaming)
        # Raw deliveries name no topic: the queue they come from does.
        streaming.add_environment("GTPROC_STREAMING_QUEUES", self.to_json_string(queues))
