"""Writes the annotations pipeline does not consolidate: invalid files, deleted objects, keys outside the
prefix or of other areas. None of them raises; an invalid file publishes `Annotation File Invalid` once,
the others publish and store nothing."""

from __future__ import annotations

import pytest
from gtproc.contract.events import ANNOTATION_FILE_INVALID
from gtproc.usecases.consolidate_annotations import AnnotationsConfig

from tests.unit.annotations.annotations_support import (
    BUCKET,
    CONSOLIDATED,
    FLOWERS,
    FLOWERS_TREE,
    Harness,
    classification_answer,
    worker_file,
    worker_key,
)

KEY = worker_key(FLOWERS, 1, 7)
FLOWERS_7 = f"{FLOWERS}/annotations/worker-response/iteration-1/7/2019-04-18_16:17:19.json"
VALID = (FLOWERS_TREE / FLOWERS_7).read_bytes()
REQUEST_1 = f"{FLOWERS}/annotations/consolidated-annotation/consolidation-request/iteration-1/2019-04-18_16:17:40.json"


def assert_reported_once(harness: Harness, key: str, outcome) -> None:
    """One `Annotation File Invalid` naming the file; nothing else stored; a redelivery publishes nothing."""
    assert len(harness.events()) == 1
    (detail,) = harness.events(ANNOTATION_FILE_INVALID)
    assert detail["fileUri"] == f"s3://{BUCKET}/{key}" and detail["code"] == outcome.code
    assert detail["jobName"] == FLOWERS and detail["jobPath"] == FLOWERS and detail["bucket"] == BUCKET
    assert harness.store.quality == {}
    assert [r for (_, r) in harness.store.records if not r.startswith("INV#")] == []
    again = harness(key)
    assert again.status == "invalid" and again.published == {} and again.duplicates == 1
    assert len(harness.events()) == 1


def assert_nothing_happened(harness: Harness) -> None:
    assert harness.publisher.events == [] and harness.publisher.calls == 0
    assert harness.store.records == {}
    assert harness.store.quality == {}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"not json", id="not-json"),
        pytest.param(b'{"answers":[{"workerId":"w1"', id="truncated"),
        pytest.param(b"[]", id="array"),
        pytest.param(b"{}", id="no-answers-key"),
        pytest.param(b'{"answers":[]}', id="no-answers"),
        pytest.param(b'{"answers":[{"answerContent":{"crowd-image-classifier":{"label":"a"}}}]}', id="no-worker-id"),
        pytest.param(b'{"answers":[{"workerId":"w1","answerContent":"Rose"}]}', id="content-not-object"),
        pytest.param(worker_file(classification_answer("w1", "")), id="empty-label"),
        pytest.param(worker_file(classification_answer("", "Rose")), id="empty-worker-id"),
    ],
)
def test_invalid_worker_response_file(harness: Harness, body: bytes):
    harness.put(KEY, body)
    outcome = harness(KEY)
    assert (outcome.status, outcome.job_name, outcome.published) == ("invalid", FLOWERS, {ANNOTATION_FILE_INVALID: 1})
    assert outcome.reason and outcome.code
    assert_reported_once(harness, KEY, outcome)


def test_invalid_file_does_not_block_the_object_once_fixed(harness: Harness):
    harness.put(KEY, b"{oops")
    assert harness(KEY).status == "invalid"
    harness.put(KEY, VALID)
    assert harness(KEY).published == {CONSOLIDATED: 1}


@pytest.mark.parametrize("body", [b"not json", b"{}", b'[{"datasetObjectId":"1"}]'])
def test_invalid_consolidation_response_file(harness: Harness, body: bytes):
    key = f"{FLOWERS}/annotations/consolidated-annotation/consolidation-response/iteration-1/2019-04-18_16:17:42.json"
    harness.put(key, body)
    outcome = harness(key)
    assert (outcome.status, outcome.published) == ("invalid", {ANNOTATION_FILE_INVALID: 1})
    assert "consolidation-response" in outcome.reason
    assert_reported_once(harness, key, outcome)
    assert harness.events()[0]["datasetObjectId"] is None


