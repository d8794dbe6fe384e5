"""The streaming Lambda handler on the embedded AWS (moto): a streaming job's output topic -> its queue
(the SNS envelope, as the stack subscribes it) -> handler -> bus, labels bucket and state table."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.streaming.conftest import line

pytestmark = pytest.mark.integration

JOB = "pets-stream"


def published(resources: Any) -> list[dict[str, Any]]:
    sqs, events = resources.client("sqs"), []
    while batch := sqs.receive_message(QueueUrl=resources.observer_queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in batch:
            events.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=resources.observer_queue_url, ReceiptHandle=message["ReceiptHandle"])
    return events


def test_a_streaming_jobs_messages_are_published_once_with_their_topic_and_lease_bound_to_the_deadline(
    lambda_context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gtproc.adapters.dynamodb import DynamoJobState
    from gtproc.adapters.memory import MemoryLabelingJobs
    from gtproc.handlers import streaming, wiring
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import Lambda
    from gtproc.usecases.ports import JobStatusInfo

    streaming.logger.setLevel("WARNING")
    leases: list[int] = []
    acquire = DynamoJobState.acquire

    def recorded(self: Any, job_id: str, owner: str, now: float, lease_seconds: int) -> Any:
        leases.append(lease_seconds)
        return acquire(self, job_id, owner, now, lease_seconds)

    monkeypatch.setattr(DynamoJobState, "acquire", recorded)
    with embedded_aws(streaming_jobs=(JOB,)) as resources:
        jobs = MemoryLabelingJobs()
        jobs.jobs[JOB] = JobStatusInfo(f"s3://{resources.output_bucket}/streams/", {})
        wiring.local_jobs = jobs  # moto has no DescribeLabelingJob
        topic = resources.streaming_topics[JOB]
        sns = resources.client("sns")
        good = json.dumps(line("pet-1", "a"))
        for text in (good, good, '{"source-ref": "s3://inputs/b.jpg", "pets'):  # a redelivery, a bad message
            sns.publish(TopicArn=topic, Message=text)
        function = Lambda(resources, f"streaming-{JOB}", streaming.handler)
        records = [function.to_record(message) for message in function.receive_all()]
        assert len(records) == 3

        lambda_context.remaining_millis = 60_000
        assert streaming.handler({"Records": records}, lambda_context) == {"batchItemFailures": []}
        events = published(resources)

        by_type = {event["detail-type"]: event["detail"] for event in events}
        assert sorted(event["detail-type"] for event in events) == ["Objects Labeled", "Validation Failed"]
        labeled, bad = by_type["Objects Labeled"], by_type["Validation Failed"]
        assert [o["datasetObjectId"] for o in labeled["objects"]] == ["pet-1"]
        assert labeled["topicArn"] == bad["topicArn"] == topic
        assert labeled["manifestUri"] is None and labeled["iteration"] is None
        assert [e["code"] for e in bad["errors"]] == ["json-invalid"]

        s3 = resources.client("s3")
        listed = s3.list_objects_v2(Bucket="gtproc-labels", Prefix=f"labels/{resources.output_bucket}/streams/{JOB}/")
        parts = [s3.get_object(Bucket="gtproc-labels", Key=o["Key"])["Body"].read() for o in listed["Contents"]]
        [part] = [p for p in parts if p]
        [label_line] = [json.loads(raw) for raw in part.splitlines()]
        assert (label_line["datasetObjectId"], label_line["status"], label_line["topicArn"]) == (
            "pet-1",
            "labeled",
            topic,
        )

        key = {"pk": {"S": f"JOB#{resources.output_bucket}/streams/{JOB}"}, "sk": {"S": "STATE"}}
        item = resources.client("dynamodb").get_item(TableName="gtproc-state", Key=key, ConsistentRead=True)["Item"]
        assert json.loads(item["summary"]["S"])["lastTopicArn"] == topic
        assert "leaseOwner" not in item  # released by the commit
    # Each message's lease: the invocation's 60 s left plus the grace, not the 900 s of a run without a deadline.
    assert len(leases) == 3 and all(60 <= seconds <= 60 + 10 + 1 for seconds in leases), leases
