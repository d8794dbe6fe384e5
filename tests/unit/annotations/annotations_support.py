"""Helpers of the annotations unit tests: the use case on in-memory fakes, sample trees, answer builders."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from gtproc.adapters.memory import MemoryAnnotationStore, MemoryBlobs, MemoryJobs, MemoryPublisher
from gtproc.domain.consolidation import QualityState
from gtproc.usecases.consolidate_annotations import AnnotationOutcome, AnnotationsConfig, ConsolidateAnnotations
from gtproc.usecases.ports import JobInfo

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
BIRDS_JOB = DATA / "birds-open-images-clone"
BIRDS_LINES = DATA / "birds-open-images-clone.output-lines.jsonl"
JOBS = HERE.parents[2] / "events" / "jobs"
FLOWERS_TREE = JOBS / "classification-failed-auto"
FLOWERS = "flowers-classification"
CARS_TREE = JOBS / "bbox-three-iterations"
CARS = "cars-bbox"
FLOWERS_EXPECTED = json.loads((JOBS / "classification-failed-auto.expected.json").read_text())
SPAMMER = FLOWERS_EXPECTED["workers"]["spammer"]
GOOD_WORKERS = FLOWERS_EXPECTED["workers"]["good"]

BUCKET = "gt-output-bucket"
NOW = 1_700_000_000.0
NOW_TEXT = "2023-11-14T22:13:20.000000"  # NOW as GT writes creation-date
CONSOLIDATED = "Annotations Consolidated"
COMPARED = "Consolidation Compared"
CLASSIFICATION_METADATA_KEYS = {"class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"}
CONTRACT_FIELDS = {
    "jobName", "bucket", "jobPath", "iteration", "datasetObjectId", "labelAttributeName", "taskType", "label",
    "metadata", "workers", "agreement", "method", "workerIds", "votes",
}  # fmt: skip


def worker_key(job: str, iteration: int, object_id: str | int, stamp: str = "2019-04-18_16:13:05") -> str:
    return f"{job}/annotations/worker-response/iteration-{iteration}/{object_id}/{stamp}.json"


def response_key(job: str, iteration: int, stamp: str = "2019-04-18_16:17:42") -> str:
    return f"{job}/annotations/consolidated-annotation/consolidation-response/iteration-{iteration}/{stamp}.json"


def classification_answer(worker: str, label: str) -> dict[str, Any]:
    return {"workerId": worker, "answerContent": {"crowd-image-classifier": {"label": label}}}


def worker_file(*answers: dict[str, Any]) -> bytes:
    return json.dumps({"answers": list(answers)}, separators=(",", ":")).encode()


def tree_files(tree: Path, *areas: str) -> dict[str, Path]:
    """{S3 key: file} of a sample tree (a file's path below the tree is its key), for the given areas."""
    files = {}
    for path in sorted(tree.rglob("*.json")):
        key = path.relative_to(tree).as_posix()
        if not areas or any(f"/{area}/" in key for area in areas):
            files[key] = path
    return files


def answers_in(data: bytes) -> list[dict[str, Any]]:
    return json.loads(data)["answers"]


def birds_ground_truth() -> dict[str, dict[str, Any]]:
    """{datasetObjectId: the output-manifest line Ground Truth wrote}."""
    lines = [json.loads(line) for line in BIRDS_LINES.read_text().splitlines() if line.strip()]
    return {str(item["line_index"]): item["line"] for item in lines}


def birds_categories() -> list[str]:
    """The birds job's classes by GT's index. Indices 3 and 5 never appear in iteration 1 (stand-ins);
    the format reference quotes a later line of the job with Canary = 9."""
    names = [f"unseen-{i}" for i in range(10)]
    for line in birds_ground_truth().values():
        names[line["birds-open-images-clone"]] = line["birds-open-images-clone-metadata"]["class-name"]
    names[9] = "Canary"
    return names


class Harness:
    """ConsolidateAnnotations on in-memory adapters, with a fixed clock and a recorded (not slept) sleep."""

    def __init__(self, jobs: dict[str, JobInfo] | None = None, config: AnnotationsConfig | None = None) -> None:
        self.blobs = MemoryBlobs()
        self.jobs = MemoryJobs(dict(jobs or {}))
        self.store = MemoryAnnotationStore()
        self.publisher = MemoryPublisher()
        self.sleeps: list[float] = []
        self.config = config
        self.use_case = self.new_instance()

    def new_instance(self) -> ConsolidateAnnotations:
        """Another Lambda container: its own caches, the same bucket, table and bus."""
        return ConsolidateAnnotations(
            self.blobs, self.jobs, self.store, self.publisher, self.config, clock=lambda: NOW, sleep=self.sleeps.append
        )

    def __call__(self, key: str, bucket: str = BUCKET) -> AnnotationOutcome:
        return self.use_case(bucket, key)

    def put(self, key: str, body: bytes | str | list | dict, bucket: str = BUCKET) -> str:
        if isinstance(body, list | dict):
            body = json.dumps(body, separators=(",", ":"))
        self.blobs.write(bucket, key, body.encode() if isinstance(body, str) else body)
        return key

    def put_tree(self, tree: Path, *areas: str, only: Callable[[str], bool] = lambda key: True) -> list[str]:
        keys = []
        for key, path in tree_files(tree, *areas).items():
            if only(key):
                keys.append(self.put(key, path.read_bytes()))
        return keys

    def read(self, key: str, bucket: str = BUCKET) -> bytes:
        return self.blobs.read(bucket, key)

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [
            json.loads(entry.detail)
            for entry in self.publisher.events
            if detail_type is None or entry.detail_type == detail_type
        ]

    def detail_types(self) -> list[str]:
        return [entry.detail_type for entry in self.publisher.events]

    def quality(self, job: str, bucket: str = BUCKET) -> QualityState | None:
        state, _ = self.store.load_quality(f"{bucket}/{job}")
        return QualityState.from_json(state) if state is not None else None

    def quality_version(self, job: str, bucket: str = BUCKET) -> int:
        return self.store.load_quality(f"{bucket}/{job}")[1]


def by_object(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        assert event["datasetObjectId"] not in found, f"two events for object {event['datasetObjectId']}"
        found[event["datasetObjectId"]] = event
    return found
