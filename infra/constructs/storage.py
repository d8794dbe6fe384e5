"""The buckets: Ground Truth's output bucket (created or imported), the labels bucket, their access logs."""

from __future__ import annotations

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import BASIC_EXECUTION_ALLOWS, BASIC_EXECUTION_ROLE, acknowledge


def _private_bucket(scope: Construct, construct_id: str, removal: RemovalPolicy, **props) -> s3.Bucket:
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        removal_policy=removal,
        auto_delete_objects=removal == RemovalPolicy.DESTROY,
        **props,
    )


class Storage(Construct):
    """`output_bucket` sends its S3 events to EventBridge; `labels_bucket` sends none, so the pipeline's
    own writes there can never trigger it again."""

    def __init__(
        self, scope: Construct, construct_id: str, *, output_bucket_name: str | None, removal: RemovalPolicy
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = _private_bucket(
            self,
            "AccessLogs",
            removal,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the server access log bucket; logging its own access would log the logging forever.",
        )
        abort_uploads = s3.LifecycleRule(abort_incomplete_multipart_upload_after=Duration.days(1))

        self.output_bucket: s3.IBucket
        if output_bucket_name:
            # Imported: CDK's notification custom resource merges (Managed: false) rather than replaces.
            self.output_bucket = s3.Bucket.from_bucket_name(self, "GroundTruthOutput", output_bucket_name)
            self.output_bucket.enable_event_bridge_notification()
        else:
            # "GroundTruth" in the id puts "groundtruth" in the generated bucket name: the managed policy
            # AmazonSageMakerGroundTruthExecution only grants S3 access to such bucket names.
            self.output_bucket = _private_bucket(
                self,
                "GroundTruthOutput",
                removal,
                versioned=True,
                event_bridge_enabled=True,
                server_access_logs_bucket=self.access_logs,
                server_access_logs_prefix="output/",
                lifecycle_rules=[
                    abort_uploads,
                    s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30)),
                ],
            )

        # Versioned: a ledger or labels part overwritten by a faulty run can be recovered.
        self.labels_bucket = _private_bucket(
            self,
            "Labels",
            removal,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="labels/",
            lifecycle_rules=[abort_uploads, s3.LifecycleRule(noncurrent_version_expiration=Duration.days(30))],
        )
        acknowledge_notifications_handler(Stack.of(self))


def acknowledge_notifications_handler(stack: Stack) -> None:
    """CDK's singleton Lambda that writes the bucket's notification configuration (S3 -> EventBridge)."""
    for child in stack.node.children:
        if child.node.id.startswith("BucketNotificationsHandler"):
            acknowledge(
                child,
                f"AwsSolutions-IAM4[{BASIC_EXECUTION_ROLE}]",
                f"CDK's S3 notifications custom resource handler. {BASIC_EXECUTION_ALLOWS}.",
            )


def retain_cdk_function_logs(stack: Stack) -> None:
    """CDK's own handlers (bucket notifications, auto-delete of objects) are bare CfnResources that
    would log to groups kept forever: point each at a log group of ours with the functions' retention."""
    for construct in stack.node.find_all():
        if not isinstance(construct, CfnResource) or isinstance(construct, lambda_.CfnFunction):
            continue  # a CfnFunction is one of ours (GtprocFunction): it has its log group
        if construct.cfn_resource_type != "AWS::Lambda::Function":
            continue
        group = logs.LogGroup(
            construct.node.scope,
            "Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        construct.add_property_override("LoggingConfig.LogGroup", group.log_group_name)
