"""One S3-event pipeline: EventBridge rule (default bus) -> SQS queue (+ DLQ) -> Lambda, batch by batch."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from gtproc.contract import object_created_pattern
from gtproc.contract.layout import MAX_RECEIVE_COUNT

VISIBILITY_TIMEOUT_FACTOR = 6  # AWS's advice for SQS event sources: 6x the function timeout
BATCH_SIZE = 10
MAX_BATCHING_WINDOW = Duration.seconds(5)
DLQ_RETENTION = Duration.days(14)


def event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The dict of gtproc.contract as a CDK EventPattern (`detail-type` -> `detail_type`), unchanged."""
    return events.EventPattern(**{key.replace("-", "_"): value for key, value in pattern.items()})


class QueuedFunction(Construct):
    """A queue with its DLQ (after 5 receives), read by `function` in batches with partial batch failures.

    The queues are this construct's own children, named as before it was shared: their logical ids,
    so the deployed queues, stay the same."""

    def __init__(
        self, scope: Construct, construct_id: str, *, function: lambda_.Function, max_concurrency: int
    ) -> None:
        super().__init__(scope, construct_id)
        timeout = function.timeout or Duration.seconds(3)
        self.function = function
        self.dlq = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(timeout.to_seconds() * VISIBILITY_TIMEOUT_FACTOR),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVE_COUNT, queue=self.dlq),
        )
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=BATCH_SIZE,
                max_batching_window=MAX_BATCHING_WINDOW,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,  # bounds the table, bus and SageMaker calls of a burst
            )
        )


class S3EventPipeline(QueuedFunction):
    """Object Created events of `bucket` whose key matches `key_patterns` (under `key_prefix`) reach
    `function` through a queue; failed messages are retried, then parked in the DLQ after 5 receives."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        key_patterns: tuple[str, ...],
        key_prefix: str,
        function: lambda_.Function,
        max_concurrency: int = 10,
    ) -> None:
        super().__init__(scope, construct_id, function=function, max_concurrency=max_concurrency)
        self.pattern = object_created_pattern(bucket.bucket_name, key_patterns, key_prefix)
        # No event_bus: S3 sends its events to the account's default bus. The target adds the queue
        # policy for events.amazonaws.com; events EventBridge cannot deliver also land in the DLQ.
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"S3 Object Created events for {construct_id}",
            event_pattern=event_pattern(self.pattern),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
        )
        # A busy job's message is sent back to its queue with a delay (gtproc.adapters.sqs.requeue).
        self.queue.grant_send_messages(function)
