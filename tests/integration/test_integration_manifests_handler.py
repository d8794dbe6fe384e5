"""The real manifests handler, driven by S3 writes routed through the stack's rules on moto."""

from __future__ import annotations

import json

import pytest
from gtproc.adapters.labels_store import S3LabelStore
from gtproc.adapters.s3 import S3Objects

pytestmark = pytest.mark.integration

INT1 = "cars-bbox/manifests/intermediate/1/output.manifest"
FINAL = "cars-bbox/manifests/output/output.manifest"
INT1_FILE = "bbox-three-iterations/" + INT1
FINAL_FILE = "bbox-three-iterations/" + FINAL
LABELED_KEYS = {"jobName", "bucket", "jobPath", "labelAttributeName", "iteration", "manifestUri", "count", "objects"}
COMPLETED_KEYS = {
    "jobName",
    "bucket",
    "jobPath",
    "manifestUri",
    "objects",
    "labeled",
    "failed",
    "unlabeled",
    "humanLabeled",
    "autoLabeled",
    "invalidLines",
    "classCounts",
    "labelsUri",
    "labelAttributeNames",
}


def sample(helpers, file: str) -> bytes:
    return (helpers.jobs / file).read_bytes()


def test_objects_labeled_detail_has_exactly_the_contract_shape(aws, helpers) -> None:
    response = aws.write_and_deliver(INT1, sample(helpers, INT1_FILE))
    assert response == {"batchItemFailures": []}

    events = aws.observed()
    assert {e["source"] for e in events} == {"gtproc"}
    (detail,) = helpers.by_type(events, "Objects Labeled")
    assert set(detail) == LABELED_KEYS
    assert detail["jobName"] == "cars-bbox" and detail["labelAttributeName"] == "cars-bbox"
    assert (detail["bucket"], detail["jobPath"]) == (aws.resources.output_bucket, "cars-bbox")
    assert detail["iteration"] == 1 and isinstance(detail["iteration"], int)
    assert detail["manifestUri"] == f"s3://gt-output-bucket/{INT1}"
    assert detail["count"] == len(detail["objects"]) == 10
    records = [json.loads(raw) for raw in sample(helpers, INT1_FILE).splitlines()]
    for obj in detail["objects"]:
        assert set(obj) == {"datasetObjectId", "sourceRef", "label", "metadata", "humanAnnotated"}
        assert isinstance(obj["datasetObjectId"], str)
        record = records[int(obj["datasetObjectId"])]
        assert obj["sourceRef"] == record["source-ref"]
        assert obj["label"] == record["cars-bbox"] and obj["metadata"] == record["cars-bbox-metadata"]
        assert obj["humanAnnotated"] is True
    expected = json.loads((helpers.jobs / "bbox-three-iterations.expected.json").read_text())
    assert sorted(int(o["datasetObjectId"]) for o in detail["objects"]) == expected["manifests"][0]["labeledIds"]


def test_final_manifest_has_null_iteration_and_a_completion(aws, helpers) -> None:
    aws.write_and_deliver(INT1, sample(helpers, INT1_FILE))
    aws.write_and_deliver(FINAL, sample(helpers, FINAL_FILE))
    events = aws.observed()

    labeled = helpers.by_type(events, "Objects Labeled")
    assert [d["iteration"] for d in labeled] == [1, None]
    assert sum(d["count"] for d in labeled) == 30
    assert max(helpers.object_facts(events).values()) == 1
    (completed,) = helpers.by_type(events, "Labeling Job Completed")
    assert set(completed) == COMPLETED_KEYS
    final = json.loads((helpers.jobs / "bbox-three-iterations.expected.json").read_text())["final"]
    assert (completed["objects"], completed["labeled"], completed["humanLabeled"]) == (30, 30, 30)
    assert completed["classCounts"] == final["classCounts"]
    assert completed["labelAttributeNames"] == ["cars-bbox"]


def test_labels_so_far_are_readable_at_the_labels_uri(aws, helpers) -> None:
    for key, file in [
        ("flowers-classification/manifests/intermediate/1/output.manifest", None),
        ("flowers-classification/manifests/intermediate/2/output.manifest", None),
        ("flowers-classification/manifests/output/output.manifest", None),
    ]:
        aws.write_and_deliver(key, sample(helpers, file or f"classification-failed-auto/{key}"))
    events = aws.observed()
    (completed,) = helpers.by_type(events, "Labeling Job Completed")

    uri = completed["labelsUri"]
    prefix = f"s3://{aws.resources.labels_bucket}/labels/"
    assert uri.startswith(prefix) and uri.endswith("/")
    job_id = uri.removeprefix(prefix).rstrip("/")
    assert job_id == "gt-output-bucket/flowers-classification"
    store = S3LabelStore(aws.resources.labels_bucket, "labels", S3Objects(aws.resources.client("s3")))
    labels = store.read_labels(job_id)

    on_bus = {(f[0], f[3]) for f in helpers.object_facts(events)}
    status = {"Objects Labeled": "labeled", "Objects Failed": "failed"}
    assert len(labels) == len(on_bus) == 40
    assert {(r["status"], r["datasetObjectId"]) for r in labels} == {(status[t], i) for t, i in on_bus}
    assert {r["labelAttributeName"] for r in labels} == {"flowers-classification"}


