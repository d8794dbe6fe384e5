"""CloudWatch alarms on what needs a human: dead letters, function errors, a queue falling behind."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.pipeline import S3EventPipeline

OLDEST_MESSAGE_AGE = Duration.minutes(30)
NEAR_TIMEOUT = 0.8  # a run longer than this share of the timeout is one large input away from timing out


class Alarms(Construct):
    """Alarms notify `alarm_email` through an encrypted SNS topic when it is set; otherwise they only
    change state (console, dashboards, your own EventBridge rules on "CloudWatch Alarm State Change")."""

    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic: sns.Topic | None = None
        if alarm_email:
            # CloudWatch cannot publish to a topic under the AWS-managed SNS key: a customer key it may use.
            key = kms.Key(self, "TopicKey", enable_key_rotation=True, description="gtproc alarm topic")
            key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
            self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True)
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self.alarms: list[cloudwatch.Alarm] = []

    def _alarm(self, construct_id: str, metric: cloudwatch.Metric, threshold: float, description: str) -> None:
        alarm = metric.create_alarm(
            self,
            construct_id,
            alarm_description=description,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if self.topic:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        self.alarms.append(alarm)

    def watch_function(self, name: str, function: lambda_.Function) -> None:
        self._alarm(
            f"{name}Errors",
            function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            0,
            f"{name}: the function failed (errors, timeouts, out of memory); see its logs",
        )
        self._alarm(
            f"{name}Throttles",
            function.metric_throttles(period=Duration.minutes(5), statistic="Sum"),
            0,
            f"{name}: invocations were throttled (account concurrency or maxConcurrency reached)",
        )
        timeout = (function.timeout or Duration.seconds(3)).to_milliseconds()
        self._alarm(
            f"{name}NearTimeout",
            function.metric_duration(period=Duration.minutes(5), statistic="Maximum"),
            timeout * NEAR_TIMEOUT,
            f"{name}: a run took over {NEAR_TIMEOUT:.0%} of the {timeout / 1000:.0f} s timeout",
        )

    def watch_invalid_annotation_files(self, namespace: str, service: str) -> None:
        """The annotations function's own metric, once per file reported as `Annotation File Invalid`."""
        metric = cloudwatch.Metric(
            namespace=namespace,
            metric_name="InvalidAnnotationFiles",
            dimensions_map={"service": service},  # Powertools' default dimension
            period=Duration.minutes(5),
            statistic="Sum",
        )
        self._alarm(
            "InvalidAnnotationFiles",
            metric,
            0,
            "Annotations: a worker-response or consolidation file could not be used; see the Annotation File"
            " Invalid event (fileUri, code, message)",
        )

    def watch_pipeline(self, name: str, pipeline: S3EventPipeline) -> None:
        self.watch_queue(name, pipeline)
        self.watch_function(name, pipeline.function)

    def watch_queue(self, name: str, pipeline: S3EventPipeline) -> None:
        """The pipeline's DLQ and queue age (any construct with `queue` and `dlq`)."""
        self._alarm(
            f"{name}DeadLetters",
            pipeline.dlq.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum"),
            0,
            f"{name}: messages in the dead-letter queue; fix the cause, then redrive them to the queue",
        )
        self._alarm(
            f"{name}QueueAge",
            pipeline.queue.metric_approximate_age_of_oldest_message(period=Duration.minutes(5), statistic="Maximum"),
            OLDEST_MESSAGE_AGE.to_seconds(),
            f"{name}: the oldest queued message waits for over 30 minutes; the function falls behind",
        )
