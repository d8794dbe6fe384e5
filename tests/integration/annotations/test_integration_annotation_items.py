"""The DynamoDB items the annotations use case leaves, on the embedded AWS: the keys and bodies
deployed tables hold (`JOB#<bucket>/<job>`, `ANN#`/`CMP#`/`INV#` sort keys, the claimed event)."""

from __future__ import annotations

import hashlib
import json
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
