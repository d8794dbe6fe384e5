"""Shared by the pipeline unit tests: a harness around ProcessManifest on the in-memory adapters,
and builders of manifest lines. (A plain module: conftest.py only holds fixtures.)"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryObjects, MemoryPublisher
from gtproc.contract.events import JOB_COMPLETED, OBJECTS_FAILED, OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.usecases.process_manifest import ManifestOutcome, PipelineConfig, ProcessManifest

JOBS = Path(__file__).resolve().parents[3] / "events" / "jobs"
BUCKET = "gt-output-bucket"
CLASS_MAP = {"0": "car", "1": "truck", "2": "bus"}


class FakeClock:
    """Time that only moves when the code under test sleeps (or a test advances it)."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


# ---- manifest builders --------------------------------------------------------------------------------


def bbox_pair(index: int, job: str, boxes: int = 2, human: bool = True, pad: int = 0) -> tuple[dict, dict]:
    """A bounding-box label and its metadata; `pad` lengthens the label (a big `creation-date`-free field)."""
    annotations = [
        {"class_id": (index + b) % 3, "top": b * 7, "left": index % 900, "height": 10 + b, "width": 20 + b}
        for b in range(boxes)
    ]
    label: dict[str, Any] = {"image_size": [{"width": 1024, "height": 768, "depth": 3}], "annotations": annotations}
    metadata: dict[str, Any] = {
        "objects": [{"confidence": 0.9} for _ in range(boxes)],
        "class-map": dict(CLASS_MAP),
        "type": "groundtruth/object-detection",
        "human-annotated": "yes" if human else "no",
        "creation-date": "2024-03-12T09:26:16.300133",
        "job-name": f"labeling-job/{job}",
    }
    if pad:
        metadata["note"] = "x" * pad
    return label, metadata


def line(
    index: int,
    job: str,
    labeled: bool = True,
    failed: bool = False,
    source_ref: str | None = None,
    attribute: str | None = None,
    **pair_options: Any,
) -> dict[str, Any]:
    attribute = attribute or job
    record: dict[str, Any] = {"source-ref": source_ref or f"s3://gt-input-bucket/images/img_{index:06d}.jpg"}
    if failed:
        record[f"{attribute}-metadata"] = {
            "failure-reason": "ClientError: Annotation tasks expired",
            "job-name": f"labeling-job/{job}",
        }
    elif labeled:
        record[attribute], record[f"{attribute}-metadata"] = bbox_pair(index, job, **pair_options)
    return record