@pytest.mark.parametrize(
    ("key_prefix", "prefix"),
    [
        ("exports/Team A+B/라벨링 é", "exports/Team A+B/라벨링 é/"),
        ("", "exports/Team A+B/라벨링 é/run 10:30+x/"),
    ],
)
def test_keys_with_spaces_plus_colons_and_non_ascii_round_trip(make_aws, helpers, key_prefix, prefix) -> None:
    with make_aws(key_prefix=key_prefix) as aws:
        key = prefix + FINAL
        aws.put(key, sample(helpers, FINAL_FILE))
        messages = aws.queued()
        assert len(messages) == 1
        record = aws.function.to_record(messages[0])
        sent = json.loads(record["body"])["detail"]["object"]["key"]
        assert sent != key and "%2B" in sent and "+" in sent  # as AWS sends it: URL-encoded
        assert aws.invoke([record]) == {"batchItemFailures": []}

        events = aws.observed()
        labeled = helpers.by_type(events, "Objects Labeled")
        assert {d["manifestUri"] for d in labeled} == {f"s3://gt-output-bucket/{key}"}
        assert sum(d["count"] for d in labeled) == 30
        (completed,) = helpers.by_type(events, "Labeling Job Completed")
        job_id = f"gt-output-bucket/{prefix}cars-bbox"
        assert completed["labelsUri"] == f"s3://{aws.resources.labels_bucket}/labels/{job_id}/"
        item = aws.state_item(job_id)
        assert item is not None and item["version"] == {"N": "1"}
        store = S3LabelStore(aws.resources.labels_bucket, "labels", S3Objects(aws.resources.client("s3")))
        assert len(store.read_labels(job_id)) == 30


def test_s3_test_event_is_a_success_that_publishes_nothing(aws, helpers) -> None:
    event = json.loads((helpers.triggers / "sqs-wrapping-s3-test-event.json").read_text())
    assert aws.invoke(event["Records"]) == {"batchItemFailures": []}
    assert aws.observed() == []


def test_a_malformed_body_fails_only_its_own_record(aws, helpers) -> None:
    aws.put(INT1, sample(helpers, INT1_FILE))
    (good,) = aws.records()
    not_json = dict(good, messageId="not-json", body="{not json")
    not_s3 = dict(good, messageId="not-s3", body=json.dumps({"hello": "world"}))
    bad_shape = dict(good, messageId="bad-shape", body=json.dumps({"source": "aws.s3", "detail": {"object": 1}}))

    response = aws.invoke([not_json, good, not_s3, bad_shape])

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == ["bad-shape", "not-json", "not-s3"]
    facts = helpers.object_facts(aws.observed())
    assert len(facts) == 10 and max(facts.values()) == 1


def test_the_same_message_delivered_twice_publishes_once(aws, helpers) -> None:
    aws.put(INT1, sample(helpers, INT1_FILE))
    (message,) = aws.queued()
    first = aws.function.to_record(message)
    duplicate = aws.function.to_record(message, duplicate=True)

    assert aws.invoke([first, duplicate]) == {"batchItemFailures": []}
    assert aws.invoke([first]) == {"batchItemFailures": []}
    facts = helpers.object_facts(aws.observed())
    assert len(facts) == 10 and max(facts.values()) == 1


def test_an_object_deleted_before_it_is_read_is_skipped(aws, helpers) -> None:
    aws.put(INT1, sample(helpers, INT1_FILE))
    records = aws.records()
    aws.s3.delete_object(Bucket=aws.resources.output_bucket, Key=INT1)

    assert aws.invoke(records) == {"batchItemFailures": []}
    assert aws.observed() == []
    item = aws.state_item("gt-output-bucket/cars-bbox")
    assert item is not None and "leaseOwner" not in item and "version" not in item


def test_state_item_holds_the_committed_version_and_no_lease(aws, helpers) -> None:
    job_id = "gt-output-bucket/cars-bbox"
    aws.write_and_deliver(INT1, sample(helpers, INT1_FILE))
    item = aws.state_item(job_id)
    assert item["version"] == {"N": "1"}
    assert "leaseOwner" not in item and "leaseExpires" not in item
    summary = json.loads(item["summary"]["S"])
    assert summary == {"lastManifest": INT1, "labeled": 10, "failed": 0, "completed": False}

    aws.write_and_deliver(INT1, sample(helpers, INT1_FILE))  # nothing new: no commit
    assert aws.state_item(job_id)["version"] == {"N": "1"}

    aws.write_and_deliver(FINAL, sample(helpers, FINAL_FILE))
    item = aws.state_item(job_id)
    assert item["version"] == {"N": "2"} and "leaseOwner" not in item
    assert json.loads(item["summary"]["S"])["completed"] is True
    ledger = aws.s3.get_object(Bucket=aws.resources.labels_bucket, Key=f"state/{job_id}/ledger.bin")["Body"].read()
    from gtproc.domain.ledger import Ledger

    assert Ledger.from_bytes(ledger).version == 2


