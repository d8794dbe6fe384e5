"""The consumer's stack: a rule on the gtproc bus for `Objects Labeled` -> a Lambda counting classes in DynamoDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Acknowledgment, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"  # the function's code: the handler, nothing else
OBJECTS_LABELED = "Objects Labeled"


class ConsumerStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, event_bus_name: str, event_source: str, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, description="Counts the classes gtproc labels, per job", **kwargs)
        self.table = dynamodb.Table(
            self,
            "ClassCounts",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="sk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=RemovalPolicy.DESTROY,  # an example: its counts can be rebuilt by an archive replay
        )
        log_group = logs.LogGroup(
            self, "CounterLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        # Its own role, so that it may write its own log group only (not the managed basic execution policy).
        role = iam.Role(self, "CounterRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        log_group.grant_write(role)
        self.function = lambda_.Function(
            self,
            "Counter",
            runtime=lambda_.Runtime.PYTHON_3_14,  # the latest (cdk-nag L1); the handler needs only boto3
            architecture=lambda_.Architecture.ARM_64,
            handler="handler.handler",
            code=lambda_.Code.from_asset(str(RUNTIME_DIR), exclude=["__pycache__", "*.pyc"]),
            role=role,
            log_group=log_group,
            timeout=Duration.seconds(30),
            memory_size=256,
            environment={"TABLE_NAME": self.table.table_name},
            description="Counts each job's classes from gtproc's Objects Labeled events",
        )
        self.table.grant(self.function, "dynamodb:PutItem", "dynamodb:UpdateItem")  # what TransactWriteItems does
        # Events the function could not take after the retries wait here 14 days (redrive by hand).
        self.dead_letters = sqs.Queue(
            self,
            "CounterDeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        bus = events.EventBus.from_event_bus_name(self, "GtprocBus", event_bus_name)
        self.rule = events.Rule(
            self,
            "ObjectsLabeled",
            event_bus=bus,
            description="gtproc's Objects Labeled events to the class counter",
            event_pattern=events.EventPattern(source=[event_source], detail_type=[OBJECTS_LABELED]),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.dead_letters,
                retry_attempts=8,
                max_event_age=Duration.hours(24),
            )
        )
        Validations.of(self.dead_letters).acknowledge(
            Acknowledgment(
                id="AwsSolutions::AwsSolutions-SQS3", reason="It is itself the dead-letter queue of the rule's target"
            )
        )
