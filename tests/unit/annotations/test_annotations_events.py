"""A worker-response write -> one `Annotations Consolidated` event in the contract's shape, with the label and
metadata as Ground Truth writes them; job descriptions (SageMaker) versus the fallback on the answers."""

from __future__ import annotations

import base64
import json

import msgspec
import numpy as np
import pytest
from gtproc.contract.events import AnnotationsConsolidated
from gtproc.domain.comparison import Agreement, same_label
from gtproc.domain.consolidation import decode_png, encode_png
from gtproc.usecases.consolidate_annotations import AnnotationsConfig
from gtproc.usecases.ports import DescribedBy, JobInfo

from tests.unit.annotations.annotations_support import (
    BIRDS_JOB,
    BUCKET,
    CARS,
    CARS_TREE,
    CLASSIFICATION_METADATA_KEYS,
    CONSOLIDATED,
    CONTRACT_FIELDS,
    FLOWERS,
    FLOWERS_TREE,
    NOW_TEXT,
    SPAMMER,
    Harness,
    answers_in,
    birds_categories,
    birds_ground_truth,
    by_object,
    tree_files,
    worker_file,
)

FLOWERS_3 = f"{FLOWERS}/annotations/worker-response/iteration-1/3/2019-04-18_16:13:06.json"  # Daisy x3 (spammer too)
FLOWERS_7 = f"{FLOWERS}/annotations/worker-response/iteration-1/7/2019-04-18_16:17:19.json"  # Rose, Rose, Daisy
CARS_0 = f"{CARS}/annotations/worker-response/iteration-3/0/2024-03-12_10:00:55.json"  # a truck and a car
CARS_15 = f"{CARS}/annotations/worker-response/iteration-1/15/2024-03-12_09:10:38.json"  # no box at all
CARS_INFO = JobInfo("cars-bbox", ("car", "truck", "bus"), "object-detection", 3, "sagemaker", f"s3://{BUCKET}/")


def gt_content(tree, job: str, object_id: str) -> dict:
    """Ground Truth's own consolidation of one object, from the tree's consolidation-response files."""
    for path in tree_files(tree / job, "consolidation-response").values():
        for item in json.loads(path.read_bytes()):
            if item["datasetObjectId"] == object_id:
                return item["consolidatedAnnotation"]["content"]
    raise AssertionError(f"object {object_id} is in no consolidation response")


def test_classification_write_publishes_one_event_with_the_contract_fields(harness: Harness):
    harness.put(FLOWERS_3, (FLOWERS_TREE / FLOWERS_3).read_bytes())

    outcome = harness(FLOWERS_3)

    assert (outcome.status, outcome.job_name, outcome.published) == ("processed", FLOWERS, {CONSOLIDATED: 1})
    assert harness.detail_types() == [CONSOLIDATED]
    [event] = harness.events()
    assert set(event) == CONTRACT_FIELDS
    msgspec.convert(event, AnnotationsConsolidated)  # and it decodes as the published schema
    assert event["jobName"] == FLOWERS
    assert (event["bucket"], event["jobPath"]) == (BUCKET, FLOWERS)
    assert event["iteration"] == 1
    assert event["datasetObjectId"] == "3"
    assert event["labelAttributeName"] == FLOWERS  # no job description: the console's default, the job name
    assert event["taskType"] == "groundtruth/image-classification"
    assert event["workers"] == 3
    assert event["agreement"] == 1.0
    assert event["votes"] == {"Daisy": 3}  # a new field: the metadata keeps Ground Truth's keys only
    assert event["method"] == "dawid-skene"
    assert event["workerIds"] == [a["workerId"] for a in answers_in(harness.read(FLOWERS_3))]
    # label and metadata exactly as Ground Truth writes an image-classification label
    assert type(event["label"]) is int
    metadata = event["metadata"]
    assert set(metadata) == CLASSIFICATION_METADATA_KEYS
    assert metadata["class-name"] == "Daisy"
    assert event["label"] == 0  # only class seen so far
    assert 0.5 < metadata["confidence"] <= 1.0
    assert metadata["type"] == "groundtruth/image-classification"
    assert metadata["job-name"] == f"labeling-job/{FLOWERS}"
    assert metadata["human-annotated"] == "yes"
    assert metadata["creation-date"] == NOW_TEXT
    theirs = gt_content(FLOWERS_TREE, FLOWERS, "3")
    assert metadata["class-name"] == theirs[f"{FLOWERS}-metadata"]["class-name"]


