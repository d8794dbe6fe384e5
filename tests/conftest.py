"""Fixtures shared by the test packages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from gtproc.adapters.aws import reset_clients
from moto import mock_aws

S3_TEST_BUCKET = "gt-output"


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
