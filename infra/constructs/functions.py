"""The Lambda functions: one code asset (functions/), one dependencies layer, one set of defaults."""

from __future__ import annotations

import fnmatch
import hashlib
import shutil
from pathlib import Path

import jsii
from aws_cdk import (
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    FileSystem,
    ILocalBundling,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct
from gtproc.contract.layout import FUNCTION_ENVIRONMENT, FUNCTION_MEMORY_MB, FUNCTION_TIMEOUT_SECONDS, SERVICE_NAME
from gtproc.settings import env_name, field_names, required_names

from infra.bytecode import add_bytecode, hash_tag
from infra.layer import ARCHITECTURE, PYTHON_VERSION, RUNTIME
from infra.nag import BASIC_EXECUTION_ALLOWS, BASIC_EXECUTION_ROLE, acknowledge, acknowledge_wildcards

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
# Only what the functions run: the CLI (`__main__`, cli/, report/ with matplotlib), the embedded-AWS
# replay (local/, moto) and the in-memory fakes stay out. tests/infra/test_infra_bundle.py checks it.
NOT_RUN_BY_FUNCTIONS = [
    "gtproc/__main__.py",
    "gtproc/cli",
    "gtproc/local",
    "gtproc/report",
    "gtproc/adapters/memory.py",
]
CODE_EXCLUDE = ["**/__pycache__", "**/*.pyc", "tests", "**/tests", "*.egg-info", ".*", *NOT_RUN_BY_FUNCTIONS]
TIMEOUT = Duration.seconds(FUNCTION_TIMEOUT_SECONDS)


def excluded(relative: str, patterns: list[str] = CODE_EXCLUDE) -> bool:
    """Whether a path under functions/ is left out, as CDK's `exclude` reads the patterns (gitignore's
    rules: a pattern with a slash is anchored at the root, one without matches at any depth)."""
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.removeprefix("**/")
        if "/" in pattern:
            if any(fnmatch.fnmatchcase("/".join(parts[:n]), pattern) for n in range(1, len(parts) + 1)):
                return True
        elif any(fnmatch.fnmatchcase(part, pattern) for part in parts):
            return True
    return False


@jsii.implements(ILocalBundling)
class CodeBundling:
    """The code asset: functions/ less CODE_EXCLUDE, with its bytecode for the runtime's Python (Lambda's
    file system is read-only, so sources alone are compiled at every cold start; see infra/bytecode.py)."""

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        copy_code(FUNCTIONS_DIR, Path(output_dir))
        add_bytecode(Path(output_dir), PYTHON_VERSION, ddir="/var/task", what="code")  # where Lambda puts it
        return True


def code_hash() -> str:
    """The code asset's hash: the sources it ships (CDK's fingerprint of functions/ less CODE_EXCLUDE),
    and whether its bytecode is made here and how (a source hash alone would not change when the
    bytecode comes or goes)."""
    sources = FileSystem.fingerprint(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDE)
    return hashlib.sha256(f"{sources}\n{hash_tag(PYTHON_VERSION)}".encode()).hexdigest()


def copy_code(source: Path, target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory).relative_to(source).as_posix()
        return {name for name in names if excluded(name if here == "." else f"{here}/{name}")}

    shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)


# Only what the code calls: GetObject, PutObject, and ListBucket (listings, and a 404 rather than a 403
# for an object deleted after its notification). Nothing is ever deleted or uploaded in parts.
S3_READ, S3_WRITE, S3_LIST = "s3:GetObject", "s3:PutObject", "s3:ListBucket"


def settings_environment(**values: str) -> dict[str, str]:
    """Environment variables for gtproc.settings.Settings, keyed by its field names; typos fail the synth."""
    unknown = set(values) - set(field_names())
    missing = required_names() - set(values)
    if unknown or missing:
        raise ValueError(f"Settings fields: unknown {sorted(unknown)}, missing {sorted(missing)}")
    return {env_name(name): value for name, value in values.items()}


class GtprocFunction(lambda_.Function):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: str,
        description: str,
        layer: lambda_.ILayerVersion,
        environment: dict[str, str],
        log_level: str,
        memory_size: int = FUNCTION_MEMORY_MB,
        function_name: str | None = None,
    ) -> None:
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        super().__init__(
            scope,
            construct_id,
            function_name=function_name,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=lambda_.Code.from_asset(
                str(FUNCTIONS_DIR),
                exclude=CODE_EXCLUDE,
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=code_hash(),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("unused-local-bundling-only"), local=CodeBundling()
                ),
            ),
            layers=[layer],
            memory_size=memory_size,
            timeout=TIMEOUT,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            environment={
                **environment,
                **FUNCTION_ENVIRONMENT,
                "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
                "POWERTOOLS_METRICS_NAMESPACE": SERVICE_NAME,
                "POWERTOOLS_LOG_LEVEL": log_level,
            },
        )
        acknowledge(
            self,
            "AwsSolutions-L1",
            "Pinned to python3.12: the layer is built for cp312; a newer runtime needs a rebuilt layer.",
        )
        acknowledge(
            self,
            f"AwsSolutions-IAM4[{BASIC_EXECUTION_ROLE}]",
            f"{BASIC_EXECUTION_ALLOWS}: the function writes only to its own log group.",
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
        )

    def _objects(self, bucket: s3.IBucket, actions: list[str], key_patterns: tuple[str, ...]) -> None:
        resources = [bucket.arn_for_objects(pattern) for pattern in key_patterns]
        self.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources))
        for pattern, arn in zip(key_patterns, resources, strict=True):
            acknowledge_wildcards(
                self,
                f"Only {' and '.join(actions)} of the keys matching {pattern!r} in this bucket: the job and"
                " object names in them are only known at run time",
                resources=(arn,),
            )

    def list_bucket(self, bucket: s3.IBucket) -> None:
        self.add_to_role_policy(iam.PolicyStatement(actions=[S3_LIST], resources=[bucket.bucket_arn]))

    def read_objects(self, bucket: s3.IBucket, *key_patterns: str) -> None:
        self._objects(bucket, [S3_READ], key_patterns)

    def write_objects(self, bucket: s3.IBucket, *key_patterns: str) -> None:
        self._objects(bucket, [S3_WRITE], key_patterns)

    def read_write_objects(self, bucket: s3.IBucket, *key_patterns: str) -> None:
        self._objects(bucket, [S3_READ, S3_WRITE], key_patterns)

    def describe_labeling_jobs(self) -> None:
        """sagemaker:DescribeLabelingJob has no CDK grant; any labeling job of this account and region."""
        jobs = Stack.of(self).format_arn(service="sagemaker", resource="labeling-job", resource_name="*")
        self.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:DescribeLabelingJob"], resources=[jobs]))
        acknowledge_wildcards(
            self,
            "The labeling job is named by the S3 key at run time: any job of this account and region",
            resources=(jobs,),
        )

    def describe_labeling_jobs_named(self, *job_names: str) -> None:
        """DescribeLabelingJob of the named jobs only (their ARNs end in the lower-cased name)."""
        stack = Stack.of(self)
        jobs = [
            stack.format_arn(service="sagemaker", resource="labeling-job", resource_name=name.lower())
            for name in job_names
        ]
        self.add_to_role_policy(iam.PolicyStatement(actions=["sagemaker:DescribeLabelingJob"], resources=jobs))