def test_majority_with_a_dissenting_spammer(harness: Harness):
    harness.put(FLOWERS_7, (FLOWERS_TREE / FLOWERS_7).read_bytes())
    harness(FLOWERS_7)
    [event] = harness.events(CONSOLIDATED)
    assert event["metadata"]["class-name"] == "Rose"
    assert event["agreement"] == pytest.approx(2 / 3, abs=1e-4)
    assert event["votes"] == {"Daisy": 1, "Rose": 2}
    assert SPAMMER in event["workerIds"] and event["workers"] == 3


def test_job_description_gives_attribute_task_and_class_index_by_category_position():
    categories = ("Tulip", "Sunflower", "Rose", "Daisy")
    info = JobInfo("flowers-label", categories, "image-classification", 3, "sagemaker", f"s3://{BUCKET}")
    harness = Harness({FLOWERS: info})
    for key in (FLOWERS_3, FLOWERS_7):
        harness.put(key, (FLOWERS_TREE / key).read_bytes())
        harness(key)

    events = by_object(harness.events(CONSOLIDATED))
    assert {e["labelAttributeName"] for e in events.values()} == {"flowers-label"}
    assert (events["3"]["label"], events["3"]["metadata"]["class-name"]) == (3, "Daisy")
    assert (events["7"]["label"], events["7"]["metadata"]["class-name"]) == (2, "Rose")
    assert harness.jobs.calls == 1  # described once per job, not once per object


def test_answers_naming_no_category_of_the_job_are_left_out():
    harness = Harness({FLOWERS: JobInfo(FLOWERS, ("Rose", "Tulip"), "image-classification")})
    harness.put(FLOWERS_7, (FLOWERS_TREE / FLOWERS_7).read_bytes())
    harness(FLOWERS_7)
    [event] = harness.events(CONSOLIDATED)
    assert (event["label"], event["metadata"]["class-name"]) == (0, "Rose")
    assert event["workers"] == 2
    assert event["votes"] == {"Rose": 2}  # only the answers that were consolidated
    assert SPAMMER not in event["workerIds"]  # the spammer answered Daisy, not a category


def test_fallback_without_description_infers_task_and_uses_the_job_name(harness: Harness):
    harness.put(FLOWERS_7, (FLOWERS_TREE / FLOWERS_7).read_bytes())
    harness(FLOWERS_7)
    [event] = harness.events(CONSOLIDATED)
    assert event["labelAttributeName"] == FLOWERS
    assert event["taskType"] == "groundtruth/image-classification"
    assert (event["label"], event["metadata"]["class-name"]) == (1, "Rose")  # classes sorted: Daisy, Rose
    assert harness.jobs.calls == 1


def test_description_without_task_type_still_infers_it_from_the_answers():
    harness = Harness({CARS: JobInfo("cars-label")})
    harness.put(CARS_0, (CARS_TREE / CARS_0).read_bytes())
    harness(CARS_0)
    [event] = harness.events(CONSOLIDATED)
    assert event["labelAttributeName"] == "cars-label"
    assert event["taskType"] == "groundtruth/object-detection"
    names = {event["metadata"]["class-map"][str(box["class_id"])] for box in event["label"]["annotations"]}
    assert names == {"car", "truck"}
    assert event["metadata"]["class-map"] == {"0": "car", "1": "truck"}  # sorted names: car, truck


