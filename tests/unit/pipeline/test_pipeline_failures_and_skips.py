"""Failed objects, invalid lines, empty manifests and the writes the pipeline skips."""

from __future__ import annotations

import json
from collections import Counter

from gtproc.contract.events import OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.usecases.process_manifest import PipelineConfig

from tests.unit.pipeline.pipeline_support import (
    BUCKET,
    JOBS,
    Harness,
    final_key,
    intermediate_key,
    line,
    load_expected,
    manifest,
    snapshot,
)

JOB = "cars-bbox"
BROKEN_1 = "broken-job/manifests/intermediate/1/output.manifest"
BROKEN_2 = "broken-job/manifests/intermediate/2/output.manifest"


def broken(key: str) -> bytes:
    return (JOBS / "bad-input" / key).read_bytes()


def test_failed_objects_are_published_once_with_their_reason(harness: Harness) -> None:
    key = intermediate_key(JOB, 2)
    harness.process(key, snapshot(JOB, 10, labeled=range(5), failed=[7, 8]))
    harness.process(key, snapshot(JOB, 10, labeled=range(6), failed=[7, 8]))
    harness.process(final_key(JOB), snapshot(JOB, 10, labeled=range(6), failed=[7, 8]))

    assert harness.published(OBJECTS_FAILED) == Counter({(JOB, "7"): 1, (JOB, "8"): 1})
    (event,) = harness.details(OBJECTS_FAILED)
    assert event["count"] == 2 and event["iteration"] == 2
    for obj in event["objects"]:
        assert set(obj) == {"datasetObjectId", "sourceRef", "failureReason"}
        assert obj["failureReason"] == "ClientError: Annotation tasks expired"
    assert harness.completions()[0]["failed"] == 2


def test_broken_job_reports_invalid_lines_with_one_based_numbers(harness: Harness) -> None:
    expected = load_expected("bad-input")["manifests"][0]
    outcome = harness.process(BROKEN_1, broken(BROKEN_1))

    (event,) = harness.details(VALIDATION_FAILED)
    assert event["jobName"] == "broken-job"
    assert event["manifestUri"] == f"s3://{BUCKET}/{BROKEN_1}"
    assert event["invalidCount"] == len(event["errors"]) == expected["invalidLines"]
    assert [e["line"] for e in event["errors"]] == expected["invalidLineNumbers"]
    codes = {e["line"]: e["code"] for e in event["errors"]}
    assert codes == {
        3: "json-invalid",
        4: "not-object",
        5: "source-missing",
        6: "type-missing",
        7: "box-negative-size",
        8: "class-map-missing-id",
    }
    assert all(e["message"] for e in event["errors"])
    assert outcome.invalid_lines == expected["invalidLines"]
    assert outcome.lines == expected["lines"] - expected["blankLines"]
    assert outcome.published == {
        OBJECTS_LABELED: expected["labeled"],
        OBJECTS_FAILED: expected["failed"],
        VALIDATION_FAILED: expected["invalidLines"],
    }
    labeled_sources = sorted(o["sourceRef"] for d in harness.details(OBJECTS_LABELED) for o in d["objects"])
    assert labeled_sources == [f"s3://gt-input-bucket/broken/img_{n:03d}.jpg" for n in (1, 10, 12)]


def test_rewrite_with_the_same_invalid_lines_does_not_report_them_again(harness: Harness) -> None:
    harness.process(BROKEN_1, broken(BROKEN_1))
    again = harness.process(BROKEN_1, broken(BROKEN_1))

    assert again.published == {} and again.invalid_lines == 6
    assert len(harness.details(VALIDATION_FAILED)) == 1
    assert Counter(harness.invalid_lines()) == Counter(
        {(3, "json-invalid"): 1, (4, "not-object"): 1, (5, "source-missing"): 1}
    ) + Counter({(6, "type-missing"): 1, (7, "box-negative-size"): 1, (8, "class-map-missing-id"): 1})


def test_a_changed_invalid_line_is_reported_again(harness: Harness) -> None:
    records = [line(0, JOB), line(1, JOB)]
    bad = manifest(records) + b'{"source-ref": "s3://x/y.jpg", \n'
    harness.process(intermediate_key(JOB, 1), bad)
    worse = manifest(records) + b"[1, 2]\n"
    harness.process(intermediate_key(JOB, 1), worse)

    assert harness.invalid_lines() == [(3, "json-invalid"), (3, "not-object")]


