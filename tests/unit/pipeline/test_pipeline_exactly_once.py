"""Each labeled object is published once per label attribute, whatever the order and repetition of writes."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import pytest
from gtproc.contract.events import JOB_COMPLETED, OBJECTS_FAILED, OBJECTS_LABELED

from tests.unit.pipeline.pipeline_support import (
    BUCKET,
    JOBS,
    Harness,
    final_key,
    intermediate_key,
    line,
    load_expected,
    manifest,
    plan_manifest_writes,
    snapshot,
)

JOB = "cars-bbox"


def assert_once(h: Harness, expected_ids: set[int], attribute: str = JOB) -> None:
    published = h.published()
    assert all(n == 1 for n in published.values()), f"published twice: {+(published - Counter(published.keys()))}"
    assert set(published) == {(attribute, str(i)) for i in expected_ids}


def test_same_key_rewritten_with_more_labels_publishes_only_the_new_ones(harness: Harness) -> None:
    key = intermediate_key(JOB, 2)
    first = harness.process(key, snapshot(JOB, 20, labeled=range(6)))
    second = harness.process(key, snapshot(JOB, 20, labeled=range(10)))
    third = harness.process(key, snapshot(JOB, 20, labeled=range(10)))

    assert first.published == {OBJECTS_LABELED: 6}
    assert second.published == {OBJECTS_LABELED: 4}
    assert third.published == {}
    assert_once(harness, set(range(10)))
    second_event = harness.details(OBJECTS_LABELED)[1]
    assert [o["datasetObjectId"] for o in second_event["objects"]] == ["6", "7", "8", "9"]
    assert second_event["count"] == 4 and second_event["iteration"] == 2


def test_same_notification_processed_twice_publishes_once(harness: Harness) -> None:
    key = intermediate_key(JOB, 1)
    harness.write(key, snapshot(JOB, 15, labeled=[1, 4, 9]))
    outcomes = [harness.pm(BUCKET, key) for _ in range(2)]

    assert [o.published for o in outcomes] == [{OBJECTS_LABELED: 3}, {}]
    assert outcomes[1].status == "processed" and outcomes[1].lines == 15
    assert_once(harness, {1, 4, 9})


def test_iteration_n_plus_one_before_n(harness: Harness) -> None:
    harness.process(intermediate_key(JOB, 3), snapshot(JOB, 30, labeled=range(30)))
    late = harness.process(intermediate_key(JOB, 2), snapshot(JOB, 30, labeled=range(20)))
    later = harness.process(intermediate_key(JOB, 1), snapshot(JOB, 30, labeled=range(10)))

    assert late.published == {} and later.published == {}
    assert_once(harness, set(range(30)))
    assert {d["iteration"] for d in harness.details(OBJECTS_LABELED)} == {3}


def test_final_manifest_before_an_intermediate_one(harness: Harness) -> None:
    final = harness.process(final_key(JOB), snapshot(JOB, 12, labeled=range(12)))
    intermediate = harness.process(intermediate_key(JOB, 1), snapshot(JOB, 12, labeled=range(5)))

    assert final.completed and final.published == {OBJECTS_LABELED: 12, JOB_COMPLETED: 1}
    assert intermediate.published == {} and not intermediate.completed
    assert_once(harness, set(range(12)))
    assert {d["iteration"] for d in harness.details(OBJECTS_LABELED)} == {None}
    assert len(harness.completions()) == 1


def test_final_manifest_processed_three_times_completes_once(harness: Harness) -> None:
    key = final_key(JOB)
    outcomes = [harness.process(key, snapshot(JOB, 8, labeled=range(6), failed=[7])) for _ in range(3)]

    assert [o.completed for o in outcomes] == [True, False, False]
    assert [o.published for o in outcomes[1:]] == [{}, {}]
    (completed,) = harness.completions()
    assert (completed["objects"], completed["labeled"], completed["failed"], completed["unlabeled"]) == (8, 6, 1, 1)
    assert_once(harness, set(range(6)))
    assert harness.published(OBJECTS_FAILED) == Counter({(JOB, "7"): 1})


def test_a_different_source_at_an_index_is_a_new_object(harness: Harness) -> None:
    key = intermediate_key(JOB, 1)
    harness.process(key, snapshot(JOB, 5, labeled=range(5)))
    records = [line(i, JOB) for i in range(5)]
    records[2] = line(2, JOB, source_ref="s3://other-input/replaced.jpg")
    rewrite = harness.process(key, manifest(records))
    again = harness.process(key, manifest(records))

    assert rewrite.published == {OBJECTS_LABELED: 1}
    assert again.published == {}
    last = harness.details(OBJECTS_LABELED)[-1]
    assert [(o["datasetObjectId"], o["sourceRef"]) for o in last["objects"]] == [("2", "s3://other-input/replaced.jpg")]
    assert harness.published()[(JOB, "2")] == 2  # the old object and the new one at the same index


def test_an_object_back_at_its_index_is_not_published_again(harness: Harness) -> None:
    """A rebuilt manifest puts another object at an index, then the first one back: the first is not
    published a second time, and the labels so far end with it, not with the object it replaced."""
    key = intermediate_key(JOB, 1)
    first = [line(i, JOB) for i in range(3)]
    other = [*first[:2], line(2, JOB, source_ref="s3://other-input/replaced.jpg")]
    for records in (first, other, first, other, first):
        harness.process(key, manifest(records))

    assert harness.published() == {(JOB, "0"): 1, (JOB, "1"): 1, (JOB, "2"): 2}  # each object at index 2 once
    at_two = [ln["sourceRef"] for ln in harness.label_lines(f"{BUCKET}/{JOB}") if ln["datasetObjectId"] == "2"]
    assert at_two[-1] == first[2]["source-ref"]
    assert len(at_two) == 5  # every change of the index's object is a label line


def test_a_source_rather_than_a_source_ref_identifies_the_object_too(harness: Harness) -> None:
    def text_line(index: int, text: str) -> dict:
        record = line(index, JOB)
        del record["source-ref"]
        return {"source": text, **record}

    key = intermediate_key(JOB, 1)
    harness.process(key, manifest([text_line(0, "first text"), text_line(1, "second")]))
    harness.process(key, manifest([text_line(0, "first text"), text_line(1, "changed")]))

    objects = [o for d in harness.details(OBJECTS_LABELED) for o in d["objects"]]
    assert [(o["datasetObjectId"], o["source"]) for o in objects] == [
        ("0", "first text"),
        ("1", "second"),
        ("1", "changed"),
    ]
    assert all("sourceRef" not in o for o in objects)


def test_two_own_attributes_are_published_once_each(harness: Harness) -> None:
    records = []
    for i in range(4):
        record = line(i, JOB)
        extra = line(i, JOB, attribute="cars-bbox-second")
        records.append({**record, **{k: v for k, v in extra.items() if k != "source-ref"}})
    key = intermediate_key(JOB, 1)
    harness.process(key, manifest(records))
    harness.process(key, manifest(records))

    published = harness.published()
    assert published == Counter({(attr, str(i)): 1 for attr in (JOB, "cars-bbox-second") for i in range(4)})


# ---- the sample jobs, in every order ---------------------------------------------------------------------

TREES_WITH_FINAL = ["bbox-three-iterations", "classification-failed-auto", "adjustment-chained"]


def expected_union(tree: str, field: str) -> set[int]:
    return {i for m in load_expected(tree)["manifests"] for i in m.get(field, [])}


def completion_counts(detail: dict) -> dict:
    fields = ["objects", "labeled", "failed", "unlabeled", "humanLabeled", "autoLabeled", "invalidLines"]
    return {f: detail[f] for f in fields} | {"classCounts": detail["classCounts"]}


@pytest.mark.parametrize("tree", TREES_WITH_FINAL)
def test_sample_plans_in_every_order_publish_each_object_once(tree: str) -> None:
    expected = load_expected(tree)
    final = expected["final"]
    attribute = expected["labelAttributeName"]
    writes = plan_manifest_writes(tree)
    orders = list(itertools.permutations(range(len(writes))))
    assert len(orders) >= 2
    for order in orders:
        h = Harness()
        for position in order:
            h.process(*writes[position])
        h.process(*writes[-1])  # the final manifest twice more: still one completion
        h.process(*writes[-1])

        labeled = h.published()
        assert max(labeled.values()) == 1, (order, labeled)
        assert set(labeled) == {(attribute, str(i)) for i in expected_union(tree, "labeledIds")}, order
        failed = h.published(OBJECTS_FAILED)
        assert sorted(failed.elements()) == sorted((attribute, str(i)) for i in expected_union(tree, "failedIds"))
        (completed,) = h.completions()
        assert completion_counts(completed) == {
            "objects": final["objects"],
            "labeled": final["labeled"],
            "failed": final["failed"],
            "unlabeled": final["unlabeled"],
            "humanLabeled": final["humanLabeled"],
            "autoLabeled": final["autoLabeled"],
            "invalidLines": final["invalidLines"],
            "classCounts": final["classCounts"],
        }
        assert completed["labelAttributeNames"] == [attribute]
        assert completed["jobName"] == expected["jobName"]


def test_plan_order_publishes_each_iterations_new_labels_in_that_iteration() -> None:
    expected = load_expected("bbox-three-iterations")
    h = Harness()
    by_manifest = []
    for key, data in plan_manifest_writes("bbox-three-iterations"):
        before = Counter(h.published())
        h.process(key, data)
        by_manifest.append(sorted(int(i) for _, i in h.published() - before))
    by_file = {m["file"]: set(m["labeledIds"]) for m in expected["manifests"]}
    plan = [json.loads(raw) for raw in (JOBS / "bbox-three-iterations.plan.jsonl").read_text().splitlines()]
    snapshots = [by_file[step["file"]] for step in plan if step["key"].endswith("output.manifest")]
    seen: set[int] = set()
    wanted = []
    for labeled in snapshots:
        wanted.append(sorted(labeled - seen))
        seen |= labeled
    assert by_manifest == wanted
    assert by_manifest[3] == [] and by_manifest[4] == []  # the late intermediate/2 and the final add nothing


# ---- chained job --------------------------------------------------------------------------------------------


def chained_writes() -> list[tuple[str, bytes]]:
    return plan_manifest_writes("adjustment-chained")


def test_chained_job_publishes_only_its_own_attribute() -> None:
    h = Harness()
    for key, data in chained_writes():
        h.process(key, data)

    attributes = {d["labelAttributeName"] for d in h.details(OBJECTS_LABELED) + h.details(OBJECTS_FAILED)}
    assert attributes == {"cars-bbox-adjust"}
    for detail in h.details(OBJECTS_LABELED):
        for obj in detail["objects"]:
            assert obj["metadata"]["job-name"] == "labeling-job/cars-bbox-adjust"
    assert h.published_ids() == list(range(15))
    (completed,) = h.completions()
    assert completed["labelAttributeNames"] == ["cars-bbox-adjust"]
    assert completed["classCounts"] == load_expected("adjustment-chained")["final"]["classCounts"]


def _rename_job(data: bytes, metadata_job_name: str) -> bytes:
    out = []
    for raw in data.splitlines():
        record = json.loads(raw)
        metadata = record.get("cars-bbox-adjust-metadata")
        if metadata is not None:
            metadata["job-name"] = metadata_job_name
        out.append(record)
    return manifest(out)


@pytest.mark.parametrize(
    ("folder_job", "metadata_job_name"),
    [
        ("cars-bbox-adjust", "labeling-job/cars-bbox-adjust"),
        ("Cars-BBox-Adjust", "labeling-job/cars-bbox-adjust"),
        ("cars-bbox-adjust", "cars-bbox-adjust"),
        ("CARS-BBOX-ADJUST", "Cars-Bbox-Adjust"),
        ("cars-bbox-adjust", "Labeling-Job/CARS-BBOX-ADJUST"),
    ],
)
def test_job_name_matching_is_case_insensitive_with_or_without_prefix(folder_job: str, metadata_job_name: str) -> None:
    expected = load_expected("adjustment-chained")
    h = Harness()
    for key, data in chained_writes():
        h.process(key.replace("cars-bbox-adjust/", f"{folder_job}/", 1), _rename_job(data, metadata_job_name))

    assert {d["labelAttributeName"] for d in h.details(OBJECTS_LABELED)} == {"cars-bbox-adjust"}
    assert h.published_ids() == expected["final"]["labeledIds"]
    (completed,) = h.completions()
    assert completed["labeled"] == expected["final"]["labeled"]
    assert completed["classCounts"] == expected["final"]["classCounts"]


def test_another_jobs_name_in_metadata_is_not_own() -> None:
    """The earlier job's pair alone: an unlabeled line for this job, never published."""
    h = Harness()
    key, data = chained_writes()[0]
    out = []
    for raw in data.splitlines():
        record = json.loads(raw)
        record.pop("cars-bbox-adjust", None)
        record.pop("cars-bbox-adjust-metadata", None)
        out.append(record)
    outcome = h.process(key, manifest(out))

    assert outcome.status == "processed" and outcome.lines == 15
    assert outcome.published == {}
    assert h.publisher.events == []
