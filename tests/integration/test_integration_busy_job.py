"""A manifest of a job another invocation is processing goes back to its queue with a delay, as a copy
whose receive count starts again: waiting for a busy job never moves a message toward the DLQ."""

from __future__ import annotations

import msgspec
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from gtproc.adapters import sqs
from gtproc.adapters.dynamodb import DynamoJobState
from gtproc.handlers import manifests, wiring

KEY = "cars-bbox/manifests/intermediate/1/output.manifest"


def queued_with_attributes(aws) -> list[dict]:
    url = aws.resources.pipelines["manifests"].queue_url
    response = aws.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )
    return response.get("Messages", [])


@pytest.fixture
def busy(aws, monkeypatch):
    aws.put_sample(KEY, "bbox-three-iterations/cars-bbox/manifests/intermediate/1/output.manifest")
    # Another invocation holds the job's lease.
    holder = DynamoJobState(aws.resources.table_name)
    lease = holder.acquire(f"{aws.resources.output_bucket}/cars-bbox", "other", 1e12, 900)
    use_case = wiring.process_manifest()
    use_case.config = msgspec.structs.replace(use_case.config, lease_wait_seconds=0)
    monkeypatch.setattr(manifests, "LEASE_RETRY_SECONDS", 0)  # "soon" = now, so the test can see it
    return holder, lease


def test_a_busy_jobs_message_comes_back_as_a_fresh_copy_and_is_processed_once_free(aws, busy) -> None:
    holder, lease = busy
    [message] = aws.queued()
    record = aws.function.to_record(message)
    assert aws.invoke([record]) == {"batchItemFailures": []}
    assert aws.observed() == []

    # The original was acknowledged; its copy is queued, never received, and counts its requeues.
    [copy] = queued_with_attributes(aws)
    assert copy["MessageId"] != message["MessageId"] and copy["Body"] == record["body"]
    assert copy["Attributes"]["ApproximateReceiveCount"] == "1"
    assert copy["MessageAttributes"][sqs.REQUEUES_ATTRIBUTE]["StringValue"] == "1"

    # Still busy: the copy is requeued again, with the count carried on.
    aws.invoke([aws.function.to_record(copy)])
    [again] = queued_with_attributes(aws)
    assert again["MessageAttributes"][sqs.REQUEUES_ATTRIBUTE]["StringValue"] == "2"

    holder.release(lease)
    assert aws.invoke([aws.function.to_record(again)]) == {"batchItemFailures": []}
    assert aws.observed()  # published now
    assert aws.queued() == []


def test_a_failed_requeue_fails_the_record_so_the_original_is_not_lost(aws, busy, monkeypatch) -> None:
    def unreachable(record, seconds):
        raise ConnectionError("SQS unreachable")

    monkeypatch.setattr(wiring, "sqs_requeue", unreachable)
    [message] = aws.queued()
    with pytest.raises(BatchProcessingError, match="All records failed"):
        aws.invoke([aws.function.to_record(message)])
    # Not deleted: it comes back after its visibility timeout (made 0 here to see it).
    aws.sqs.change_message_visibility(
        QueueUrl=aws.resources.pipelines["manifests"].queue_url,
        ReceiptHandle=message["ReceiptHandle"],
        VisibilityTimeout=0,
    )
    assert [m["MessageId"] for m in aws.queued()] == [message["MessageId"]]


def test_the_handler_gives_the_use_case_its_invocations_deadline(aws, monkeypatch) -> None:
    import time

    from gtproc.usecases.process_manifest import ManifestOutcome

    deadlines = []

    def use_case(bucket, key, deadline=None):
        deadlines.append(deadline)
        return ManifestOutcome(key, "skipped", "test")

    monkeypatch.setattr(wiring, "process_manifest", lambda: use_case)
    aws.put_sample(KEY, "bbox-three-iterations/cars-bbox/manifests/intermediate/1/output.manifest")
    before = time.time()
    aws.invoke(aws.records())  # the test context has 300 s left
    assert len(deadlines) == 1 and before + 299 <= deadlines[0] <= time.time() + 300