@pytest.mark.parametrize(
    "key",
    [KEY, f"{FLOWERS}/annotations/consolidated-annotation/consolidation-response/iteration-1/2019-04-18_16:17:42.json"],
)
def test_deleted_object_is_skipped(harness: Harness, key: str):
    outcome = harness(key)  # notified, but gone before we read it
    assert (outcome.status, outcome.job_name) == ("skipped", FLOWERS)
    assert "no longer exists" in outcome.reason
    assert_nothing_happened(harness)


@pytest.mark.parametrize("prefix", ["gt/out", "gt/out/", "/gt/out/"])
def test_keys_outside_the_configured_prefix_are_skipped(make_harness, prefix: str):
    harness = make_harness(config=AnnotationsConfig(key_prefix=prefix))
    for key in (KEY, f"other/{KEY}", f"gt/outside/{KEY}", f"gt/out-2/{KEY}"):
        harness.put(key, VALID)
        outcome = harness(key)
        assert outcome.status == "skipped", key
        assert "prefix" in outcome.reason
    assert_nothing_happened(harness)

    inside = harness.put(f"gt/out/{KEY}", VALID)
    assert harness(inside).published == {CONSOLIDATED: 1}
    [event] = harness.events()
    assert event["jobName"] == FLOWERS


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(REQUEST_1, id="consolidation-request"),
        pytest.param(f"{FLOWERS}/manifests/intermediate/1/output.manifest", id="intermediate-manifest"),
        pytest.param(f"{FLOWERS}/manifests/output/output.manifest", id="final-manifest"),
        pytest.param(f"{FLOWERS}/annotations/intermediate/1/annotations.json", id="annotations-intermediate"),
        pytest.param(f"{FLOWERS}/annotations/consolidated-annotation/output/7/SeqLabel.json", id="consolidated-output"),
        pytest.param(
            f"{FLOWERS}/annotations/consolidated-annotation/output/7_2019-04-18T16:17:42.091190.png", id="mask-output"
        ),
        pytest.param(
            f"{FLOWERS}/annotations/consolidated-annotation/consolidation-response/iteration-1/annotations/7-ann.json",
            id="custom-lambda-file-below-response",
        ),
        pytest.param(
            f"{FLOWERS}/annotations/worker-response/iteration-1/7/2ff99e13e1e053f494f4457accb039ac1342c7c3/"
            "frame_0019.jpeg.json",
            id="per-frame-video-response",
        ),
        pytest.param(
            f"videos/sept/{FLOWERS}/annotations/worker-response/iteration-1/0/2ff99e13e1e053f494f4457accb039ac1342c7c3/"
            "frame_0019.jpeg.json",
            id="per-frame-video-response-under-prefix",
        ),
        pytest.param(f"{FLOWERS}/annotations/worker-response/iteration-1/7/", id="folder-marker"),
        pytest.param(f"{FLOWERS}/annotations/worker-response/iteration-x/7/2019-04-18_16:17:19.json", id="bad-iter"),
        pytest.param("images/7.json", id="not-the-layout"),
    ],
)
def test_keys_of_other_areas_are_skipped_without_reading(harness: Harness, key: str):
    harness.put(key, VALID if "worker-response" in key else (FLOWERS_TREE / REQUEST_1).read_bytes())
    reads = []
    original = harness.blobs.read
    harness.blobs.read = lambda bucket, k: reads.append(k) or original(bucket, k)  # type: ignore[method-assign]

    outcome = harness(key)

    assert outcome.status == "skipped"
    assert outcome.reason
    assert reads == []
    assert_nothing_happened(harness)


def test_worker_response_under_a_prefix_is_consolidated(harness: Harness):
    """Not a per-frame file: the job folder sits under a two-level prefix."""
    key = harness.put(f"videos/sept/{KEY}", VALID)
    outcome = harness(key)
    assert outcome.published == {CONSOLIDATED: 1}
    [event] = harness.events()
    assert (event["jobName"], event["datasetObjectId"]) == (FLOWERS, "7")
    assert harness.quality(FLOWERS, bucket="gt-output-bucket") is None  # the job's id includes its prefix
    assert harness.store.load_quality(f"gt-output-bucket/videos/sept/{FLOWERS}")[0] is not None
