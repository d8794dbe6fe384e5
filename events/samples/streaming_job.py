"""e. `streaming-job/`: a streaming job's SNS messages, periodic manifests and state changes."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from .core import BUCKET, INPUT_BUCKET, Tree, cj, creation_date, dt, manifest_bytes, rand_uuid

PETS = ["cat", "dog"]


def build(jobs: Path) -> tuple[Tree, dict]:
    """A streaming job: per-object SNS messages (some redelivered, two bad), periodic manifests that carry
    the same objects, and SageMaker's state changes (one sent twice) up to Stopped."""
    rng = random.Random(20240312)
    job, lan, topic = "pets-stream", "pets-stream", "pets-stream-output"
    tree = Tree(jobs, "streaming-job")
    gt_key = "$label-attribute-name-object-id"  # Ground Truth's own dedup key (no key of the caller's)

    def obj(oid: str, key: str, image: str) -> dict:
        return {"source-ref": f"s3://{INPUT_BUCKET}/pets/{image}.jpg", "dataset-objectid-attribute-name": key, key: oid}

    objects = [
        obj("pet-001", "pet-id", "tabby"),
        obj("pet-002", "pet-id", "beagle"),
        obj("pet-003", "pet-id", "blurry"),
        obj(rand_uuid(rng), gt_key, "siamese"),
        obj("pet-004", "pet-id", "collie"),
        obj(rand_uuid(rng), gt_key, "poodle"),
    ]
    base = dt("2024-03-12T10:00:00")
    classes = {0: "cat", 1: "dog", 3: "cat", 4: "dog", 5: "dog"}

    def labeled(i: int, minute: int) -> dict:
        meta = {
            "confidence": round(rng.uniform(0.7, 0.95), 2),
            "job-name": f"labeling-job/{job}",
            "class-name": classes[i],
            "human-annotated": "yes",
            "creation-date": creation_date(base + timedelta(minutes=minute)),
            "type": "groundtruth/image-classification",
        }
        return {**objects[i], lan: PETS.index(classes[i]), f"{lan}-metadata": meta}

    failed_meta = {"failure-reason": "ClientError: Annotation tasks expired", "job-name": f"labeling-job/{job}"}
    lines = {i: labeled(i, 2 * i + 1) for i in classes} | {2: {**objects[2], f"{lan}-metadata": failed_meta}}
    ids = [o[o["dataset-objectid-attribute-name"]] for o in objects]

    plan: list[dict[str, Any]] = []

    def message(i: int) -> None:
        plan.append({"streaming": job, "file": f"streaming-job/messages/{ids[i]}.json"})

    def bad(name: str, data: bytes) -> None:
        rel = f"streaming-job/messages/bad-{name}.json"
        path = jobs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        plan.append({"streaming": job, "file": rel})

    def manifest(iteration: int, members: list[int]) -> dict:
        key = f"{job}/manifests/intermediate/{iteration}/output.manifest"
        data = manifest_bytes([lines[i] for i in members])
        tree.put(key, data, base + timedelta(minutes=10 * iteration))
        plan.append({"key": key, "file": f"streaming-job/{key}"})
        return {"key": key, "lines": len(members), "datasetObjectIds": [ids[i] for i in members]}

    for i, line in lines.items():
        path = jobs / f"streaming-job/messages/{ids[i]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(cj(line).encode("utf-8"))  # what Ground Truth publishes: the output line's JSON text
    truncated = cj(lines[1]).encode("utf-8")[:90]
    untyped = json.loads(cj(lines[4]))
    del untyped[f"{lan}-metadata"]["type"]
    untyped["pet-id"] = "pet-005"
    message(0)
    message(1)
    message(0)  # redelivered
    bad("truncated", truncated)
    message(2)
    message(3)
    manifests = [manifest(1, [0, 1, 2, 3, 4])]  # pet-004 is in the manifest before its message
    message(1)  # redelivered
    message(4)  # late: the manifest had it
    message(5)
    bad("no-type", cj(untyped).encode("utf-8"))
    bad("truncated", truncated)  # the same bad message again
    # DescribeLabelingJob's counters at each change (what a replay under faults has published by then varies).
    counters = {"TotalLabeled": 5, "HumanLabeled": 5, "MachineLabeled": 0, "FailedNonRetryableError": 1, "Unlabeled": 0}
    plan.append({"jobStatus": job, "status": "Stopping", "labelCounters": counters})
    manifests.append(manifest(2, [0, 1, 2, 3, 4, 5]))
    plan.append({"jobStatus": job, "status": "Stopped", "labelCounters": counters})
    plan.append({"jobStatus": job, "status": "Stopped", "labelCounters": counters})  # SageMaker's duplicate
    tree.flush()
    tree.plan = plan
    n_messages = sum("streaming" in step for step in plan)
    expected = {
        "tree": "streaming-job",
        "bucket": BUCKET,
        "jobName": job,
        "labelAttributeName": lan,
        "taskType": "groundtruth/image-classification",
        "plan": "streaming-job.plan.jsonl",
        "topicName": topic,
        "messages": n_messages,
        "labeledIds": sorted(ids[i] for i in classes),
        "failedIds": [ids[2]],
        "invalidMessages": [
            {"file": "streaming-job/messages/bad-truncated.json", "code": "json-invalid"},
            {"file": "streaming-job/messages/bad-no-type.json", "code": "type-missing"},
        ],
        "statuses": [
            {"status": "Stopping", "labelCounters": counters},
            {"status": "Stopped", "labelCounters": counters},
        ],
        "manifests": manifests,
        "planSteps": len(plan),
    }
    return tree, expected
