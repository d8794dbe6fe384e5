"""boto3 clients, created on first use and reused across invocations (never one per call)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def _session() -> boto3.session.Session:
    # One session for all clients: each session loads botocore's endpoint and partition data afresh,
    # which was most of a function's first-record time (one load per client).
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """A shared client for `service`. `AWS_ENDPOINT_URL` and the default credential chain apply."""
    return _session().client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients and their session (tests that swap the embedded AWS between cases)."""
    client.cache_clear()
    _session.cache_clear()
