"""Lambda handler of SageMaker's labeling-job state changes: SQS batches of EventBridge events."""

from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtproc.contract.layout import LABELING_JOB_STATE_CHANGE, SERVICE_NAME
from gtproc.domain.groundtruth import job_name_in_arn
from gtproc.handlers import wiring
from gtproc.handlers.coldstart import releases_collector
from gtproc.handlers.sqs_batch import SqsMessage, process_sqs_batch
from gtproc.handlers.wiring import METRICS_NAMESPACE, TRACED_MODULES

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=METRICS_NAMESPACE)
_decoder = msgspec.json.Decoder()


def state_change(body: str) -> tuple[str, str] | None:
    """(job name, status) of a state-change event; None for anything else."""
    try:
        event = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(event, dict) or event.get("detail-type") != LABELING_JOB_STATE_CHANGE:
        return None
    status = (event.get("detail") or {}).get("LabelingJobStatus")
    jobs = [job_name_in_arn(arn) for arn in event.get("resources") or [] if isinstance(arn, str)]
    names = [name for name in jobs if name is not None]
    if not isinstance(status, str) or not status or len(names) != 1:
        return None
    return names[0], status


@tracer.capture_method
def record_handler(record: SqsMessage) -> None:
    metrics.add_metric(name="JobStatusEventsReceived", unit=MetricUnit.Count, value=1)
    found = state_change(record.body)
    if found is None:
        logger.warning("not a labeling job state change with one job ARN", extra={"body": record.body[:500]})
        return
    job_name, status = found
    logger.append_keys(job=job_name, status=status)
    outcome = wiring.publish_job_status()(job_name, status)
    metrics.add_metric(name="JobStatusesPublished", unit=MetricUnit.Count, value=int(outcome.published))
    logger.info("job status", extra={"published": outcome.published, "described": outcome.described})


@releases_collector
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' partial response without its batch package (all its event classes) at a cold start;
    # nothing is shared between calls, so the handler is reentrant.
    return process_sqs_batch(event, record_handler, context)
