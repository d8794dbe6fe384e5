"""The DynamoDB items the annotations use case leaves, on the embedded AWS: the keys and bodies
deployed tables hold (`JOB#<bucket>/<job>`, `ANN#`/`CMP#`/`INV#` sort keys, the claimed event)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest
from gtproc.adapters.annotation_store import DynamoAnnotationStore
from gtproc.adapters.memory import MemoryBlobs, MemoryJobs, MemoryPublisher
from gtproc.usecases.consolidate_annotations import ConsolidateAnnotations

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[3] / "events" / "jobs"
TREE = JOBS / "classification-failed-auto"
PLAN = JOBS / "classification-failed-auto.plan.jsonl"
JOB, BUCKET = "flowers-classification", "gt-output-bucket"
BROKEN = f"{JOB}/annotations/worker-response/iteration-1/99/2019-04-18_16:00:00.json"


def items(ddb: Any, table: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["pk"]["S"] == f"JOB#{BUCKET}/{JOB}":
                found[item["sk"]["S"]] = item
    return found


def test_items_keep_the_deployed_keys_and_bodies(aws) -> None:
    blobs, publisher = MemoryBlobs(), MemoryPublisher()
    keys = [json.loads(line)["key"] for line in PLAN.read_text().splitlines()]
    annotation_keys = [k for k in keys if "/annotations/" in k and "/intermediate/" not in k]
    for key in annotation_keys:
        blobs.write(BUCKET, key, (TREE / key).read_bytes())
    blobs.write(BUCKET, BROKEN, b"{not json")
    store = DynamoAnnotationStore(aws.resources.table_name, aws.ddb)
    use_case = ConsolidateAnnotations(blobs, MemoryJobs({}), store, publisher, clock=lambda: 1_700_000_000.0)

    for key in [*annotation_keys, BROKEN]:
        use_case(BUCKET, key)

    expected: dict[str, tuple[str, bytes]] = {}
    for entry in publisher.events:
        detail = json.loads(entry.detail)
        prefix = {"Annotations Consolidated": "ANN", "Consolidation Compared": "CMP"}.get(entry.detail_type)
        if prefix is None:
            sk = f"INV#1#{hashlib.sha256(BROKEN.encode()).hexdigest()[:32]}"
        else:
            sk = f"{prefix}#{detail['iteration']}#{detail['datasetObjectId']}"
        expected[sk] = (entry.detail_type, entry.detail)
    assert {t for t, _ in expected.values()} == {
        "Annotations Consolidated",
        "Consolidation Compared",
        "Annotation File Invalid",
    }

    stored = items(aws.ddb, aws.resources.table_name)
    annotation_items = {sk: item for sk, item in stored.items() if sk != "QUALITY"}
    assert set(annotation_items) == set(expected)
    for sk, (detail_type, detail) in expected.items():
        item = annotation_items[sk]
        assert item["status"] == {"S": "published"}
        # The body is the claim as first written: the event's fields after its status and type.
        body = {"status": "pending", "eventDetailType": detail_type, **msgspec.json.decode(detail)}
        assert item["body"]["S"] == msgspec.json.encode(body).decode(), sk
        assert set(item) == {"pk", "sk", "owner", "status", "claimedAt", "body"}
    assert "version" in stored["QUALITY"] and "state" in stored["QUALITY"]


def _operations(ddb: Any) -> Counter[str]:
    """Counts each DynamoDB operation the client sends from now on."""
    sent: Counter[str] = Counter()
    ddb.meta.events.register("before-call.dynamodb", lambda model, **_: sent.update([model.name]))
    return sent


@pytest.mark.parametrize("record", [False, True])
@pytest.mark.parametrize("quality", [False, True])
def test_record_and_quality_read_together_as_read_apart(aws, record: bool, quality: bool) -> None:
    store = DynamoAnnotationStore(aws.resources.table_name, aws.ddb)
    job, record_id = f"{BUCKET}/{JOB}", "ANN#1#7"
    if record:
        assert store.claim(job, record_id, "owner-1", 1_700_000_000.0, {"status": "pending", "n": 1})
    if quality:
        assert store.save_quality(job, {"family": "single-label", "workers": ["w"]}, 0)
        assert store.save_quality(job, {"family": "single-label", "workers": ["w", "v"]}, 1)
    apart = (store.get(job, record_id), store.load_quality(job))
    sent = _operations(aws.ddb)

    assert store.get_with_quality(job, record_id) == apart
    assert sent == Counter({"BatchGetItem": 1})
    assert (apart[0] is not None) is record and apart[1][1] == (2 if quality else 0)


class _Unprocessed:
    """A DynamoDB client whose BatchGetItem leaves the given sort keys unprocessed, as under throttling."""

    def __init__(self, ddb: Any, left: set[str]) -> None:
        self.ddb, self.left = ddb, left

    def __getattr__(self, name: str) -> Any:
        return getattr(self.ddb, name)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        response = self.ddb.batch_get_item(RequestItems=RequestItems)
        ((table, request),) = RequestItems.items()
        response["Responses"][table] = [i for i in response["Responses"][table] if i["sk"]["S"] not in self.left]
        keys = [key for key in request["Keys"] if key["sk"]["S"] in self.left]
        response["UnprocessedKeys"] = {table: {**request, "Keys": keys}} if keys else {}
        return response


@pytest.mark.parametrize("left", [{"ANN#1#7"}, {"QUALITY"}, {"ANN#1#7", "QUALITY"}])
def test_keys_left_unprocessed_are_read_one_by_one(aws, left: set[str]) -> None:
    store = DynamoAnnotationStore(aws.resources.table_name, aws.ddb)
    job = f"{BUCKET}/{JOB}"
    assert store.claim(job, "ANN#1#7", "owner-1", 1_700_000_000.0, {"status": "pending"})
    assert store.save_quality(job, {"family": "boxes"}, 0)
    sent = _operations(aws.ddb)

    read = DynamoAnnotationStore(aws.resources.table_name, _Unprocessed(aws.ddb, left)).get_with_quality(job, "ANN#1#7")
    calls = Counter(sent)

    assert read == (store.get(job, "ANN#1#7"), store.load_quality(job))
    assert read[0] is not None and read[1][0] is not None  # never taken as absent
    assert calls == Counter({"BatchGetItem": 1, "GetItem": len(left)})


def test_a_worker_response_reads_its_record_and_the_quality_in_one_round_trip(aws) -> None:
    blobs = MemoryBlobs()
    key = next(
        k for k in (json.loads(line)["key"] for line in PLAN.read_text().splitlines()) if "/worker-response/" in k
    )
    blobs.write(BUCKET, key, (TREE / key).read_bytes())
    store = DynamoAnnotationStore(aws.resources.table_name, aws.ddb)
    publisher = MemoryPublisher()
    use_case = ConsolidateAnnotations(blobs, MemoryJobs({}), store, publisher, clock=lambda: 1_700_000_000.0)
    sent = _operations(aws.ddb)

    use_case(BUCKET, key)
    first = Counter(sent)
    use_case(BUCKET, key)  # the same write delivered again

    assert [e.detail_type for e in publisher.events] == ["Annotations Consolidated"]
    # Read both, claim, mark, save the quality; the redelivery reads once and stops.
    assert first == Counter({"BatchGetItem": 1, "PutItem": 2, "UpdateItem": 1})
    assert sent - first == Counter({"BatchGetItem": 1})
