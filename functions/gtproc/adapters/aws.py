"""boto3 clients, created on first use and reused across invocations (never one per call)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def client(service: str) -> Any:
    """A shared client for `service`. `AWS_ENDPOINT_URL` and the default credential chain apply."""
    return boto3.session.Session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests that swap the embedded AWS between cases)."""
    client.cache_clear()
