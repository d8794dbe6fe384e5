"""Every sample trigger event through the handler; the DynamoDB lease and journal; recovery of a dead run."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from gtproc.adapters.dynamodb import DynamoJobState
from gtproc.adapters.eventbridge import EventBridgePublisher
from gtproc.adapters.labels_store import S3LabelStore
from gtproc.adapters.s3 import S3Objects
from gtproc.domain.ledger import FactKey, FactKind
from gtproc.usecases.ports import LeaseHeld
from gtproc.usecases.process_manifest import ProcessManifest

pytestmark = pytest.mark.integration

CARS = "cars-bbox"
FLOWERS = "flowers-classification"
SPECIAL = "exports/Team A+B/라벨링 é/cars-bbox"
L, F, V, C = "Objects Labeled", "Objects Failed", "Validation Failed", "Labeling Job Completed"

# trigger file -> (records that fail, objects published per (detail type, job), completions)
TRIGGERS: dict[str, tuple[int, dict[tuple[str, str], int], int]] = {
    "eventbridge-object-created-intermediate-manifest.json": (0, {(L, CARS): 10}, 0),
    "eventbridge-object-created-final-manifest.json": (0, {(L, CARS): 30}, 1),
    "eventbridge-object-created-worker-response.json": (0, {}, 0),
    "eventbridge-object-created-consolidation-response.json": (0, {}, 0),
    "eventbridge-object-created-special-key.json": (0, {(L, CARS): 30}, 1),
    "eventbridge-object-created-unencoded-key.json": (0, {}, 0),
    "eventbridge-object-created-bad-input-manifest.json": (0, {(L, "broken-job"): 3, (F, "broken-job"): 1}, 0),
    "eventbridge-object-created-empty-manifest.json": (0, {}, 0),
    "sqs-wrapping-eventbridge-manifest.json": (0, {(L, CARS): 10, (L, FLOWERS): 37, (F, FLOWERS): 3}, 1),
    "sqs-wrapping-eventbridge-rewrites.json": (0, {(L, CARS): 30}, 0),
    "s3-notification-put.json": (0, {(L, CARS): 10}, 0),
    "sqs-wrapping-s3-notification.json": (0, {(L, CARS): 30}, 1),
    "s3-test-event.json": (0, {}, 0),
    "sqs-wrapping-s3-test-event.json": (0, {}, 0),
    # not an S3 event: the record fails; alone in its batch, the whole invocation fails
    "eventbridge-sagemaker-labeling-job-completed.json": (1, {}, 0),
}


def catalog(helpers) -> dict[str, list[dict[str, str]]]:
    lines = (helpers.triggers / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    return {entry["file"]: entry["objects"] for entry in map(json.loads, lines)}


def as_sqs_records(event: dict[str, Any]) -> list[dict[str, Any]]:
    """SQS Lambda events are fed as they are; a bare event is wrapped as the body of one SQS record."""
    records = event.get("Records")
    if records and records[0].get("eventSource") == "aws:sqs":
        return records
    return [
        {
            "messageId": "wrapped-0",
            "receiptHandle": "handle",
            "body": json.dumps(event),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:gtproc-manifests",
            "awsRegion": "us-east-1",
        }
    ]


def test_every_trigger_file_is_covered(helpers) -> None:
    assert {p.name for p in helpers.triggers.glob("*.json")} == set(TRIGGERS)


@pytest.mark.parametrize("trigger", sorted(TRIGGERS))
def test_trigger_event_through_the_handler(aws, helpers, trigger: str) -> None:
    failures, expected_objects, completions = TRIGGERS[trigger]
    objects = catalog(helpers).get(trigger, [])
    for obj in objects:  # in catalog order: a key written twice keeps the last file
        aws.put_sample(obj["decoded"], obj["file"])
    routed = Counter(json.loads(m["Body"])["detail"]["object"]["key"] for m in aws.queued("manifests"))
    assert routed == Counter(o["decoded"] for o in objects if o["decoded"].endswith("/output.manifest"))
    event = json.loads((helpers.triggers / trigger).read_text(encoding="utf-8"))
    records = as_sqs_records(event)

    if failures == len(records):
        with pytest.raises(BatchProcessingError, match="All records failed"):
            aws.invoke(records)
    else:
        assert len(aws.invoke(records)["batchItemFailures"]) == failures
    events = aws.observed()
    per_job = Counter()
    for (detail_type, job, _attribute, _id), n in helpers.object_facts(events).items():
        assert n == 1
        per_job[(detail_type, job)] += 1
    assert dict(per_job) == expected_objects
    assert len(helpers.by_type(events, C)) == completions
    if trigger == "eventbridge-object-created-bad-input-manifest.json":
        (invalid,) = helpers.by_type(events, V)
        assert invalid["invalidCount"] == 6
    else:
        assert helpers.by_type(events, V) == []
    if "special" in trigger or trigger == "sqs-wrapping-s3-notification.json":
        assert {d["manifestUri"] for d in helpers.by_type(events, L)} == {
            f"s3://gt-output-bucket/{SPECIAL}/manifests/output/output.manifest"
        }
        assert aws.state_item(f"gt-output-bucket/{SPECIAL}")["version"] == {"N": "1"}


# ---- DynamoDB job state ---------------------------------------------------------------------------------------


def test_dynamodb_lease_is_exclusive_until_it_expires(aws) -> None:
    state = DynamoJobState(aws.resources.table_name, aws.ddb)
    job = "gt-output-bucket/cars-bbox"
    first = state.acquire(job, "first", now=1000.0, lease_seconds=60)
    assert first.version == 0
    with pytest.raises(LeaseHeld):
        state.acquire(job, "second", now=1059.0, lease_seconds=60)
    assert state.acquire(job, "first", now=1010.0, lease_seconds=60).owner == "first"  # the owner may renew

    taken = state.acquire(job, "second", now=1071.0, lease_seconds=60)  # expired at 1070
    assert taken.owner == "second"
    with pytest.raises(LeaseHeld):
        state.commit(first, 1, now=1072.0, summary={})
    state.release(first)  # not the owner: no effect, no error
    assert aws.state_item(job)["leaseOwner"] == {"S": "second"}

    state.commit(taken, 1, now=1073.0, summary={"labeled": 1})
    item = aws.state_item(job)
    assert item["version"] == {"N": "1"} and "leaseOwner" not in item
    assert state.acquire(job, "third", now=1074.0, lease_seconds=60).version == 1


def test_dynamodb_journal_returns_what_was_published_after_a_version(aws) -> None:
    state = DynamoJobState(aws.resources.table_name, aws.ddb)
    job = "gt-output-bucket/cars-bbox"
    lease = state.acquire(job, "run", now=1000.0, lease_seconds=60)
    facts = [FactKey(FactKind.LABELED, "cars-bbox", i, 2**62 + i) for i in range(30)]
    state.record_published(lease, facts[:10], now=1001.0)
    state.record_published(lease, facts[10:], now=1002.0)
    state.record_published(lease, [], now=1003.0)

    assert sorted(state.published_since(job, 0), key=lambda f: f.index) == facts
    assert state.published_since(job, 1) == []
    assert state.published_since("gt-output-bucket/other-job", 0) == []


class CommitDiesOnce(DynamoJobState):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.dead = False

    def commit(self, lease: Any, new_version: int, now: float, summary: dict[str, object]) -> None:
        if not self.dead:
            self.dead = True
            raise TimeoutError("Lambda timed out before the commit")
        super().commit(lease, new_version, now, summary)


def test_a_run_dying_before_commit_is_recovered_on_aws_adapters(aws, helpers) -> None:
    resources = aws.resources
    s3 = S3Objects(resources.client("s3"))
    use_case = ProcessManifest(
        reader=s3,
        state=CommitDiesOnce(resources.table_name, aws.ddb),
        labels=S3LabelStore(resources.labels_bucket, "labels", s3),
        publisher=EventBridgePublisher(resources.bus_name, resources.event_source, resources.client("events")),
        sleep=lambda seconds: None,
    )
    int1 = "cars-bbox/manifests/intermediate/1/output.manifest"
    int3 = "cars-bbox/manifests/intermediate/3/output.manifest"
    aws.put_sample(int1, "bbox-three-iterations/" + int1)
    aws.put_sample(int3, "bbox-three-iterations/" + int3)

    with pytest.raises(TimeoutError):
        use_case(resources.output_bucket, int1)
    item = aws.state_item("gt-output-bucket/cars-bbox")
    assert "leaseOwner" not in item and "version" not in item  # released, not committed
    outcome = use_case(resources.output_bucket, int3)

    assert outcome.published == {L: 20}
    events = aws.observed()
    facts = helpers.object_facts(events)
    assert len(facts) == 30 and max(facts.values()) == 1
    assert aws.state_item("gt-output-bucket/cars-bbox")["version"] == {"N": "1"}
    labels = use_case.labels.read_labels("gt-output-bucket/cars-bbox")
    assert sorted(int(r["datasetObjectId"]) for r in labels) == list(range(30))
