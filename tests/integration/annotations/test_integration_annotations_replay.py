"""The annotations Lambda handler on the embedded AWS (moto): S3 -> EventBridge rule -> SQS -> handler -> bus,
driven by the local replay with the worker-response and consolidation files of the flowers job."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from gtproc.domain.consolidation import QualityState
from gtproc.local.embedded import EmbeddedResources, embedded_aws
from gtproc.local.replay import Published, Replayer, ReplayResult, Write, facts, load_writes

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[3] / "events" / "jobs"
JOB = "flowers-classification"
EXPECTED = json.loads((JOBS / "classification-failed-auto.expected.json").read_text())
PLAN = [json.loads(line)["key"] for line in (JOBS / "classification-failed-auto.plan.jsonl").read_text().splitlines()]
CONSOLIDATED, COMPARED = "Annotations Consolidated", "Consolidation Compared"


def response_objects() -> set[tuple[int, str]]:
    found = set()
    for path in (JOBS / "classification-failed-auto" / JOB).rglob("consolidation-response/iteration-*/*.json"):
        iteration = int(path.parent.name.removeprefix("iteration-"))
        found |= {(iteration, item["datasetObjectId"]) for item in json.loads(path.read_bytes())}
    return found


WORKER_OBJECTS = {(int(it), str(oid)) for it, oids in EXPECTED["iterations"].items() for oid in oids}
COMPARED_OBJECTS = response_objects()
EXPECTED_FACTS = {(CONSOLIDATED, JOB, it, oid) for it, oid in WORKER_OBJECTS} | {
    (COMPARED, JOB, it, oid) for it, oid in COMPARED_OBJECTS
}


@pytest.fixture(scope="module")
def annotation_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only the job's annotation files (no manifests), keyed as in the bucket."""
    root = tmp_path_factory.mktemp("flowers") / "tree"
    shutil.copytree(JOBS / "classification-failed-auto" / JOB / "annotations", root / JOB / "annotations")
    return root


def in_write_order(writes: list[Write]) -> list[Write]:
    """The order Ground Truth wrote them (the sample's plan): worker responses before their consolidation."""
    position = {key: n for n, key in enumerate(PLAN)}
    assert all(w.key in position for w in writes)
    return sorted(writes, key=lambda w: position[w.key])


class Recorder:
    """The handler, recording the SQS records it was given."""

    def __init__(self) -> None:
        from gtproc.handlers import annotations

        annotations.logger.setLevel("WARNING")
        self.handler = annotations.handler
        self.records: list[dict[str, Any]] = []

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.records.extend(event["Records"])
        return self.handler(event, context)

    def keys(self) -> list[str]:
        return [json.loads(record["body"])["detail"]["object"]["key"] for record in self.records]


class Run:
    """What one replay left behind, read before the embedded AWS is torn down."""

    def __init__(self, resources: EmbeddedResources, result: ReplayResult, recorder: Recorder) -> None:
        self.event_source = resources.event_source
        self.result = result
        self.recorder = recorder
        self.items = table_items(resources, f"{resources.output_bucket}/{JOB}")


def replay(files: Path, chaos_seed: int | None = None) -> Run:
    with embedded_aws() as resources:
        recorder = Recorder()
        writes = in_write_order(load_writes(files))
        result = Replayer(resources, {"annotations": recorder}, chaos_seed=chaos_seed).run(writes)
        return Run(resources, result, recorder)


def table_items(resources: EmbeddedResources, job_id: str) -> list[dict[str, Any]]:
    ddb = resources.client("dynamodb")
    pages = ddb.get_paginator("query").paginate(
        TableName=resources.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"JOB#{job_id}"}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


def quality_of(items: list[dict[str, Any]]) -> tuple[QualityState, int]:
    [item] = [i for i in items if i["sk"]["S"] == "QUALITY"]
    return QualityState.from_json(json.loads(item["state"]["S"])), int(item["version"]["N"])


def details(events: list[Published], detail_type: str) -> list[dict[str, Any]]:
    return [e.detail for e in events if e.detail_type == detail_type]


@pytest.fixture(scope="module")
def ordered(annotation_files: Path) -> Run:
    return replay(annotation_files)


def test_one_annotations_consolidated_per_object_with_worker_responses(ordered):
    result = ordered.result
    consolidated = details(result.events, CONSOLIDATED)
    assert Counter((d["iteration"], d["datasetObjectId"]) for d in consolidated) == Counter(WORKER_OBJECTS)
    assert {e.source for e in result.events} == {ordered.event_source}
    failed = {str(oid) for oid in EXPECTED["sentToHumansButFailed"]}
    assert not failed & {d["datasetObjectId"] for d in consolidated}  # failed objects have no worker response
    for detail in consolidated:
        assert detail["jobName"] == JOB
        assert detail["labelAttributeName"] == JOB  # the embedded AWS has no SageMaker: the job name
        assert detail["taskType"] == "groundtruth/image-classification"
        assert detail["metadata"]["class-name"] in EXPECTED["labelCategories"]
        assert detail["workers"] == EXPECTED["workersPerObject"] == len(detail["workerIds"])


def test_consolidation_compared_for_the_objects_of_the_responses(ordered):
    compared = details(ordered.result.events, COMPARED)
    assert Counter((d["iteration"], d["datasetObjectId"]) for d in compared) == Counter(COMPARED_OBJECTS)
    for detail in compared:
        same = detail["ours"]["metadata"]["class-name"] == detail["groundTruth"]["metadata"]["class-name"]
        assert detail["agree"] is same
    assert all(d["agree"] for d in compared), "our consolidation should match Ground Truth's on this job"


