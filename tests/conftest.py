"""Fixtures shared by the test packages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from gtproc.adapters.aws import reset_clients
from moto import mock_aws

S3_TEST_BUCKET = "gt-output"


@dataclass
class FakeLambdaContext:
    """The attributes of Lambda's context that Powertools (inject_lambda_context) and the handlers read."""

    function_name: str = "gtproc-test"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:gtproc-test"
    memory_limit_in_mb: int = 1024
    log_group_name: str = "/aws/lambda/gtproc-test"
    log_stream_name: str = "test"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_millis: int = 300_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_millis


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context with 300 s left (the manifests handler derives its deadline from it)."""
    return FakeLambdaContext()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 client on moto, in process, with the bucket `gt-output`; no real credentials or endpoint leak in."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    reset_clients()
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=S3_TEST_BUCKET)
        yield client
    reset_clients()
