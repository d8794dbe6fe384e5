"""The manifests Lambda handler on the embedded AWS (moto): S3 -> EventBridge rule -> SQS -> handler -> bus.

`aws` gives a fresh embedded AWS per test and a driver that writes objects, turns the queued messages
into the Lambda SQS event as AWS shapes it (URL-encoded keys), invokes the real handler and reads
what arrived on the bus through the observer queue.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[2] / "events"
JOBS = EVENTS / "jobs"
TRIGGERS = EVENTS / "triggers"


class Driver:
    def __init__(self, resources: Any, context: Any) -> None:
        from gtproc.handlers import manifests
        from gtproc.local.replay import Lambda

        manifests.logger.setLevel("WARNING")
        self.resources = resources
        self.context = context
        self.handler = manifests.handler
        self.s3 = resources.client("s3")
        self.sqs = resources.client("sqs")
        self.ddb = resources.client("dynamodb")
        self.function = Lambda(resources, "manifests", manifests.handler)

    # -- S3 and the queues
    def put(self, key: str, body: bytes, bucket: str | None = None) -> None:
        self.s3.put_object(Bucket=bucket or self.resources.output_bucket, Key=key, Body=body)

    def put_sample(self, key: str, file: str) -> None:
        self.put(key, (JOBS / file).read_bytes())

    def queued(self, pipeline: str = "manifests") -> list[dict[str, Any]]:
        url = self.resources.pipelines[pipeline].queue_url
        messages = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
            if not batch.get("Messages"):
                return messages
            messages.extend(batch["Messages"])

    def records(self) -> list[dict[str, Any]]:
        """The queued messages as the Lambda SQS event source would hand them over."""
        return [self.function.to_record(m) for m in self.queued()]

    # -- the handler
    def invoke(self, records: list[dict[str, Any]]) -> dict[str, Any]:
        return self.handler({"Records": records}, self.context)

    def deliver(self) -> dict[str, Any]:
        records = self.records()
        assert records, "nothing was routed to the manifests queue"
        return self.invoke(records)

    def write_and_deliver(self, key: str, body: bytes) -> dict[str, Any]:
        self.put(key, body)
        return self.deliver()

    # -- the bus
    def observed(self) -> list[dict[str, Any]]:
        events = []
        url = self.resources.observer_queue_url
        while True:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return events
            for message in batch["Messages"]:
                events.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    # -- state
    def state_item(self, job_id: str) -> dict[str, Any] | None:
        key = {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": "STATE"}}
        return self.ddb.get_item(TableName=self.resources.table_name, Key=key, ConsistentRead=True).get("Item")


def object_facts(events: list[dict[str, Any]]) -> Counter[tuple[str, str, str, str]]:
    """(detail type, job, label attribute, datasetObjectId) of every object on the bus, counted."""
    return Counter(
        (e["detail-type"], e["detail"]["jobName"], e["detail"]["labelAttributeName"], o["datasetObjectId"])
        for e in events
        if isinstance(e["detail"].get("objects"), list)
        for o in e["detail"]["objects"]
    )


def by_type(events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in events if e["detail-type"] == detail_type]


@pytest.fixture
def aws(lambda_context: Any) -> Iterator[Driver]:
    from gtproc.local.embedded import embedded_aws

    with embedded_aws() as resources:
        yield Driver(resources, lambda_context)


@pytest.fixture
def make_aws(lambda_context: Any):
    """Embedded AWS with options (e.g. a key prefix): `with make_aws(key_prefix=...) as driver:`."""
    from contextlib import contextmanager

    from gtproc.local.embedded import embedded_aws

    @contextmanager
    def make(**options: Any) -> Iterator[Driver]:
        with embedded_aws(**options) as resources:
            yield Driver(resources, lambda_context)

    return make


@pytest.fixture
def helpers() -> Any:
    """Module-level helpers of this conftest, as a fixture."""

    class Helpers:
        object_facts = staticmethod(object_facts)
        by_type = staticmethod(by_type)
        jobs = JOBS
        triggers = TRIGGERS

    return Helpers