def test_bounding_boxes_in_ground_truth_shape():
    harness = Harness({CARS: CARS_INFO})
    harness.put(CARS_0, (CARS_TREE / CARS_0).read_bytes())
    outcome = harness(CARS_0)

    assert outcome.published == {CONSOLIDATED: 1}
    [event] = harness.events()
    assert set(event) == CONTRACT_FIELDS - {"votes"}  # counted for single- and multi-label only; {} is omitted
    assert (event["iteration"], event["datasetObjectId"]) == (3, "0")
    assert event["taskType"] == "groundtruth/object-detection"
    assert event["method"] == "iou-cluster-median"
    label, metadata = event["label"], event["metadata"]
    assert set(label) == {"image_size", "annotations"}
    [size] = label["image_size"]
    assert set(size) == {"width", "height", "depth"}
    assert all(set(box) == {"class_id", "left", "top", "width", "height"} for box in label["annotations"])
    assert set(metadata) == {"objects", "class-map", "type", "job-name", "human-annotated", "creation-date"}
    assert len(metadata["objects"]) == len(label["annotations"]) == 2
    assert all(set(o) == {"confidence"} and 0 < o["confidence"] <= 1 for o in metadata["objects"])
    # class ids are positions in the job's categories (car, truck, bus)
    assert metadata["class-map"] == {"0": "car", "1": "truck"}
    assert sorted(box["class_id"] for box in label["annotations"]) == [0, 1]
    theirs = gt_content(CARS_TREE, CARS, "0")
    ground_truth = (theirs[CARS], theirs[f"{CARS}-metadata"])
    assert same_label(event["taskType"], (label, metadata), ground_truth) is Agreement.SAME
    assert size == theirs[CARS]["image_size"][0]


def test_an_image_without_boxes_is_labeled_with_empty_lists():
    harness = Harness({CARS: CARS_INFO})
    harness.put(CARS_15, (CARS_TREE / CARS_15).read_bytes())
    harness(CARS_15)
    [event] = harness.events(CONSOLIDATED)
    assert event["label"]["annotations"] == []
    assert (event["metadata"]["objects"], event["metadata"]["class-map"]) == ([], {})
    theirs = gt_content(CARS_TREE, CARS, "15")
    assert (theirs[CARS]["annotations"], theirs[f"{CARS}-metadata"]["class-map"]) == ([], {})


def test_real_birds_job_reproduces_ground_truth_labels_and_indexes():
    """The real job's worker responses: with its categories, every label (index and class name) is GT's own."""
    job = BIRDS_JOB.name
    harness = Harness(
        {job: JobInfo(job, tuple(birds_categories()), "image-classification", 5, "sagemaker", f"s3://{BUCKET}/")}
    )
    keys = harness.put_tree(BIRDS_JOB.parent, "worker-response", only=lambda key: key.startswith(f"{job}/"))
    assert len(keys) == 10
    for key in keys:
        assert harness(key).published == {CONSOLIDATED: 1}

    events = by_object(harness.events(CONSOLIDATED))
    ground_truth = birds_ground_truth()
    assert set(events) == set(ground_truth)
    for object_id, line in ground_truth.items():
        event = events[object_id]
        assert event["label"] == line[job], object_id
        assert event["metadata"]["class-name"] == line[f"{job}-metadata"]["class-name"], object_id
        assert set(event["metadata"]) == set(line[f"{job}-metadata"])
        assert event["metadata"]["job-name"] == line[f"{job}-metadata"]["job-name"]
        assert event["workers"] == 5


def test_the_bucket_is_part_of_the_job_identity():
    """The same job folder in two buckets is two jobs: each publishes its own event."""
    harness = Harness()
    body = (FLOWERS_TREE / FLOWERS_3).read_bytes()
    harness.put(FLOWERS_3, body)
    harness.put(FLOWERS_3, body, bucket="other-bucket")
    harness(FLOWERS_3)
    harness(FLOWERS_3, bucket="other-bucket")
    assert len(harness.events(CONSOLIDATED)) == 2
    assert harness.quality(FLOWERS) is not None
    assert harness.quality(FLOWERS, bucket="other-bucket") is not None


def segmentation_answer(worker: str, painted: list[tuple[int, int]]) -> dict:
    pixels = np.zeros((2, 3, 4), np.uint8)
    for y, x in painted:
        pixels[y, x] = [44, 160, 44, 255]  # #2ca02c
    return {
        "workerId": worker,
        "answerContent": {
            "crowd-semantic-segmentation": {
                "inputImageProperties": {"width": 3, "height": 2},
                "labelMappings": {"Bird": {"color": "#2ca02c"}},
                "labeledImage": {"pngImageData": base64.b64encode(encode_png(pixels)).decode()},
            }
        },
    }


