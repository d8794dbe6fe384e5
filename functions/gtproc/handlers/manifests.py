"""Lambda handler of the manifests pipeline: SQS batches of S3 "Object Created" events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtproc.contract.events import OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.contract.layout import SERVICE_NAME
from gtproc.handlers import wiring
from gtproc.handlers.coldstart import releases_collector
from gtproc.handlers.notifications import object_writes
from gtproc.handlers.sqs_batch import SqsMessage, process_sqs_batch
from gtproc.handlers.wiring import METRICS_NAMESPACE, TRACED_MODULES
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import LeaseHeld

logger = Logger(service=SERVICE_NAME)  # as the stack sets POWERTOOLS_SERVICE_NAME, even if imported first
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=METRICS_NAMESPACE)  # POWERTOOLS_METRICS_NAMESPACE may override
LEASE_RETRY_SECONDS = 30


@tracer.capture_method
def record_handler(record: SqsMessage, lambda_context: LambdaContext | None = None) -> None:
    # Counted before parsing, so a batch of unusable messages still flushes a metric, never an empty set.
    metrics.add_metric(name="ManifestMessagesReceived", unit=MetricUnit.Count, value=1)
    for write in object_writes(record.body):
        metrics.add_metric(name="ManifestWritesSeen", unit=MetricUnit.Count, value=1)
        logger.append_keys(bucket=write.bucket, key=write.key)
        try:
            outcome = wiring.process_manifest()(write.bucket, write.key, deadline=wiring.deadline(lambda_context))
        except LeaseHeld:
            # Another invocation is on this job: a delayed copy comes back in seconds with a fresh
            # receive count, then this record succeeds. Waiting never moves a message toward the DLQ.
            # Writes of the message already processed are rewrites to the copy: nothing new (the ledger).
            count = wiring.requeues(record.raw_event) + 1
            logger.info("job busy, requeued", extra={"retryInSeconds": LEASE_RETRY_SECONDS, "requeues": count})
            wiring.requeue(record.raw_event, LEASE_RETRY_SECONDS)
            metrics.add_metric(name="ManifestMessagesRequeued", unit=MetricUnit.Count, value=1)
            return
        logger.append_keys(job=outcome.job_name)
        if outcome.status is FileStatus.UNREADABLE:
            # Permanent until the permission changes: retries would only carry it to the DLQ.
            logger.error("manifest not readable, skipped", extra={"reason": outcome.reason})
            metrics.add_metric(name="UnreadableManifests", unit=MetricUnit.Count, value=1)
            continue
        if outcome.status is not FileStatus.PROCESSED:
            logger.info("manifest skipped", extra={"reason": outcome.reason})
            continue
        metrics.add_metric(name="LinesValidated", unit=MetricUnit.Count, value=outcome.lines)
        metrics.add_metric(name="InvalidLines", unit=MetricUnit.Count, value=outcome.invalid_lines)
        labeled, failed = outcome.published.get(OBJECTS_LABELED, 0), outcome.published.get(OBJECTS_FAILED, 0)
        metrics.add_metric(name="LabelsPublished", unit=MetricUnit.Count, value=labeled)
        metrics.add_metric(name="FailuresPublished", unit=MetricUnit.Count, value=failed)
        if outcome.published and write.time is not None:
            lag = (datetime.now(UTC) - write.time).total_seconds()
            metrics.add_metric(name="SecondsFromWriteToPublish", unit=MetricUnit.Seconds, value=max(lag, 0.0))
        if outcome.foreign_labels:
            # A misnamed job folder: its labels are another job's, so nothing of them is published.
            logger.warning(
                "labels belong to another job",
                extra={"jobFolder": outcome.job_name, "labelJobNames": outcome.foreign_labels},
            )
        logger.info(
            "manifest processed",
            extra={
                "lines": outcome.lines,
                "invalidLines": outcome.invalid_lines,
                "published": outcome.published,
                "invalidReported": outcome.published.get(VALIDATION_FAILED, 0),
                "completed": outcome.completed,
            },
        )


@releases_collector
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' partial response without its batch package (all its event classes) at a cold start;
    # nothing is shared between calls, so the handler is reentrant.
    return process_sqs_batch(event, record_handler, context, pass_context=True)
