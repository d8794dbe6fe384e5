"""The DynamoDB claim calls of the publish-once session, on the embedded AWS."""

from __future__ import annotations

import contextlib
import json

from gtproc.adapters.annotation_store import DynamoAnnotationStore
from gtproc.usecases.ports import EventEntry
from gtproc.usecases.publish_once import Claim, PublishOnce

JOB, RECORD = "bucket/job", "ANN#1#7"


def test_release_take_over_and_resume_on_dynamodb(aws) -> None:
    store = DynamoAnnotationStore(aws.resources.table_name)
    now = [1_000_000.0]
    published: list[EventEntry] = []
    failures = [ConnectionError("read timeout")]

    def bus(entry: EventEntry) -> None:
        if failures:
            raise failures.pop()
        published.append(entry)

    once = PublishOnce(store, bus, lambda: now[0], 900)
    detail = {"jobName": "job", "datasetObjectId": "7", "label": "cat"}
    with contextlib.suppress(ConnectionError):
        once.publish(JOB, RECORD, EventEntry("Annotations Consolidated", json.dumps(detail).encode(), ()), detail)
    assert published == []
    assert store.take_over(JOB, RECORD, "other", now[0], now[0] - 900) is not None  # released: stale at once
    assert once.check(JOB, RECORD) is Claim.BUSY  # "other" owns it now

    now[0] += 901
    assert once.check(JOB, RECORD) is Claim.RESUMED
    assert [json.loads(e.detail) for e in published] == [detail]
    assert store.take_over(JOB, RECORD, "late", now[0], now[0]) is None  # published: never taken again
    assert once.check(JOB, RECORD) is Claim.PUBLISHED