def test_every_write_delivered_and_nothing_dead_lettered(ordered):
    result = ordered.result
    routed = [w for w in PLAN if "/annotations/" in w and "/consolidation-request/" not in w]
    assert result.dead_letters == {"manifests": 0, "annotations": 0}
    assert result.deliveries == len(routed)  # consolidation requests are not routed to the pipeline
    assert facts(result.events) == EXPECTED_FACTS
    assert len(result.events) == len(EXPECTED_FACTS)


def test_keys_with_colons_arrive_url_encoded_and_are_decoded(ordered):
    keys = ordered.recorder.keys()
    assert keys and all("%3A" in key and ":" not in key for key in keys)
    assert len(details(ordered.result.events, CONSOLIDATED)) == len(WORKER_OBJECTS)  # every one of them was read


def test_quality_and_records_in_dynamodb(ordered):
    items = ordered.items
    state, version = quality_of(items)
    assert version == len(WORKER_OBJECTS)  # one quality update per object
    assert int(state.answered.sum()) == 3 * len(WORKER_OBJECTS)
    assert set(state.worker_ids) == {EXPECTED["workers"]["spammer"], *EXPECTED["workers"]["good"]}
    accuracy = dict(zip(state.worker_ids, state.worker_accuracy(), strict=True))
    assert accuracy[EXPECTED["workers"]["spammer"]] < min(accuracy[w] for w in EXPECTED["workers"]["good"])
    records = Counter(item["sk"]["S"].split("#")[0] for item in items)
    assert records == {"QUALITY": 1, "ANN": len(WORKER_OBJECTS), "CMP": len(COMPARED_OBJECTS)}
    assert {item["status"]["S"] for item in items if "status" in item} == {"published"}


@pytest.mark.parametrize("seed", [3, 11])
def test_chaos_publishes_the_same_facts_without_duplicates(annotation_files: Path, seed: int):
    run = replay(annotation_files, chaos_seed=seed)
    result = run.result
    assert result.deliveries > len(WORKER_OBJECTS) + 3  # duplicates were delivered
    assert result.dead_letters == {"manifests": 0, "annotations": 0}
    assert facts(result.events) == EXPECTED_FACTS
    assert len(result.events) == len(EXPECTED_FACTS)  # no fact published twice
    state, version = quality_of(run.items)
    assert (version, int(state.answered.sum())) == (len(WORKER_OBJECTS), 3 * len(WORKER_OBJECTS))


def test_invalid_and_foreign_files_do_not_fail_the_batch(tmp_path: Path):
    source = JOBS / "classification-failed-auto" / JOB / "annotations" / "worker-response" / "iteration-1"
    valid = next((source / "7").glob("*.json"))
    base = f"{JOB}/annotations/worker-response/iteration-1"
    files = {
        f"{base}/7/2019-04-18_16:17:19.json": valid.read_bytes(),
        f"{base}/8/2019-04-18_16:17:20.json": b"{not json",
        f"{base}/9/2019-04-18_16:17:21.json": b'{"answers":[]}',
        f"{base}/10/2019-04-18_16:17:22.json": b'{"answers":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        f"{base}/7/2ff99e13e1e053f494f4457accb039ac1342c7c3/frame_0019.jpeg.json": valid.read_bytes(),
        f"{JOB}/annotations/consolidated-annotation/consolidation-request/iteration-1/2019-04-18_16:17:40.json": b"[]",
    }
    writes = []
    for n, (key, body) in enumerate(files.items()):
        path = tmp_path / f"{n}.json"
        path.write_bytes(body)
        writes.append(Write(key, path))
    with embedded_aws() as resources:
        recorder = Recorder()
        result = Replayer(resources, {"annotations": recorder}).run(writes)
    assert result.dead_letters == {"manifests": 0, "annotations": 0}
    assert result.deliveries == 5  # the request is not routed; the others reach the handler once
    # Each bad file is reported once, as a permanent failure: never retried, never dead-lettered.
    assert sorted((e.detail_type, e.detail["datasetObjectId"]) for e in result.events) == [
        ("Annotation File Invalid", "10"),
        ("Annotation File Invalid", "8"),
        ("Annotation File Invalid", "9"),
        (CONSOLIDATED, "7"),
    ]
    invalid = {e.detail["datasetObjectId"]: e.detail for e in result.events if e.detail_type != CONSOLIDATED}
    assert {oid: d["code"] for oid, d in invalid.items()} == {
        "8": "undecodable",
        "9": "no-usable-answer",
        "10": "undecodable",
    }
    assert invalid["8"]["fileUri"] == f"s3://gt-output-bucket/{base}/8/2019-04-18_16:17:20.json"


def test_s3_reads_stop_at_the_size_cap():
    from gtproc.adapters.s3 import S3Objects
    from gtproc.usecases.ports import ObjectMissing, ObjectTooLarge

    with embedded_aws() as resources:
        s3 = resources.client("s3")
        s3.put_object(Bucket=resources.output_bucket, Key="big.json", Body=b"x" * 5000)
        objects = S3Objects(s3)
        assert objects.read(resources.output_bucket, "big.json", max_bytes=5000) == b"x" * 5000
        with pytest.raises(ObjectTooLarge, match="5000 bytes, over the limit of 4999"):
            objects.read(resources.output_bucket, "big.json", max_bytes=4999)
        with pytest.raises(ObjectMissing, match=r"missing\.json does not exist"):
            objects.read(resources.output_bucket, "missing.json", max_bytes=10)
