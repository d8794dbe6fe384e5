"""On moto: the consumer's rule, as synthesized, routes gtproc's real PutEvents to the counter's logic.

moto cannot run a Lambda without Docker, so the rule's target here is a queue standing in for the
function: what reaches it is exactly what EventBridge would invoke the function with.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from gtproc_consumer.runtime import handler as counter
from moto import mock_aws

pytestmark = [pytest.mark.integration, pytest.mark.infra]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, published: list[dict[str, Any]]) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "t"),
        ("AWS_SECRET_ACCESS_KEY", "t"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    counter._dynamodb.cache_clear()
    with mock_aws():
        yield lambda service: boto3.client(service, region_name="us-east-1")
    counter._dynamodb.cache_clear()


def deploy(aws: Any, synth: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The synthesized table and rule, made on moto; the URL of the queue standing in for the function."""
    (table,) = synth.of_type("AWS::DynamoDB::Table").values()
    properties = table["Properties"]
    aws("dynamodb").create_table(
        TableName="consumer-counts",
        KeySchema=properties["KeySchema"],
        AttributeDefinitions=properties["AttributeDefinitions"],
        BillingMode=properties["BillingMode"],
    )
    monkeypatch.setenv("TABLE_NAME", "consumer-counts")
    (rule,) = synth.of_type("AWS::Events::Rule").values()
    bus = rule["Properties"]["EventBusName"]
    aws("events").create_event_bus(Name=bus)
    aws("events").put_rule(
        Name="objects-labeled", EventBusName=bus, EventPattern=json.dumps(rule["Properties"]["EventPattern"])
    )
    url = aws("sqs").create_queue(QueueName="function-stand-in")["QueueUrl"]
    arn = aws("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("events").put_targets(Rule="objects-labeled", EventBusName=bus, Targets=[{"Id": "counter", "Arn": arn}])
    return url


def publish(aws: Any, bus: str, lines: list[dict[str, Any]]) -> None:
    entries = [
        {
            "Source": line["source"],
            "DetailType": line["detail-type"],
            "Detail": json.dumps(line["detail"]),
            "EventBusName": bus,
        }
        for line in lines
    ]
    for start in range(0, len(entries), 10):
        assert aws("events").put_events(Entries=entries[start : start + 10])["FailedEntryCount"] == 0


def drain(aws: Any, url: str) -> list[dict[str, Any]]:
    events = []
    while messages := aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        events += [json.loads(message["Body"]) for message in messages]
        aws("sqs").delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )
    return events


def test_the_rule_routes_only_objects_labeled_and_the_counter_counts_each_object_once(
    published, expected_job, consumer_synth, aws, monkeypatch
):
    url = deploy(aws, consumer_synth, monkeypatch)
    bus = "gtproc"
    detail_types = {line["detail-type"] for line in published}
    assert len(detail_types) >= 4  # the job publishes other detail types the rule must leave out
    foreign = [{**line, "source": "not-gtproc"} for line in published if line["detail-type"] == "Objects Labeled"]

    publish(aws, bus, published + foreign)
    delivered = drain(aws, url)

    assert {event["detail-type"] for event in delivered} == {"Objects Labeled"}
    assert {event["source"] for event in delivered} == {"gtproc"}
    assert len(delivered) == sum(line["detail-type"] == "Objects Labeled" for line in published)
    results = [counter.handler(event) for event in delivered]
    assert sum(result["counted"] for result in results) == 30

    publish(aws, bus, published)  # the whole job again, as an archive replay would send it
    again = [counter.handler(event) for event in drain(aws, url)]
    assert sum(result["counted"] for result in again) == 0

    detail = delivered[0]["detail"]
    items = aws("dynamodb").query(
        TableName="consumer-counts",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={
            ":pk": {"S": f"CLASSES#{detail['bucket']}/{detail['jobPath']}#{detail['labelAttributeName']}"}
        },
    )["Items"]
    final = next(m for m in expected_job["manifests"] if m["iteration"] is None)
    assert {item["sk"]["S"]: int(item["count"]["N"]) for item in items} == final["classCounts"]