def test_bad_input_reports_invalid_lines_and_the_empty_manifest_publishes_nothing(aws, helpers) -> None:
    broken = "broken-job/manifests/intermediate/{}/output.manifest"
    aws.write_and_deliver(broken.format(1), sample(helpers, "bad-input/" + broken.format(1)))
    response = aws.write_and_deliver(broken.format(2), b"")
    assert response == {"batchItemFailures": []}
    events = aws.observed()

    (invalid,) = helpers.by_type(events, "Validation Failed")
    assert set(invalid) == {"jobName", "bucket", "jobPath", "manifestUri", "invalidCount", "errors"}
    assert [e["line"] for e in invalid["errors"]] == [3, 4, 5, 6, 7, 8]
    for error in invalid["errors"]:
        assert {"line", "code", "message"} <= set(error) <= {"line", "code", "message", "attribute"}
    assert [d["count"] for d in helpers.by_type(events, "Objects Labeled")] == [3]
    (failed,) = helpers.by_type(events, "Objects Failed")
    assert set(failed["objects"][0]) == {"datasetObjectId", "sourceRef", "failureReason"}
    assert all(e["detail"]["manifestUri"].endswith("/1/output.manifest") for e in events)


# ---- routing by the stack's rules -------------------------------------------------------------------------


def test_rules_route_only_manifests_to_the_manifests_queue(aws, helpers) -> None:
    annotation = "cars-bbox/annotations/worker-response/iteration-1/9/2024-03-12_09:26:16.json"
    aws.put(annotation, b"{}")
    aws.put("cars-bbox/annotations/consolidated-annotation/consolidation-response/iteration-1/x.json", b"[]")
    aws.put("cars-bbox/manifests/intermediate/1/not-a-manifest.txt", b"")
    aws.put("notes/output.manifest", b"")

    assert aws.queued("manifests") == []
    routed = [json.loads(m["Body"])["detail"]["object"]["key"] for m in aws.queued("annotations")]
    assert len(routed) == 2 and annotation in routed


def test_writes_to_the_labels_bucket_trigger_nothing(aws, helpers) -> None:
    aws.write_and_deliver(FINAL, sample(helpers, FINAL_FILE))  # the handler writes labels and the ledger
    aws.put(FINAL, sample(helpers, FINAL_FILE), bucket=aws.resources.labels_bucket)
    aws.put(INT1, b"", bucket=aws.resources.labels_bucket)

    listing = aws.s3.list_objects_v2(Bucket=aws.resources.labels_bucket)["KeyCount"]
    assert listing >= 4  # labels part, ledger and the two manifests-looking keys
    assert aws.queued("manifests") == [] and aws.queued("annotations") == []


def test_a_key_outside_the_configured_prefix_is_not_routed(make_aws, helpers) -> None:
    with make_aws(key_prefix="exports") as aws:
        aws.put("elsewhere/" + INT1, sample(helpers, INT1_FILE))
        aws.put("exports-old/" + INT1, sample(helpers, INT1_FILE))
        assert aws.queued() == []
        aws.put("exports/" + INT1, sample(helpers, INT1_FILE))
        assert len(aws.queued()) == 1


def test_a_job_nested_in_another_jobs_path_never_shares_its_labels(aws, helpers) -> None:
    """A job writes into a folder below another job's folder. Each labelsUri reads only its own job's labels."""
    from gtproc.report.job import read_labels_so_far

    outer_path = "team/flowers-classification"
    inner_path = outer_path + "/part-1/cars-bbox"  # a folder that even looks like one of the outer job's parts
    aws.write_and_deliver(
        f"{outer_path}/manifests/output/output.manifest",
        sample(helpers, "classification-failed-auto/flowers-classification/manifests/output/output.manifest"),
    )
    aws.write_and_deliver(f"{inner_path}/{FINAL.removeprefix('cars-bbox/')}", sample(helpers, FINAL_FILE))
    events = aws.observed()
    uris = {d["jobPath"]: d["labelsUri"] for d in helpers.by_type(events, "Labeling Job Completed")}
    assert set(uris) == {outer_path, inner_path}
    assert uris[inner_path].startswith(uris[outer_path])  # the S3 prefixes nest; the labels must not

    store = S3LabelStore(aws.resources.labels_bucket, "labels", S3Objects(aws.resources.client("s3")))
    prefix = f"s3://{aws.resources.labels_bucket}/labels/"
    for job_path, job_name, objects in [(outer_path, "flowers-classification", 40), (inner_path, "cars-bbox", 30)]:
        labels = store.read_labels(uris[job_path].removeprefix(prefix).rstrip("/"))
        on_bus = {fact[3] for fact in helpers.object_facts(events) if fact[1] == job_name}
        assert len(on_bus) == objects
        assert sorted(r["datasetObjectId"] for r in labels) == sorted(on_bus)
        assert {r["labelAttributeName"] for r in labels} == {job_name}
        assert sorted(map(repr, read_labels_so_far(uris[job_path]))) == sorted(map(repr, labels))