def manifest(records: Iterable[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode() + b"\n" for r in records)


def snapshot(job: str, total: int, labeled: Iterable[int], failed: Iterable[int] = (), **pair_options: Any) -> bytes:
    """A full snapshot manifest of `total` objects where `labeled` ids carry a label, `failed` a failure."""
    labeled, failed = set(labeled), set(failed)
    return manifest(line(i, job, labeled=i in labeled, failed=i in failed, **pair_options) for i in range(total))


def multi_attribute_snapshot(job: str, total: int, attributes: list[str], labeled: Iterable[int]) -> bytes:
    """Lines carrying one own label pair per attribute: one (small) event per attribute."""
    labeled = set(labeled)
    records = []
    for i in range(total):
        record: dict[str, Any] = {"source-ref": f"s3://gt-input-bucket/images/img_{i:06d}.jpg"}
        if i in labeled:
            for attribute in attributes:
                record[attribute], record[f"{attribute}-metadata"] = bbox_pair(i, job)
        records.append(record)
    return manifest(records)


def intermediate_key(job: str, iteration: int, prefix: str = "") -> str:
    return f"{prefix}{job}/manifests/intermediate/{iteration}/output.manifest"


def final_key(job: str, prefix: str = "") -> str:
    return f"{prefix}{job}/manifests/output/output.manifest"


def load_expected(tree: str) -> dict[str, Any]:
    return json.loads((JOBS / f"{tree}.expected.json").read_text(encoding="utf-8"))


def plan_manifest_writes(tree: str) -> list[tuple[str, bytes]]:
    """The manifest writes of a tree's replay plan, in plan order: (key, bytes)."""
    writes = []
    for raw in (JOBS / f"{tree}.plan.jsonl").read_text(encoding="utf-8").splitlines():
        step = json.loads(raw)
        if step["key"].endswith("output.manifest"):
            writes.append((step["key"], (JOBS / step["file"]).read_bytes()))
    return writes


# ---- a run that dies (shared with the streaming tests) ---------------------------------------------------


class Killed(BaseException):
    """The instance is gone: nothing after this point runs, not even a release."""


class StateOfAKilledRun(MemoryJobState):
    """Kills the run right after its first journal write; a dead process releases nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True
        self.dead_owner: str | None = None
        self.lease_seconds: list[int] = []

    def acquire(self, job_id: str, owner: str, now: float, lease_seconds: int) -> Any:
        self.lease_seconds.append(lease_seconds)
        return super().acquire(job_id, owner, now, lease_seconds)

    def record_published(self, lease: Any, facts: Any, now: float) -> None:
        super().record_published(lease, facts, now)
        if self.armed:
            self.armed, self.dead_owner = False, lease.owner
            raise Killed

    def release(self, lease: Any) -> None:
        if lease.owner != self.dead_owner:
            super().release(lease)


# ---- the harness -----------------------------------------------------------------------------------------


class Harness:
    def __init__(
        self,
        config: PipelineConfig | None = None,
        labels: Any = None,
        state: Any = None,
        publisher: Any = None,
    ) -> None:
        self.clock = FakeClock()
        self.objects = MemoryObjects()
        self.state = state if state is not None else MemoryJobState()
        self.labels = labels if labels is not None else MemoryLabels()
        self.publisher = publisher if publisher is not None else MemoryPublisher()
        self.config = config or PipelineConfig()
        self.pm = ProcessManifest(
            self.objects, self.state, self.labels, self.publisher, self.config, clock=self.clock, sleep=self.clock.sleep
        )

    def write(self, key: str, data: bytes) -> None:
        self.objects.objects[(BUCKET, key)] = data

    def process(self, key: str, data: bytes | None = None) -> ManifestOutcome:
        if data is not None:
            self.write(key, data)
        return self.pm(BUCKET, key)

    def details(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [
            json.loads(entry.detail)
            for entry in self.publisher.events
            if detail_type is None or entry.detail_type == detail_type
        ]

    def published(self, detail_type: str = OBJECTS_LABELED) -> Counter[tuple[str, str]]:
        """(label attribute, datasetObjectId) of every published object, counted (a duplicate shows as 2)."""
        return Counter(
            (detail["labelAttributeName"], obj["datasetObjectId"])
            for detail in self.details(detail_type)
            for obj in detail["objects"]
        )

    def published_ids(self, detail_type: str = OBJECTS_LABELED) -> list[int]:
        return sorted(int(obj_id) for _, obj_id in self.published(detail_type).elements())

    def invalid_lines(self) -> list[tuple[int, str]]:
        return [(error["line"], error["code"]) for d in self.details(VALIDATION_FAILED) for error in d["errors"]]

    def completions(self) -> list[dict[str, Any]]:
        return self.details(JOB_COMPLETED)

    def label_lines(self, job_id: str) -> list[dict[str, Any]]:
        """The labels so far of a job: every part, in name order."""
        parts = self.labels.parts.get(job_id, {})
        return [json.loads(raw) for name in sorted(parts) for raw in parts[name].splitlines() if raw]

    def fact_count(self) -> Counter[tuple[str, str, str]]:
        counts: Counter[tuple[str, str, str]] = Counter()
        for detail_type in (OBJECTS_LABELED, OBJECTS_FAILED):
            for (attribute, obj_id), n in self.published(detail_type).items():
                counts[(detail_type, attribute, obj_id)] += n
        return counts
