"""Lambda handler of streaming jobs: SQS batches of the messages of their SNS output topics."""

from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from gtproc.contract.events import OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.contract.layout import SERVICE_NAME
from gtproc.handlers import wiring
from gtproc.handlers.coldstart import releases_collector
from gtproc.handlers.sqs_batch import SqsMessage, process_sqs_batch
from gtproc.handlers.wiring import METRICS_NAMESPACE, TRACED_MODULES
from gtproc.settings import get_settings
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import LeaseHeld

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(patch_modules=TRACED_MODULES)
metrics = Metrics(namespace=METRICS_NAMESPACE)
LEASE_RETRY_SECONDS = 30
_decoder = msgspec.json.Decoder()


class UnknownTopic(ValueError):
    """A message of a topic no streaming job is configured for: parked in the DLQ for an operator."""


class TopicMessage(msgspec.Struct, frozen=True):
    topic_arn: str
    message: bytes  # what Ground Truth published: the output line as JSON text
    kind: str = "Notification"


def topic_message(body: str, queue_arn: str, queues: dict[str, str]) -> TopicMessage:
    """The SNS envelope's Message and TopicArn; a raw delivery's body is the message itself, its topic
    the one the queue is subscribed to."""
    try:
        envelope = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):
        envelope = None
    if isinstance(envelope, dict) and isinstance(envelope.get("TopicArn"), str) and "Type" in envelope:
        message = envelope.get("Message")
        text = message if isinstance(message, str) else ""
        return TopicMessage(envelope["TopicArn"], text.encode(), str(envelope["Type"]))
    topic = queues.get(queue_arn)
    if topic is None:
        raise UnknownTopic(f"queue {queue_arn}: a raw message, and no streaming job's topic for this queue")
    return TopicMessage(topic, body.encode())


@tracer.capture_method
def record_handler(record: SqsMessage, lambda_context: LambdaContext | None = None) -> None:
    metrics.add_metric(name="StreamMessagesReceived", unit=MetricUnit.Count, value=1)
    settings = get_settings()
    found = topic_message(record.body, record.event_source_arn, settings.streaming_queues)
    logger.append_keys(topicArn=found.topic_arn)
    if found.kind != "Notification":  # SubscriptionConfirmation and the like carry no output line
        logger.info("SNS message skipped", extra={"type": found.kind})
        return
    job_name = settings.streaming_jobs.get(found.topic_arn)
    if job_name is None:
        raise UnknownTopic(f"topic {found.topic_arn}: no streaming job is configured for it (streamingJobs)")
    logger.append_keys(job=job_name)
    try:
        process = wiring.process_stream()
        outcome = process(job_name, found.topic_arn, found.message, deadline=wiring.deadline(lambda_context))
    except LeaseHeld:
        # The job's manifests (or another message) are being processed: come back in a while.
        wiring.requeue(record.raw_event, LEASE_RETRY_SECONDS)  # the replay's queue when it runs locally
        logger.info("job busy, requeued", extra={"requeues": wiring.requeues(record.raw_event) + 1})
        metrics.add_metric(name="StreamMessagesRequeued", unit=MetricUnit.Count, value=1)
        return
    labeled, failed = outcome.published.get(OBJECTS_LABELED, 0), outcome.published.get(OBJECTS_FAILED, 0)
    metrics.add_metric(name="StreamLabelsPublished", unit=MetricUnit.Count, value=labeled)
    metrics.add_metric(name="StreamFailuresPublished", unit=MetricUnit.Count, value=failed)
    if outcome.status is FileStatus.INVALID:
        # Reported on the bus once; never retried (a bad message stays bad).
        metrics.add_metric(name="InvalidStreamMessages", unit=MetricUnit.Count, value=1)
        logger.warning("bad streaming message", extra={"reported": outcome.published.get(VALIDATION_FAILED, 0)})
        return
    logger.info("streaming message processed", extra={"published": outcome.published})


@releases_collector
@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Powertools' partial response without its batch package (all its event classes) at a cold start;
    # nothing is shared between calls, so the handler is reentrant.
    return process_sqs_batch(event, record_handler, context, pass_context=True)
