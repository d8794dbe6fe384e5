"""`Annotations Consolidated` names its object: `sourceRef` or `source` from the job's input manifest
(DescribeLabelingJob's InputConfig) or from `annotations/intermediate/<N>/annotations.json`, read once per
job; without either the field is left out and counted (the ObjectsWithoutSource metric)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from gtproc.adapters.s3 import S3Objects
from gtproc.adapters.sagemaker import S3SourceFiles
from gtproc.domain.sources import sources_of_input_manifest, sources_of_intermediate
from gtproc.usecases.ports import JobInfo, ObjectMissing, ObjectUnreadable

JOBS = Path(__file__).resolve().parents[3] / "events" / "jobs"
FLOWERS = "flowers-classification"
TREE = JOBS / "classification-failed-auto"
INPUT = JOBS / "classification-failed-auto.input.manifest"
BUCKET = "gt-output-bucket"


class CountingSources:
    """S3SourceFiles on moto, counting the reads (the cache must make it one per job)."""

    def __init__(self, s3: Any) -> None:
        self.inner = S3SourceFiles(S3Objects(s3))
        self.reads: list[str] = []

    def read(self, uri: str, max_bytes: int) -> bytes | None:
        self.reads.append(uri)
        return self.inner.read(uri, max_bytes)


def worker_keys(iteration: int = 1) -> list[str]:
    prefix = f"{FLOWERS}/annotations/worker-response/iteration-{iteration}/"
    return sorted(
        p.relative_to(TREE).as_posix()
        for p in TREE.rglob("*.json")
        if p.relative_to(TREE).as_posix().startswith(prefix)
    )


def run(harness: Any, s3: Any, keys: list[str]) -> tuple[list[dict[str, Any]], int, CountingSources]:
    sources = CountingSources(s3)
    harness.use_case.sources = sources
    unknown = 0
    for key in keys:
        harness.put(key, (TREE / key).read_bytes())
        unknown += harness(key).sources_unknown
    return harness.events("Annotations Consolidated"), unknown, sources


def input_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in INPUT.read_text().splitlines()]


def test_the_source_comes_from_the_input_manifest_read_once(make_harness: Any, s3: Any) -> None:
    s3.create_bucket(Bucket="gt-input-bucket")
    s3.put_object(Bucket="gt-input-bucket", Key="flowers/input.manifest", Body=INPUT.read_bytes())
    info = JobInfo(label_attribute_name=FLOWERS, input_manifest_uri="s3://gt-input-bucket/flowers/input.manifest")
    harness = make_harness({FLOWERS: info})
    keys = worker_keys()
    assert len(keys) > 3

    events, unknown, sources = run(harness, s3, keys)

    assert len(events) == len(keys) and unknown == 0
    lines = input_lines()
    for event in events:
        assert event["sourceRef"] == lines[int(event["datasetObjectId"])]["source-ref"]
        assert "source" not in event
    assert sources.reads == ["s3://gt-input-bucket/flowers/input.manifest"]  # cached for the job


def test_the_source_comes_from_the_intermediate_annotations(make_harness: Any, s3: Any) -> None:
    keys = worker_keys()
    ids = sorted({int(key.split("/")[-2]) for key in keys})
    records = [{"datasetObjectId": str(i), "manifestLine": json.dumps(input_lines()[i])} for i in ids[:-1]] + [
        {"datasetObjectId": ids[-1], "inputAttribute": "a sentence to label"}
    ]
    body = "".join(json.dumps(record) + "\n" for record in records).encode()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key=f"{FLOWERS}/annotations/intermediate/1/annotations.json", Body=body)
    harness = make_harness()  # no description: no input manifest

    events, unknown, sources = run(harness, s3, keys)

    assert unknown == 0
    by_id = {int(event["datasetObjectId"]): event for event in events}
    for i in ids[:-1]:
        assert by_id[i]["sourceRef"] == input_lines()[i]["source-ref"]
    assert by_id[ids[-1]]["source"] == "a sentence to label" and "sourceRef" not in by_id[ids[-1]]
    assert sources.reads == [f"s3://{BUCKET}/{FLOWERS}/annotations/intermediate/1/annotations.json"]


def test_without_either_file_the_field_is_left_out_and_counted(make_harness: Any, s3: Any) -> None:
    info = JobInfo(label_attribute_name=FLOWERS, input_manifest_uri="s3://no-such-bucket/input.manifest")
    harness = make_harness({FLOWERS: info})
    keys = worker_keys()[:3]

    events, unknown, sources = run(harness, s3, keys)

    assert len(events) == 3 and unknown == 3
    assert all("sourceRef" not in event and "source" not in event for event in events)
    # The input manifest once; the intermediate file once, then not again within a minute.
    assert sources.reads[0] == "s3://no-such-bucket/input.manifest" and len(sources.reads) == 2


def test_a_denied_or_missing_file_raises_as_every_read_port_does_and_a_throttled_read_is_transient() -> None:
    client = boto3.client("s3", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(client)
    for code in ("AccessDenied", "NoSuchKey", "NoSuchBucket", "SlowDown"):
        stubber.add_client_error(
            "get_object", service_error_code=code, http_status_code=503 if code == "SlowDown" else 403
        )
    stubber.activate()
    files = S3SourceFiles(S3Objects(client))
    with pytest.raises(ObjectUnreadable):
        files.read("s3://b/denied", 1024)
    with pytest.raises(ObjectMissing):
        files.read("s3://b/missing", 1024)
    with pytest.raises(ObjectMissing, match="bucket does not exist"):
        files.read("s3://gone/x", 1024)
    with pytest.raises(ObjectMissing, match="not an s3:// URI"):
        files.read("https://example.com/input.manifest", 1024)
    with pytest.raises(ClientError):
        files.read("s3://b/throttled", 1024)  # transient: the message is retried, not published without it


def test_parsers_take_real_shapes() -> None:
    manifest = b'\xef\xbb\xbf{"source-ref":"s3://b/0.jpg"}\n{"source":"text one"}\n\n{"other":1}\nnot json\n{"source-ref":"s3://b/5.jpg"}\n'
    assert sources_of_input_manifest(manifest) == {
        0: ("sourceRef", "s3://b/0.jpg"),
        1: ("source", "text one"),
        5: ("sourceRef", "s3://b/5.jpg"),
    }
    array = json.dumps([{"datasetObjectId": "7", "inputAttribute": "s3://b/7.jpg"}, {"datasetObjectId": "x"}]).encode()
    assert sources_of_intermediate(array) == {7: ("sourceRef", "s3://b/7.jpg")}
