"""Streaming jobs' SNS output topics and SageMaker's job state changes, each through a queue (+ DLQ) to
its function, retried and dead-lettered as the S3-event pipelines are."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct
from gtproc.contract.layout import labeling_job_state_change_pattern

from infra.constructs.pipeline import QueuedFunction, event_pattern


class StreamingJobQueue(QueuedFunction):
    """One streaming job's output topic subscribed to a queue of the streaming function.

    Not raw: the SNS envelope names the topic (the function finds the job from it) and the output
    line stays JSON text in `Message`. The function reads raw deliveries too, by the queue's topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topic_arn: str,
        function: lambda_.Function,
        max_concurrency: int,
    ) -> None:
        super().__init__(scope, construct_id, function=function, max_concurrency=max_concurrency)
        self.topic = sns.Topic.from_topic_arn(self, "OutputTopic", topic_arn)
        # Messages SNS cannot deliver to the queue are kept in the DLQ too.
        self.topic.add_subscription(
            subscriptions.SqsSubscription(self.queue, raw_message_delivery=False, dead_letter_queue=self.dlq)
        )
        # A busy job's message is sent back to its queue with a delay (gtproc.adapters.sqs.requeue).
        self.queue.grant_send_messages(function)


class JobStatusPipeline(QueuedFunction):
    """SageMaker's labeling-job state changes (default bus) -> queue -> the job-status function."""

    def __init__(
        self, scope: Construct, construct_id: str, *, function: lambda_.Function, max_concurrency: int
    ) -> None:
        super().__init__(scope, construct_id, function=function, max_concurrency=max_concurrency)
        self.rule = events.Rule(
            self,
            "Rule",
            description="SageMaker Ground Truth labeling job state changes",
            event_pattern=event_pattern(labeling_job_state_change_pattern()),
            targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
        )
