"""The example consumer's Lambda on gtproc's real events: class counts per job, each object counted once."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from gtproc.contract.consuming import DEDUP_KEYS
from gtproc.contract.events import OBJECTS_LABELED
from gtproc_consumer.runtime import handler as counter
from moto import mock_aws

TABLE = "class-counts"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "t"),
        ("AWS_SECRET_ACCESS_KEY", "t"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TABLE_NAME", TABLE)
    counter._dynamodb.cache_clear()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
    counter._dynamodb.cache_clear()


def as_delivered(line: dict[str, Any]) -> dict[str, Any]:
    """An --events-out line in the shape EventBridge hands the Lambda."""
    return {"version": "0", "id": "same-for-all", "account": "123456789012", "region": "us-east-1", **line}


def counts(client: Any, job: str) -> dict[str, int]:
    items = client.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CLASSES#{job}"}},
    )["Items"]
    return {item["sk"]["S"]: int(item["count"]["N"]) for item in items}


def labeled_events(published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [as_delivered(line) for line in published if line["detail-type"] == OBJECTS_LABELED]


def test_the_class_counts_of_a_job_are_those_of_its_final_manifest(published, expected_job, dynamodb):
    events = labeled_events(published)
    assert len(events) == 3  # one per iteration of the bundled job
    results = [counter.handler(event) for event in events]

    assert sum(result["counted"] for result in results) == 30
    final = next(m for m in expected_job["manifests"] if m["iteration"] is None)
    detail = events[0]["detail"]
    assert (
        counts(dynamodb, f"{detail['bucket']}/{detail['jobPath']}#{detail['labelAttributeName']}")
        == (final["classCounts"])
    )


def test_an_event_delivered_again_changes_nothing(published, dynamodb):
    events = labeled_events(published)
    for event in events:
        counter.handler(event)
    detail = events[0]["detail"]
    job = f"{detail['bucket']}/{detail['jobPath']}#{detail['labelAttributeName']}"
    before = counts(dynamodb, job)

    again = [counter.handler(event) for event in reversed(events)]  # the same ids: never what it keys on

    assert [result["counted"] for result in again] == [0, 0, 0]
    assert sum(result["alreadyCounted"] for result in again) == 30
    assert counts(dynamodb, job) == before


def test_a_repeat_in_a_new_event_counts_only_the_new_objects(published, dynamodb):
    first, second, _ = labeled_events(published)
    counter.handler(first)
    mixed = copy.deepcopy(second)
    mixed["id"] = "another-id"
    mixed["detail"]["objects"] = first["detail"]["objects"][:2] + second["detail"]["objects"]
    result = counter.handler(mixed)
    assert result == {"counted": len(second["detail"]["objects"]), "alreadyCounted": 2}


def test_the_same_object_of_another_job_or_attribute_is_counted(published, dynamodb):
    event = labeled_events(published)[0]
    counter.handler(event)
    for field, value in (("jobPath", "team/other"), ("bucket", "other-bucket"), ("labelAttributeName", "chained")):
        other = copy.deepcopy(event)
        other["detail"][field] = value
        assert counter.handler(other)["alreadyCounted"] == 0, field


def test_it_keys_on_the_contracts_dedup_key():
    assert DEDUP_KEYS[OBJECTS_LABELED] == counter.DEDUP_FIELDS


@pytest.mark.parametrize(
    ("label", "metadata", "names"),
    [
        (1, {"class-name": "Goose", "confidence": 0.8}, ["Goose"]),
        ([0, 2], {"class-map": {"0": "cat", "2": "dog"}}, ["cat", "dog"]),
        (
            {"annotations": [{"class_id": 0}, {"class_id": 0}, {"class_id": 1}], "image_size": []},
            {"class-map": {"0": "car", "1": "bus"}},
            ["car", "car", "bus"],
        ),
        ({"annotations": {"entities": [{"label": "PER"}, {"label": "ORG"}], "labels": []}}, {}, ["PER", "ORG"]),
        ("s3://bucket/masks/0.png", {"internal-color-map": {}}, []),
    ],
    ids=["classification", "multi-label", "boxes", "entities", "mask"],
)
def test_class_names_by_label_shape(label, metadata, names):
    assert counter.class_names(label, metadata) == names