def test_an_empty_manifest_publishes_nothing_and_does_not_fail(harness: Harness) -> None:
    outcome = harness.process(BROKEN_2, broken(BROKEN_2))

    assert broken(BROKEN_2) == b""
    assert outcome.status == "processed" and outcome.lines == 0 and outcome.published == {}
    assert harness.publisher.events == [] and harness.publisher.calls == 0
    assert harness.labels.ledgers == {} and harness.labels.parts == {}
    job = harness.state.jobs["gt-output-bucket/broken-job"]
    assert job.owner is None and job.version == 0


def test_an_empty_final_manifest_still_completes_the_job_once(harness: Harness) -> None:
    first = harness.process(final_key(JOB), b"")
    second = harness.process(final_key(JOB), b"")

    assert first.completed and not second.completed
    (completed,) = harness.completions()
    assert (completed["objects"], completed["labeled"], completed["classCounts"]) == (0, 0, {})


def test_a_key_outside_the_configured_prefix_is_skipped(make_harness) -> None:
    h: Harness = make_harness(config=PipelineConfig(key_prefix="exports/"))
    data = snapshot(JOB, 3, labeled=range(3))
    outside = h.process(intermediate_key(JOB, 1, prefix="other/"), data)
    lookalike = h.process(intermediate_key(JOB, 1, prefix="exports-old/"), data)
    inside = h.process(intermediate_key(JOB, 1, prefix="exports/"), data)

    assert outside.status == lookalike.status == "skipped"
    assert "prefix" in outside.reason
    assert inside.status == "processed" and inside.published == {OBJECTS_LABELED: 3}
    assert set(h.state.jobs) == {f"{BUCKET}/exports/{JOB}"}


def test_non_manifest_keys_are_skipped_without_touching_state(harness: Harness) -> None:
    keys = [
        f"{JOB}/annotations/worker-response/iteration-1/9/2024-03-12_09:26:16.json",
        f"{JOB}/annotations/consolidated-annotation/consolidation-response/iteration-1/2024-03-12_09:26:18.json",
        f"{JOB}/manifests/intermediate/1/other.manifest",
        f"{JOB}/manifests/output/",
        "output.manifest",
    ]
    for key in keys:
        outcome = harness.process(key, snapshot(JOB, 2, labeled=[0]))
        assert outcome.status == "skipped", key
        assert "not an output manifest" in outcome.reason
    assert harness.state.calls == 0 and harness.labels.calls == 0 and harness.publisher.calls == 0


def test_an_object_deleted_before_it_is_read_is_skipped_and_releases_the_lease(harness: Harness) -> None:
    outcome = harness.pm(BUCKET, intermediate_key(JOB, 1))  # never written (or already deleted)

    assert outcome.status == "skipped" and "no longer exists" in outcome.reason
    assert outcome.job_name == JOB
    job = harness.state.jobs[f"{BUCKET}/{JOB}"]
    assert job.owner is None and job.version == 0
    assert harness.publisher.events == [] and harness.labels.ledgers == {}
    # the lease is free: another run takes it at once, without waiting
    later = harness.process(intermediate_key(JOB, 1), snapshot(JOB, 2, labeled=[1]))
    assert later.published == {OBJECTS_LABELED: 1}
    assert harness.clock.sleeps == []


def test_the_expected_counts_of_the_sample_manifests_match_what_is_published() -> None:
    """Each sample manifest alone, on a fresh state: its labeled/failed ids are what gets published."""
    for tree in ("bbox-three-iterations", "classification-failed-auto", "adjustment-chained"):
        expected = load_expected(tree)
        for entry in expected["manifests"]:
            h = Harness()
            h.process(entry["key"], (JOBS / entry["file"]).read_bytes())
            assert h.published_ids() == entry["labeledIds"], entry["file"]
            assert h.published_ids(OBJECTS_FAILED) == entry["failedIds"], entry["file"]
            for detail in h.details(OBJECTS_LABELED):
                assert detail["iteration"] == entry["iteration"]
            humans = [o["humanAnnotated"] for d in h.details(OBJECTS_LABELED) for o in d["objects"]]
            assert humans.count(False) == entry["autoLabeled"]


def test_published_labels_are_the_manifest_values() -> None:
    key = "cars-bbox/manifests/intermediate/3/output.manifest"
    data = (JOBS / "bbox-three-iterations" / key).read_bytes()
    h = Harness()
    h.process(key, data)
    records = [json.loads(raw) for raw in data.splitlines()]
    for detail in h.details(OBJECTS_LABELED):
        for obj in detail["objects"]:
            record = records[int(obj["datasetObjectId"])]
            assert obj["sourceRef"] == record["source-ref"]
            assert obj["label"] == record["cars-bbox"]
            assert obj["metadata"] == record["cars-bbox-metadata"]
            assert obj["humanAnnotated"] is True
