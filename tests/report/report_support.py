"""Small Ground Truth job trees written by hand, so each figure of the report can be computed by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JOBS = ROOT / "events" / "jobs"
FLOWERS = JOBS / "classification-failed-auto" / "flowers-classification"
CARS = JOBS / "bbox-three-iterations" / "cars-bbox"
BROKEN = JOBS / "bad-input" / "broken-job"


def answer(worker: str, content: dict[str, Any], submitted: str, accepted: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"answerContent": content, "submissionTime": submitted, "workerId": worker}
    if accepted is not None:
        item["acceptanceTime"] = accepted
    return item


def classification(label: str) -> dict[str, Any]:
    return {"crowd-image-classifier": {"label": label}}


def write_responses(job: Path, iteration: int, oid: int, answers: list[dict[str, Any]]) -> Path:
    path = job / "annotations" / "worker-response" / f"iteration-{iteration}" / str(oid) / "2024-01-01_10:00:00.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"answers": answers}))
    return path


def class_line(job: str, oid: int, name: str, index: int, confidence: float, human: bool = True) -> dict[str, Any]:
    return {
        "source-ref": f"s3://in/{oid}.jpg",
        job: index,
        f"{job}-metadata": {
            "class-name": name,
            "confidence": confidence,
            "type": "groundtruth/image-classification",
            "job-name": f"labeling-job/{job}",
            "human-annotated": "yes" if human else "no",
            "creation-date": "2024-01-01T12:30:00.000000",
        },
    }


def write_manifest(job: Path, lines: list[dict[str, Any] | str], iteration: int | None = None) -> Path:
    where = ("intermediate", str(iteration)) if iteration is not None else ("output",)
    path = job.joinpath("manifests", *where, "output.manifest")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def cats_and_dogs(tmp: Path, name: str = "pets") -> Path:
    """10 images (0-4 cat, 5-9 dog); workers good1 and good2 always right, `lazy` always says cat.

    Ground Truth's manifest agrees except on image 9 (cat, confidence 0.6); 10 is auto-labeled dog.
    Each answer takes 30 s (acceptanceTime to submissionTime), good1's 60 s.
    """
    job = tmp / name
    for oid in range(10):
        truth = "cat" if oid < 5 else "dog"
        minute = f"{oid:02d}"
        answers = [
            answer("good1", classification(truth), f"2024-01-01T10:{minute}:00Z", f"2024-01-01T09:{minute}:00Z"),
            answer("good2", classification(truth), f"2024-01-01T10:{minute}:30Z", f"2024-01-01T10:{minute}:00Z"),
            answer("lazy", classification("cat"), f"2024-01-01T10:{minute}:45Z", f"2024-01-01T10:{minute}:15Z"),
        ]
        write_responses(job, 1, oid, answers)
    lines: list[dict[str, Any] | str] = []
    for oid in range(10):
        truth = "cat" if oid < 5 else "dog"
        if oid == 9:
            lines.append(class_line(name, oid, "cat", 0, 0.6))
        else:
            lines.append(class_line(name, oid, truth, 0 if truth == "cat" else 1, 0.95))
    lines.append(class_line(name, 10, "dog", 1, 0.8, human=False))
    write_manifest(job, lines)
    return job


PETS_TRUTH = {str(oid): ("cat" if oid < 5 else "dog") for oid in range(11)}
