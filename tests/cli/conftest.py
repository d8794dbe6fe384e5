"""A moto server started by the test, and the `gtproc` command run against it as a user would run it:
a subprocess with `AWS_ENDPOINT_URL` pointing at the server."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
JOBS = REPO / "events" / "jobs"


@dataclass
class MotoServer:
    endpoint: str
    env: dict[str, str]

    def client(self, service: str, **keys: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=keys.get("key_id", "testing"),
            aws_secret_access_key=keys.get("secret", "testing"),
        )

    def enforce_iam(self, on: bool = True) -> None:
        """moto's IAM enforcement: from now on every request is checked against its caller's policies."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if on else b"inf",
            method="POST",
            headers={"Content-Type": "text/plain"},  # not a form: the server reads the raw body
        )
        urllib.request.urlopen(request, timeout=10).read()

    def gtproc(self, *args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gtproc", *map(str, args)],
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def moto_server() -> Iterator[MotoServer]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request in the test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env |= {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    found = MotoServer(endpoint, env)
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
    try:
        yield found
    finally:
        found.enforce_iam(False)  # moto's settings are this process's: never leave enforcement on
        server.stop()


def labels_of_replay(plan: Path) -> dict[str, bytes]:
    """The labels bucket's objects after `plan` ran through the real pipelines on the embedded AWS."""
    from gtproc.handlers import annotations as annotations_handler
    from gtproc.handlers import manifests as manifests_handler
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import Replayer, load_writes

    writes = load_writes(plan)
    with embedded_aws() as resources:
        handlers = {"manifests": manifests_handler.handler, "annotations": annotations_handler.handler}
        result = Replayer(resources, handlers).run(writes)
        assert not any(result.dead_letters.values())
        s3 = resources.client("s3")
        keys = [
            item["Key"]
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resources.labels_bucket)
            for item in page.get("Contents", [])
        ]
        return {key: s3.get_object(Bucket=resources.labels_bucket, Key=key)["Body"].read() for key in keys}


_LABELS: dict[str, dict[str, bytes]] = {}


@pytest.fixture(scope="session")
def replayed_labels() -> Callable[[str], dict[str, bytes]]:
    """replayed_labels(name): the labels bucket after replaying events/jobs/<name>.plan.jsonl (made once).

    Session-scoped, so it is made before a test's moto server starts (the replay's in-process moto
    would reset the backends the server shares in this process)."""
    for name in ("bbox-three-iterations", "classification-failed-auto"):
        if name not in _LABELS:
            _LABELS[name] = labels_of_replay(JOBS / f"{name}.plan.jsonl")
    return _LABELS.__getitem__
