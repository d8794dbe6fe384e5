"""Lambda handler of the annotations pipeline: worker responses and Ground Truth's consolidations."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtproc.contract.events import ANNOTATION_FILE_INVALID, ANNOTATIONS_CONSOLIDATED, CONSOLIDATION_COMPARED
from gtproc.contract.layout import SERVICE_NAME
from gtproc.handlers import wiring
from gtproc.handlers.coldstart import releases_collector
from gtproc.handlers.notifications import object_writes
from gtproc.handlers.sqs_batch import SqsMessage, process_sqs_batch
from gtproc.handlers.wiring import METRICS_NAMESPACE, TRACED_MODULES
from gtproc.usecases.outcomes import FileStatus

logger = Logger(service=SERVICE_NAME)  # as the stack sets POWERTOOLS_SERVICE_NAME, even if imported first
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=METRICS_NAMESPACE)  # POWERTOOLS_METRICS_NAMESPACE may override


@tracer.capture_method
def record_handler(record: SqsMessage) -> None:
    # Counted before parsing, so a batch of unusable messages still flushes a metric, never an empty set.
    metrics.add_metric(name="AnnotationMessagesReceived", unit=MetricUnit.Count, value=1)
    for write in object_writes(record.body):
        metrics.add_metric(name="AnnotationFilesSeen", unit=MetricUnit.Count, value=1)
        logger.append_keys(bucket=write.bucket, key=write.key)
        outcome = wiring.consolidate_annotations()(write.bucket, write.key)
        logger.append_keys(job=outcome.job_name)
        if outcome.status is FileStatus.INVALID:
            logger.error("annotation file not usable", extra={"code": outcome.code, "reason": outcome.reason})
            # Once per file: a redelivery of a file already reported counts nothing.
            reported = outcome.published.get(ANNOTATION_FILE_INVALID, 0)
            metrics.add_metric(name="InvalidAnnotationFiles", unit=MetricUnit.Count, value=reported)
            continue
        if outcome.status is not FileStatus.PROCESSED:
            logger.info("annotation file skipped", extra={"reason": outcome.reason})
            continue
        consolidated = outcome.published.get(ANNOTATIONS_CONSOLIDATED, 0)
        compared = outcome.published.get(CONSOLIDATION_COMPARED, 0)
        metrics.add_metric(name="ObjectsConsolidated", unit=MetricUnit.Count, value=consolidated)
        metrics.add_metric(name="ConsolidationsCompared", unit=MetricUnit.Count, value=compared)
        # Published without the source: neither the input manifest nor the intermediate annotations could be read.
        metrics.add_metric(name="ObjectsWithoutSource", unit=MetricUnit.Count, value=outcome.sources_unknown)
        logger.info(
            "annotation file processed", extra={"published": outcome.published, "duplicates": outcome.duplicates}
        )


@releases_collector
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' partial response without its batch package (all its event classes) at a cold start;
    # nothing is shared between calls, so the handler is reentrant.
    return process_sqs_batch(event, record_handler, context)