def test_segmentation_mask_is_written_to_the_results_bucket_and_not_compared():
    harness = Harness(config=AnnotationsConfig(results_bucket="gtproc-labels"))
    key = "birds-seg/annotations/worker-response/iteration-1/0/2022-09-09_17:25:31.json"
    harness.put(key, worker_file(segmentation_answer("w1", [(0, 0), (0, 1)]), segmentation_answer("w2", [(0, 0)])))

    assert harness(key).published == {CONSOLIDATED: 1}

    [event] = harness.events(CONSOLIDATED)
    mask_key = "consolidated/gt-output-bucket/birds-seg/iteration-1/0.png"
    assert event["taskType"] == "groundtruth/semantic-segmentation"
    assert event["labelAttributeName"] == "birds-seg-ref"  # undescribed job: a segmentation attribute ends in -ref
    assert event["label"] == f"s3://gtproc-labels/{mask_key}"
    color_map = event["metadata"]["internal-color-map"]
    assert [entry["class-name"] for _, entry in sorted(color_map.items())] == ["BACKGROUND", "Bird"]
    mask = decode_png(harness.read(mask_key, bucket="gtproc-labels"))
    assert mask.shape[:2] == (2, 3)

    response = (
        "birds-seg/annotations/consolidated-annotation/consolidation-response/iteration-1/2022-09-09_17:25:33.json"
    )
    content = {"birds-seg-ref": "s3://gt-output-bucket/birds-seg/annotations/consolidated-annotation/output/0_x.png",
               "birds-seg-ref-metadata": {"type": "groundtruth/semantic-segmentation"}}  # fmt: skip
    harness.put(response, [{"datasetObjectId": "0", "consolidatedAnnotation": {"content": content}}])
    assert harness(response).published == {}  # masks live in other objects: no comparison
    assert [record for _, record in harness.store.records if record.startswith("CMP#")] == []


def test_a_job_of_the_same_name_in_another_folder_or_bucket_is_told_apart(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_3)
    body = harness.read(FLOWERS_3)
    harness.put(f"other/{FLOWERS_3}", body)
    harness.put(FLOWERS_3, body, bucket="another-bucket")

    harness(FLOWERS_3)
    harness(f"other/{FLOWERS_3}")
    harness(FLOWERS_3, bucket="another-bucket")

    identities = [(e["jobName"], e["bucket"], e["jobPath"]) for e in harness.events(CONSOLIDATED)]
    assert identities == [
        (FLOWERS, BUCKET, FLOWERS),
        (FLOWERS, BUCKET, f"other/{FLOWERS}"),
        (FLOWERS, "another-bucket", FLOWERS),
    ]


def test_a_description_of_a_job_writing_elsewhere_is_not_lent_to_this_key(harness: Harness, caplog):
    categories = ("Rose", "Sunflower", "Daisy", "Tulip", "Lilac")
    real = JobInfo("flowers-label", categories, "image-classification", 3, DescribedBy.SAGEMAKER, f"s3://{BUCKET}/")
    harness = Harness({FLOWERS: real})
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_3)
    body = harness.read(FLOWERS_3)
    harness.put(f"other/{FLOWERS_3}", body)  # same job name, another folder
    harness.put(FLOWERS_3, body, bucket="another-bucket")

    harness(FLOWERS_3)
    harness(f"other/{FLOWERS_3}")
    harness(FLOWERS_3, bucket="another-bucket")

    attributes = [(e["bucket"], e["jobPath"], e["labelAttributeName"]) for e in harness.events(CONSOLIDATED)]
    assert attributes == [
        (BUCKET, FLOWERS, "flowers-label"),  # the described job itself
        (BUCKET, f"other/{FLOWERS}", FLOWERS),  # the key's own facts
        ("another-bucket", FLOWERS, FLOWERS),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2 and all("using the key's own facts" in w for w in warnings)
