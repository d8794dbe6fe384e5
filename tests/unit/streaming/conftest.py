"""Fixtures of the streaming-job and job-status unit tests: the use cases on the in-memory adapters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from gtproc.adapters.memory import (
    MemoryAnnotationStore,
    MemoryJobState,
    MemoryLabelingJobs,
    MemoryLabels,
    MemoryObjects,
    MemoryPublisher,
)
from gtproc.usecases.job_status import PublishJobStatus
from gtproc.usecases.ports import JobStatusInfo
from gtproc.usecases.process_manifest import ProcessManifest
from gtproc.usecases.process_stream import ProcessStream

JOB = "pets-stream"
TOPIC = "arn:aws:sns:us-east-1:123456789012:pets-stream-output"
BUCKET = "gt-output-bucket"


def line(object_id: str | None, image: str, class_name: str | None = "cat", key: str = "byo-key") -> dict:
    """A streaming job's output line; `class_name=None` is a failed object."""
    record: dict = {"source-ref": f"s3://inputs/{image}.jpg"}
    if object_id is not None:
        record |= {"dataset-objectid-attribute-name": key, key: object_id}
    meta = {"job-name": f"labeling-job/{JOB}", "type": "groundtruth/image-classification"}
    if class_name is None:
        record[f"{JOB}-metadata"] = {**meta, "failure-reason": "ClientError: Annotation tasks expired"}
    else:
        record[JOB] = 0 if class_name == "cat" else 1
        record[f"{JOB}-metadata"] = {
            **meta,
            "class-name": class_name,
            "confidence": 0.9,
            "human-annotated": "yes",
            "creation-date": "2024-03-12T10:13:07.123456",
        }
    return record


def message(record: dict) -> bytes:
    return json.dumps(record).encode()


@dataclass
class Streaming:
    state: MemoryJobState = field(default_factory=MemoryJobState)
    labels: MemoryLabels = field(default_factory=MemoryLabels)
    publisher: MemoryPublisher = field(default_factory=MemoryPublisher)
    objects: MemoryObjects = field(default_factory=MemoryObjects)
    store: MemoryAnnotationStore = field(default_factory=MemoryAnnotationStore)
    jobs: MemoryLabelingJobs = field(default_factory=MemoryLabelingJobs)
    now: float = 1_000_000.0
    job: str = JOB
    topic: str = TOPIC
    bucket: str = BUCKET

    @staticmethod
    def line(object_id: str | None, image: str, class_name: str | None = "cat", key: str = "byo-key") -> dict:
        return line(object_id, image, class_name, key)

    @staticmethod
    def message(record: dict) -> bytes:
        return message(record)

    def __post_init__(self) -> None:
        counters = {"TotalLabeled": 3, "HumanLabeled": 3, "MachineLabeled": 0, "FailedNonRetryableError": 1}
        self.jobs.jobs[JOB] = JobStatusInfo(f"s3://{BUCKET}/streams/", {**counters, "Unlabeled": 2})
        self.stream = ProcessStream(
            self.jobs, self.state, self.labels, self.publisher, clock=lambda: self.now, sleep=lambda _: None
        )
        self.manifests = ProcessManifest(
            self.objects, self.state, self.labels, self.publisher, clock=lambda: self.now, sleep=lambda _: None
        )
        self.status = PublishJobStatus(self.jobs, self.store, self.publisher, clock=lambda: self.now)

    def send(self, payload: bytes) -> object:
        return self.stream(JOB, TOPIC, payload)

    def write_manifest(self, records: list[dict], iteration: int = 1) -> object:
        key = f"streams/{JOB}/manifests/intermediate/{iteration}/output.manifest"
        self.objects.objects[(BUCKET, key)] = b"".join(json.dumps(r).encode() + b"\n" for r in records)
        return self.manifests(BUCKET, key)

    def details(self, detail_type: str) -> list[dict]:
        return [json.loads(e.detail) for e in self.publisher.events if e.detail_type == detail_type]

    def object_ids(self, detail_type: str) -> list[str]:
        return [o["datasetObjectId"] for d in self.details(detail_type) for o in d["objects"]]

    def label_lines(self) -> list[dict]:
        parts = self.labels.parts.get(f"{BUCKET}/streams/{JOB}", {})
        return [json.loads(raw) for name in sorted(parts) for raw in parts[name].splitlines()]


@pytest.fixture
def streaming() -> Streaming:
    return Streaming()
