"""A moto server for the tests of `gtproc tail`, which talks to it through AWS_ENDPOINT_URL as to AWS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from gtproc.adapters.aws import reset_clients

REGION = "us-east-1"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a process that uses the moto server (no real credentials or profile leak in)."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    reset_clients()
    yield env
    reset_clients()


@pytest.fixture
def aws(aws_env: dict[str, str]) -> Any:
    """Clients of the moto server, by service name."""

    class Clients:
        def __getattr__(self, service: str) -> Any:
            return boto3.client(service, region_name=REGION, endpoint_url=aws_env["AWS_ENDPOINT_URL"])

    return Clients()
