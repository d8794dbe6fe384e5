"""AWS clients, created on first use and reused across invocations (never one per call).

botocore's session, not boto3's: the clients are the same, and boto3 adds its import and, on the S3
client, the transfer manager's (s3transfer) to every cold start for methods gtproc never calls.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.config import Config

from gtproc.adapters import botocore_data

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=60)


@cache
def _session() -> botocore.session.Session:
    # One session for all clients: each session loads botocore's endpoint and partition data afresh,
    # which was most of a function's first-record time (one load per client).
    session = botocore_data.FastSession()  # botocore.session.get_session(), with its events named faster
    botocore_data.install(session)  # the same models, loaded faster (a third of a client's creation)
    return session


@cache
def client(service: str) -> Any:
    """A shared client for `service`. `AWS_ENDPOINT_URL` and the default credential chain apply."""
    return _session().create_client(service, config=_CONFIG)


def reset_clients() -> None:
    """Forget cached clients and their session (tests that swap the embedded AWS between cases)."""
    client.cache_clear()
    _session.cache_clear()
