"""Scenario a: bounding boxes over three iterations, with an out-of-order rewrite."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .boxes import CAR_CLASSES, bbox_label, class_map_for, iou, jitter, rand_box
from .core import (
    BUCKET,
    INPUT_BUCKET,
    PrivateWorker,
    Tree,
    check_manifest_bytes,
    cj,
    creation_date,
    dt,
    file_ts,
    manifest_bytes,
    private_answer,
    private_workers,
    summarize,
)


def build(jobs: Path) -> tuple[Tree, dict]:
    rng = random.Random(20240312)
    job, lan, n = "cars-bbox", "cars-bbox", 30
    tree = Tree(jobs, "bbox-three-iterations")
    workers = private_workers(rng, 5)

    order = list(range(n))
    rng.shuffle(order)
    iterations = {1: sorted(order[:10]), 2: sorted(order[10:20]), 3: sorted(order[20:])}
    zero_idx = iterations[1][2]
    miss_idx = iterations[2][1]  # one worker misses a box
    mislabel_idx = iterations[3][0]  # one worker calls a truck a car
    sizes = [(1280, 720), (1920, 1080), (1024, 768)]

    # input manifest
    inputs: list[dict] = []
    for i in range(n):
        if i == 6:
            ref = f"s3://{INPUT_BUCKET}/cars/images/parking lot 3.jpg"
        elif i == 17:
            ref = f"s3://{INPUT_BUCKET}/cars/images/주차장_07.jpg"
        else:
            ref = f"s3://{INPUT_BUCKET}/cars/images/img_{i:04d}.jpg"
        line: dict[str, Any] = {"source-ref": ref}
        if i in (4, 11, 23):
            line["camera-id"] = f"cam-{i % 3 + 1:02d}"
        inputs.append(line)

    # truth
    truth: dict[int, dict] = {}
    for i in range(n):
        w, h = rng.choice(sizes)
        nbox = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
        if i == zero_idx:
            nbox = 0
        if i == miss_idx:
            nbox = max(nbox, 2)
        boxes = []
        for b in range(nbox):
            cls = rng.choices([0, 1, 2], weights=[6, 2, 1])[0]
            if i == mislabel_idx and b == 0:
                cls = 1
            boxes.append({"cls": cls, **rand_box(rng, w, h)})
        truth[i] = {"w": w, "h": h, "boxes": boxes}

    labels: dict[int, tuple[dict, dict]] = {}  # idx -> (label, metadata)  (metadata gets creation-date later)
    answers: dict[int, list[tuple[PrivateWorker, dict]]] = {}
    for i in range(n):
        t = truth[i]
        chosen = rng.sample(workers, 3)
        drawn: dict[int, list[tuple[dict, str]]] = {b: [] for b in range(len(t["boxes"]))}
        per_worker = []
        for wi, wk in enumerate(chosen):
            boxes = []
            for b, tb in enumerate(t["boxes"]):
                if i == miss_idx and wi == 2 and b == 1:
                    continue
                label = CAR_CLASSES[tb["cls"]]
                if i == mislabel_idx and wi == 1 and b == 0:
                    label = "car"
                jb = jitter(rng, tb, t["w"], t["h"])
                drawn[b].append((jb, label))
                boxes.append(
                    {"height": jb["height"], "label": label, "left": jb["left"], "top": jb["top"], "width": jb["width"]}
                )
            rng.shuffle(boxes)
            content = {
                "boundingBox": {"boundingBoxes": boxes, "inputImageProperties": {"height": t["h"], "width": t["w"]}}
            }
            per_worker.append((wk, content))
        answers[i] = per_worker
        anns, confs = [], []
        for b in range(len(t["boxes"])):
            ds = drawn[b]
            avg = {k: round(sum(d[0][k] for d in ds) / len(ds)) for k in ("left", "top", "width", "height")}
            names = [d[1] for d in ds]
            name = max(CAR_CLASSES, key=lambda c: (names.count(c), -CAR_CLASSES.index(c)))
            anns.append({"class_id": CAR_CLASSES.index(name), **avg})
            mean_iou = sum(iou(d[0], avg) for d in ds) / len(ds)
            confs.append(round(len(ds) / 3 * mean_iou, 2))
        label = bbox_label(t["w"], t["h"], anns)
        meta = {
            "objects": [{"confidence": c} for c in confs],
            "class-map": class_map_for(anns, CAR_CLASSES),
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": None,
            "job-name": f"labeling-job/{job}",
        }
        labels[i] = (label, meta)

    # timeline
    start = dt("2024-03-12T09:00:00")
    file_time: dict[int, datetime] = {}
    batches: list[tuple[int, list[int], datetime]] = []  # (iteration, ids, consolidation time)

    def schedule(ids: list[int], begin: datetime, span_s: int) -> None:
        offsets = sorted(rng.sample(range(0, span_s), len(ids)))
        ids_by_time = list(ids)
        rng.shuffle(ids_by_time)
        for i, off in zip(ids_by_time, offsets, strict=True):
            file_time[i] = begin + timedelta(seconds=off)

    schedule(iterations[1], start + timedelta(minutes=4), 25 * 60)
    it1_done = max(file_time[i] for i in iterations[1])
    batches.append((1, iterations[1], it1_done + timedelta(seconds=rng.randint(5, 30))))
    schedule(iterations[2], batches[-1][2] + timedelta(minutes=4), 20 * 60)
    it2_sorted = sorted(iterations[2], key=lambda i: file_time[i])
    batch_a, batch_b = it2_sorted[:6], it2_sorted[6:]
    batches.append((2, batch_a, max(file_time[i] for i in batch_a) + timedelta(seconds=rng.randint(5, 30))))
    batches.append((2, batch_b, max(file_time[i] for i in batch_b) + timedelta(seconds=rng.randint(5, 30))))
    schedule(iterations[3], batches[-1][2] + timedelta(minutes=3), 18 * 60)
    batches.append((3, iterations[3], max(file_time[i] for i in iterations[3]) + timedelta(seconds=12)))

    # worker responses
    for it, ids in iterations.items():
        for i in ids:
            ft = file_time[i]
            subs = sorted(ft - timedelta(seconds=rng.uniform(3, 240)) for _ in range(3))
            ans = [private_answer(rng, wk, content, sub) for (wk, content), sub in zip(answers[i], subs, strict=True)]
            data = cj({"answers": ans}).encode()
            tree.put(f"{job}/annotations/worker-response/iteration-{it}/{i}/{file_ts(ft)}.json", data, ft)

    # consolidation
    consolidated_at: dict[int, datetime] = {}
    for it, ids, ct in batches:
        in_file = list(ids)
        rng.shuffle(in_file)
        base = ct + timedelta(microseconds=rng.randint(100000, 999999))
        for k, i in enumerate(in_file):
            cd = base + timedelta(microseconds=k * rng.randint(9, 40))
            labels[i][1]["creation-date"] = creation_date(cd)
            consolidated_at[i] = cd
        req = [
            {
                "datasetObjectId": str(i),
                "dataObject": {"s3Uri": inputs[i]["source-ref"]},
                "annotations": [
                    {"workerId": wk.worker_id, "annotationData": {"content": cj(content)}} for wk, content in answers[i]
                ],
            }
            for i in in_file
        ]
        tree.put(
            f"{job}/annotations/consolidated-annotation/consolidation-request/iteration-{it}/{file_ts(ct)}.json",
            cj(req).encode(),
            ct,
        )
        rt = ct + timedelta(seconds=rng.randint(1, 3))
        resp = [
            {
                "datasetObjectId": str(i),
                "consolidatedAnnotation": {"content": {lan: labels[i][0], f"{lan}-metadata": labels[i][1]}},
            }
            for i in in_file
        ]
        tree.put(
            f"{job}/annotations/consolidated-annotation/consolidation-response/iteration-{it}/{file_ts(rt)}.json",
            cj(resp).encode(),
            rt,
        )

    def snapshot(done: set[int]) -> list[dict]:
        out = []
        for i in range(n):
            line = dict(inputs[i])
            if i in done:
                line[lan] = labels[i][0]
                line[f"{lan}-metadata"] = labels[i][1]
            out.append(line)
        return out

    it_b = {b[2] for b in batches}
    assert len(it_b) == 4
    t_int1 = batches[0][2] + timedelta(seconds=rng.randint(20, 60))
    t_int2_partial = batches[1][2] + timedelta(seconds=rng.randint(20, 60))
    t_int3 = batches[3][2] + timedelta(seconds=rng.randint(20, 60))
    t_int2_full = t_int3 + timedelta(seconds=47)  # late (out-of-order) rewrite of iteration 2's snapshot
    t_final = t_int2_full + timedelta(seconds=95)
    assert t_int2_partial < batches[2][2]

    done1 = set(iterations[1])
    done2_partial = done1 | set(batch_a)
    done2 = done1 | set(iterations[2])
    done3 = set(range(n))
    snaps = {
        "intermediate/1": snapshot(done1),
        "intermediate/2 partial": snapshot(done2_partial),
        "intermediate/2": snapshot(done2),
        "intermediate/3": snapshot(done3),
        "output": snapshot(done3),
    }
    key_int = f"{job}/manifests/intermediate/%d/output.manifest"
    key_out = f"{job}/manifests/output/output.manifest"
    partial_file = "bbox-three-iterations-rewrites/intermediate-2-partial.manifest"
    tree.put(key_int % 1, manifest_bytes(snaps["intermediate/1"]), t_int1)
    tree.put(key_int % 2, manifest_bytes(snaps["intermediate/2 partial"]), t_int2_partial, partial_file)
    tree.put(key_int % 3, manifest_bytes(snaps["intermediate/3"]), t_int3)
    tree.put(key_int % 2, manifest_bytes(snaps["intermediate/2"]), t_int2_full)
    tree.put(key_out, manifest_bytes(snaps["output"]), t_final)
    (jobs / "bbox-three-iterations.input.manifest").write_bytes(manifest_bytes(inputs))
    for lines in snaps.values():
        assert json.loads(cj(lines)) == lines
    tree.flush()
    for w in tree.writes:
        if w.key.endswith(".manifest"):
            lines = [json.loads(x) for x in w.data.decode().splitlines()]
            check_manifest_bytes(w.data, lines)

    def entry(key: str, file: str, iteration: int | None, lines: list[dict], version: str | None = None) -> dict:
        e: dict[str, Any] = {"key": key, "file": file, "iteration": iteration}
        if version:
            e["version"] = version
        e.update(summarize(lines, lan, "bbox"))
        return e

    expected = {
        "tree": "bbox-three-iterations",
        "bucket": BUCKET,
        "jobName": job,
        "labelAttributeName": lan,
        "metadataJobName": f"labeling-job/{job}",
        "taskType": "groundtruth/object-detection",
        "labelCategories": CAR_CLASSES,
        "inputManifest": "bbox-three-iterations.input.manifest",
        "plan": "bbox-three-iterations.plan.jsonl",
        "workersPerObject": 3,
        "iterations": {str(k): v for k, v in iterations.items()},
        "specialObjects": {
            "zeroBoxes": zero_idx,
            "oneWorkerMissedABox": miss_idx,
            "oneWorkerMislabeledABox": mislabel_idx,
            "sourceRefWithSpace": 6,
            "sourceRefNonAscii": 17,
            "extraInputAttribute": [4, 11, 23],
        },
        "manifests": [
            entry(key_int % 1, f"bbox-three-iterations/{key_int % 1}", 1, snaps["intermediate/1"]),
            entry(key_int % 2, partial_file, 2, snaps["intermediate/2 partial"], "partial (first write)"),
            entry(
                key_int % 2,
                f"bbox-three-iterations/{key_int % 2}",
                2,
                snaps["intermediate/2"],
                "full (second write, after intermediate/3)",
            ),
            entry(key_int % 3, f"bbox-three-iterations/{key_int % 3}", 3, snaps["intermediate/3"]),
            entry(key_out, f"bbox-three-iterations/{key_out}", None, snaps["output"]),
        ],
        "workerResponses": {str(k): len(v) for k, v in iterations.items()},
        "consolidationBatches": [{"iteration": it, "datasetObjectIds": sorted(ids)} for it, ids, _ in batches],
        "planWrites": len(tree.writes),
    }
    expected["final"] = expected["manifests"][-1]
    return tree, expected
