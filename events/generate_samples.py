#!/usr/bin/env python3
"""Generate the sample Ground Truth output trees (events/jobs/) and trigger events (events/triggers/).

Deterministic (seeded, stdlib only): running it twice gives byte-identical output.

    python events/generate_samples.py            # (re)write events/jobs, events/triggers, events/README.md
    python events/generate_samples.py --check    # regenerate into a temp dir, compare with what is on disk
    python events/generate_samples.py --out DIR  # write the same tree under DIR instead

Everything under events/ except this script is generated output: edit this script, not the files.
The format follows Ground Truth's documented output format and the real files in
shared/samples/real/; the choices that public evidence does not settle are listed in events/jobs/README.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import random
import shutil
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

HERE = Path(__file__).resolve().parent
SCRIPT_NAME = Path(__file__).name

BUCKET = "gt-output-bucket"
INPUT_BUCKET = "gt-input-bucket"
REGION = "us-east-1"
ACCOUNT = "123456789012"
QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:gtproc-object-created"
# SenderId values seen on real SQS messages delivered by EventBridge and by S3 notifications.
SQS_SENDER_EVENTBRIDGE = "AIDAIE6VAXUQU2DKHA7DK"
SQS_SENDER_S3 = "AIDAJHIPRHEMV73VRJEBU"
# Prefix used by the special-key triggers (space, literal plus, Hangul, e-acute); NFC.
SPECIAL_PREFIX = "exports/Team A+B/라벨링 é/"
GT_ROLE_PRINCIPAL = "AWS:AROAX5GTEXAMPLE7ROLE:SageMaker"  # assumed-role principal that GT writes with
GT_SOURCE_IP = "3.227.4.18"
BUCKET_OWNER_PRINCIPAL = "A2EXAMPLEOWNER7Q"


# --------------------------------------------------------------------------------------------------
# small helpers


def cj(obj: Any) -> str:
    """Compact JSON as Ground Truth writes it (no spaces, UTF-8 kept)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def pretty(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def dt(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)


def file_ts(t: datetime) -> str:
    """Worker-response / consolidation file name: second resolution, with colons."""
    return t.strftime("%Y-%m-%d_%H:%M:%S")


def creation_date(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")


def iso_ms_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def iso_s_z(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def rand_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def rand_chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
HEX = "0123456789abcdef"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def encode_key(key: str) -> str:
    """How S3 puts a key into an event: form-encoded UTF-8, '/' kept (':'->%3A, ' '->+, '+'->%2B)."""
    return quote_plus(key, safe="/")


# --------------------------------------------------------------------------------------------------
# output trees


@dataclass
class Write:
    key: str
    file: str  # relative to jobs/
    time: datetime
    data: bytes
    order: int


@dataclass
class Tree:
    jobs_dir: Path
    name: str
    writes: list[Write] = field(default_factory=list)

    def put(self, key: str, data: bytes, when: datetime, file_rel: str | None = None) -> None:
        rel = file_rel or f"{self.name}/{key}"
        self.writes.append(Write(key, rel, when, data, len(self.writes)))

    def flush(self) -> list[Write]:
        """Write the files in time order (later writes of a tree path win) and return that order."""
        ordered = sorted(self.writes, key=lambda w: (w.time, w.order))
        for w in ordered:
            path = self.jobs_dir / w.file
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(w.data)
        self.writes = ordered
        return ordered

    plan: list[dict[str, Any]] | None = None  # a plan with steps other than S3 writes (streaming jobs)

    def plan_bytes(self) -> bytes:
        steps = self.plan if self.plan is not None else [{"key": w.key, "file": w.file} for w in self.writes]
        return "".join(cj(step) + "\n" for step in steps).encode()

    def last_write(self, key: str) -> Write:
        return [w for w in self.writes if w.key == key][-1]

    def writes_of(self, key: str) -> list[Write]:
        return [w for w in self.writes if w.key == key]


def manifest_bytes(lines: list[dict[str, Any]]) -> bytes:
    return "".join(cj(line) + "\n" for line in lines).encode("utf-8")


def summarize(lines: list[dict[str, Any]], lan: str, kind: str) -> dict[str, Any]:
    """Counts of one manifest snapshot from its line dicts (the design; tests re-derive from bytes)."""
    labeled, human, auto, failed, unlabeled = [], [], [], [], []
    class_counts: dict[str, int] = {}
    boxes = 0
    for idx, line in enumerate(lines):
        meta = line.get(f"{lan}-metadata")
        if lan in line:
            labeled.append(idx)
            (human if meta.get("human-annotated") == "yes" else auto).append(idx)
            if kind == "classification":
                name = meta["class-name"]
                class_counts[name] = class_counts.get(name, 0) + 1
            else:
                for ann in line[lan]["annotations"]:
                    name = meta["class-map"][str(ann["class_id"])]
                    class_counts[name] = class_counts.get(name, 0) + 1
                    boxes += 1
        elif isinstance(meta, dict) and "failure-reason" in meta:
            failed.append(idx)
        else:
            unlabeled.append(idx)
    out: dict[str, Any] = {
        "lines": len(lines),
        "blankLines": 0,
        "invalidLines": 0,
        "objects": len(lines),
        "labeled": len(labeled),
        "humanLabeled": len(human),
        "autoLabeled": len(auto),
        "failed": len(failed),
        "unlabeled": len(unlabeled),
        "classCounts": dict(sorted(class_counts.items())),
    }
    if kind == "bbox":
        out["boxes"] = boxes
    out["labeledIds"] = labeled
    out["autoLabeledIds"] = auto
    out["failedIds"] = failed
    out["unlabeledIds"] = unlabeled
    return out


def check_manifest_bytes(data: bytes, lines: list[dict[str, Any]]) -> None:
    text = data.decode("utf-8")
    assert text.endswith("\n")
    physical = text.split("\n")[:-1]
    assert len(physical) == len(lines)
    for raw, line in zip(physical, lines, strict=True):
        assert json.loads(raw) == line
        assert raw == cj(json.loads(raw)), "not compact"


# --------------------------------------------------------------------------------------------------
# workers


@dataclass
class PrivateWorker:
    worker_id: str
    sub: str
    issuer: str


def private_workers(rng: random.Random, n: int) -> list[PrivateWorker]:
    pool = "us-east-1_" + rand_chars(rng, ALNUM, 9)
    issuer = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    return [PrivateWorker("private.us-east-1." + rand_chars(rng, HEX, 16), rand_uuid(rng), issuer) for _ in range(n)]


def public_worker_id(rng: random.Random) -> str:
    return "public.us-east-1." + rand_chars(rng, BASE32, 26)


def private_answer(rng: random.Random, w: PrivateWorker, content: dict, submitted: datetime) -> dict:
    spent = round(rng.uniform(14.0, 95.0), 3)
    paused = rng.uniform(0.4, 6.0)
    accepted = submitted - timedelta(seconds=spent + paused)
    return {
        "acceptanceTime": iso_ms_z(accepted),
        "answerContent": content,
        "submissionTime": iso_ms_z(submitted),
        "timeSpentInSeconds": spent,
        "workerId": w.worker_id,
        "workerMetadata": {"identityData": {"identityProviderType": "Cognito", "issuer": w.issuer, "sub": w.sub}},
    }


# --------------------------------------------------------------------------------------------------
# a. bounding boxes, three iterations


CAR_CLASSES = ["car", "truck", "bus"]
CAR_ADJ_CLASSES = ["car", "truck", "bus", "motorcycle"]


def iou(a: dict, b: dict) -> float:
    ax2, ay2 = a["left"] + a["width"], a["top"] + a["height"]
    bx2, by2 = b["left"] + b["width"], b["top"] + b["height"]
    iw = max(0, min(ax2, bx2) - max(a["left"], b["left"]))
    ih = max(0, min(ay2, by2) - max(a["top"], b["top"]))
    inter = iw * ih
    union = a["width"] * a["height"] + b["width"] * b["height"] - inter
    return inter / union if union else 0.0


def rand_box(rng: random.Random, w: int, h: int) -> dict:
    bw = rng.randint(int(w * 0.07), int(w * 0.34))
    bh = rng.randint(int(h * 0.08), int(h * 0.40))
    return {"left": rng.randint(0, w - bw - 1), "top": rng.randint(0, h - bh - 1), "width": bw, "height": bh}


def jitter(rng: random.Random, box: dict, w: int, h: int, px: int = 6) -> dict:
    left = min(max(0, box["left"] + rng.randint(-px, px)), w - 2)
    top = min(max(0, box["top"] + rng.randint(-px, px)), h - 2)
    width = min(max(1, box["width"] + rng.randint(-px, px)), w - left)
    height = min(max(1, box["height"] + rng.randint(-px, px)), h - top)
    return {"left": left, "top": top, "width": width, "height": height}


def bbox_label(w: int, h: int, anns: list[dict]) -> dict:
    return {
        "image_size": [{"width": w, "height": h, "depth": 3}],
        "annotations": [
            {"class_id": a["class_id"], "top": a["top"], "left": a["left"], "height": a["height"], "width": a["width"]}
            for a in anns
        ],
    }


def class_map_for(anns: list[dict], classes: list[str]) -> dict[str, str]:
    cmap: dict[str, str] = {}
    for a in anns:
        cmap.setdefault(str(a["class_id"]), classes[a["class_id"]])
    return cmap


def gen_bbox_three_iterations(jobs: Path) -> tuple[Tree, dict]:
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


# --------------------------------------------------------------------------------------------------
# b. classification with failures and automated labeling


FLOWERS = ["Daisy", "Rose", "Sunflower", "Tulip"]
PETS = ["cat", "dog"]


def posterior_confidence(answers: list[str], qualities: list[float]) -> tuple[str, float]:
    """Bayesian vote with per-worker accuracy (stand-in for GT's EM); confidence capped at 0.95."""
    k = len(FLOWERS)
    scores = {}
    for c in FLOWERS:
        p = 1.0 / k
        for a, q in zip(answers, qualities, strict=True):
            p *= q if a == c else (1 - q) / (k - 1)
        scores[c] = p
    total = sum(scores.values())
    best = max(FLOWERS, key=lambda c: (scores[c], -FLOWERS.index(c)))
    return best, min(0.95, round(scores[best] / total, 2))


def gen_classification(jobs: Path) -> tuple[Tree, dict]:
    rng = random.Random(20190418)
    job, lan, n = "flowers-classification", "flowers-classification", 40
    tree = Tree(jobs, "classification-failed-auto")
    good = [public_worker_id(rng) for _ in range(5)]
    spammer = public_worker_id(rng)
    quality = {w: 0.7 for w in good} | {spammer: 0.3}

    inputs = [{"source-ref": f"s3://{INPUT_BUCKET}/flowers/images/{rand_chars(rng, HEX, 16)}.jpg"} for _ in range(n)]
    truth = [rng.choices(FLOWERS, weights=[3, 3, 2, 2])[0] for _ in range(n)]

    order = list(range(n))
    rng.shuffle(order)
    it1 = sorted(order[:10])
    it2_sent = sorted(order[10:26])
    auto = sorted(order[26:38])
    it3 = sorted(order[38:])
    failed = sorted(rng.sample(it2_sent, 3))
    it2 = [i for i in it2_sent if i not in failed]
    human = sorted(it1 + it2 + it3)

    # worker answers: mostly agreeing, some 2-vs-1, a spammer who always picks the first class
    answers: dict[int, list[tuple[str, str]]] = {}
    kinds: dict[int, str] = {}
    forced_good_error = {it1[4], it2[7]}
    for i in human:
        while True:
            ws = [*rng.sample(good, 2), spammer] if rng.random() < 0.3 else rng.sample(good, 3)
            rng.shuffle(ws)
            ans = []
            for wi, w in enumerate(ws):
                if w == spammer:
                    ans.append(FLOWERS[0])
                elif (
                    i in forced_good_error and wi == next(j for j, x in enumerate(ws) if x != spammer)
                ) or rng.random() < 0.04:
                    ans.append(rng.choice([c for c in FLOWERS if c != truth[i]]))
                else:
                    ans.append(truth[i])
            distinct = set(ans)
            if len(distinct) < 3 and not (i in forced_good_error and spammer in ws):
                break
        answers[i] = list(zip(ws, ans, strict=True))
        if len(distinct) == 1:
            kinds[i] = "unanimous"
        else:
            majority = max(distinct, key=ans.count)
            dissenter = next(w for w, a in answers[i] if a != majority)
            kinds[i] = "2-vs-1 (spammer dissents)" if dissenter == spammer else "2-vs-1 (good worker dissents)"

    labels: dict[int, tuple[int, dict]] = {}
    for i in human:
        name, conf = posterior_confidence([a for _, a in answers[i]], [quality[w] for w, _ in answers[i]])
        labels[i] = (
            FLOWERS.index(name),
            {
                "confidence": conf,
                "job-name": f"labeling-job/{job}",
                "class-name": name,
                "human-annotated": "yes",
                "creation-date": None,
                "type": "groundtruth/image-classification",
            },
        )
    for i in auto:
        name = truth[i]
        conf = round(rng.uniform(0.81, 0.99), 2)
        labels[i] = (
            FLOWERS.index(name),
            {
                "confidence": conf,
                "job-name": f"labeling-job/{job}",
                "class-name": name,
                "human-annotated": "no",
                "creation-date": None,
                "type": "groundtruth/image-classification",
            },
        )

    # timeline (2019-04-18, public workforce)
    base = dt("2019-04-18T16:12:00")
    it1_offsets = [0, 41, 65, 65, 66, 131, 132, 190, 244, 319]  # two objects share 16:13:05 (as in real data)
    it1_by_time = list(it1)
    rng.shuffle(it1_by_time)
    file_time = {i: base + timedelta(seconds=off) for i, off in zip(it1_by_time, it1_offsets, strict=True)}
    it2_by_time = list(it2)
    rng.shuffle(it2_by_time)
    for i, off in zip(it2_by_time, sorted(rng.sample(range(0, 15 * 60), len(it2))), strict=True):
        file_time[i] = dt("2019-04-18T16:24:00") + timedelta(seconds=off)
    file_time[it3[0]] = dt("2019-04-18T16:58:31")
    file_time[it3[1]] = dt("2019-04-18T17:02:10")

    for it, ids in ((1, it1), (2, it2), (3, it3)):
        for i in ids:
            ft = file_time[i]
            subs = sorted(ft - timedelta(seconds=rng.randint(4, 230)) for _ in range(3))
            ans = [
                {"answerContent": {"crowd-image-classifier": {"label": a}}, "submissionTime": iso_s_z(s), "workerId": w}
                for (w, a), s in zip(answers[i], subs, strict=True)
            ]
            tree.put(
                f"{job}/annotations/worker-response/iteration-{it}/{i}/{file_ts(ft)}.json",
                cj({"answers": ans}).encode(),
                ft,
            )

    cons_times = {1: dt("2019-04-18T16:17:40"), 2: dt("2019-04-18T16:39:40"), 3: dt("2019-04-18T17:02:40")}
    for it, ids in ((1, it1), (2, it2), (3, it3)):
        ct = cons_times[it]
        in_file = list(ids)
        rng.shuffle(in_file)
        cbase = ct + timedelta(microseconds=rng.randint(100000, 999999))
        for k, i in enumerate(in_file):
            labels[i][1]["creation-date"] = creation_date(cbase + timedelta(microseconds=k * rng.randint(9, 40)))
        req = [
            {
                "datasetObjectId": str(i),
                "dataObject": {"s3Uri": inputs[i]["source-ref"]},
                "annotations": [
                    {"workerId": w, "annotationData": {"content": cj({"crowd-image-classifier": {"label": a}})}}
                    for w, a in answers[i]
                ],
            }
            for i in in_file
        ]
        tree.put(
            f"{job}/annotations/consolidated-annotation/consolidation-request/iteration-{it}/{file_ts(ct)}.json",
            cj(req).encode(),
            ct,
        )
        rt = ct + timedelta(seconds=2)
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
    abase = dt("2019-04-18T16:47:12") + timedelta(microseconds=rng.randint(100000, 999999))
    for k, i in enumerate(auto):
        labels[i][1]["creation-date"] = creation_date(abase + timedelta(microseconds=k * rng.randint(20, 90)))

    reasons = [
        "ClientError: Annotation tasks expired",
        "ClientError: Annotation tasks expired",
        "ClientError: All workers declined the annotation task",
    ]
    failed_meta: dict[int, dict] = {}
    fbase = dt("2019-04-18T16:50:01") + timedelta(microseconds=rng.randint(100000, 999999))
    for k, i in enumerate(failed):
        if k < 2:
            failed_meta[i] = {
                "failure-reason": reasons[k],
                "job-name": f"labeling-job/{job}",
                "creation-date": creation_date(fbase + timedelta(microseconds=k * 17)),
                "type": "groundtruth/image-classification",
            }
        else:  # minimal shape: only what consumers branch on (+ job-name); no `type`
            failed_meta[i] = {"failure-reason": reasons[k], "job-name": f"labeling-job/{job}"}

    def snapshot(done: set[int], fails: set[int]) -> list[dict]:
        out = []
        for i in range(n):
            line = dict(inputs[i])
            if i in done:
                line[lan] = labels[i][0]
                line[f"{lan}-metadata"] = labels[i][1]
            elif i in fails:
                line[f"{lan}-metadata"] = failed_meta[i]
            out.append(line)
        return out

    snaps = {
        1: snapshot(set(it1), set()),
        2: snapshot(set(it1) | set(it2) | set(auto), set(failed)),
        None: snapshot(set(human) | set(auto), set(failed)),
    }
    key_int = f"{job}/manifests/intermediate/%d/output.manifest"
    key_out = f"{job}/manifests/output/output.manifest"
    tree.put(key_int % 1, manifest_bytes(snaps[1]), dt("2019-04-18T16:18:30"))
    tree.put(key_int % 2, manifest_bytes(snaps[2]), dt("2019-04-18T16:52:10"))
    tree.put(key_out, manifest_bytes(snaps[None]), dt("2019-04-18T17:04:00"))
    (jobs / "classification-failed-auto.input.manifest").write_bytes(manifest_bytes(inputs))
    tree.flush()

    vote_kinds: dict[str, int] = {}
    for v in kinds.values():
        vote_kinds[v] = vote_kinds.get(v, 0) + 1
    assert vote_kinds.get("2-vs-1 (spammer dissents)", 0) >= 2, vote_kinds
    assert vote_kinds.get("2-vs-1 (good worker dissents)", 0) >= 2, vote_kinds

    def entry(key: str, iteration: int | None, lines: list[dict]) -> dict:
        e: dict[str, Any] = {"key": key, "file": f"classification-failed-auto/{key}", "iteration": iteration}
        e.update(summarize(lines, lan, "classification"))
        return e

    expected = {
        "tree": "classification-failed-auto",
        "bucket": BUCKET,
        "jobName": job,
        "labelAttributeName": lan,
        "metadataJobName": f"labeling-job/{job}",
        "taskType": "groundtruth/image-classification",
        "labelCategories": FLOWERS,
        "inputManifest": "classification-failed-auto.input.manifest",
        "plan": "classification-failed-auto.plan.jsonl",
        "workersPerObject": 3,
        "workers": {"good": good, "spammer": spammer},
        "iterations": {"1": it1, "2": it2, "3": it3},
        "sentToHumansButFailed": failed,
        "autoLabeled": auto,
        "failureReasons": {str(i): failed_meta[i]["failure-reason"] for i in failed},
        "votes": {str(i): kinds[i] for i in human},
        "voteKinds": dict(sorted(vote_kinds.items())),
        "manifests": [
            entry(key_int % 1, 1, snaps[1]),
            entry(key_int % 2, 2, snaps[2]),
            entry(key_out, None, snaps[None]),
        ],
        "workerResponses": {"1": len(it1), "2": len(it2), "3": len(it3)},
        "sharedWorkerResponseFileName": "2019-04-18_16:13:05.json",
        "planWrites": len(tree.writes),
    }
    expected["final"] = expected["manifests"][-1]
    return tree, expected


# --------------------------------------------------------------------------------------------------
# c. adjustment job chained on an earlier bounding-box job


def gen_adjustment(jobs: Path) -> tuple[Tree, dict]:
    rng = random.Random(20250120)
    first, adj, n = "cars-bbox-first", "cars-bbox-adjust", 15
    tree = Tree(jobs, "adjustment-chained")
    sizes = [(1280, 720), (1920, 1080)]

    first_labels = []
    inputs = []
    zero_first = 9
    fbase = dt("2025-01-14T15:20:07")
    for i in range(n):
        w, h = rng.choice(sizes)
        nbox = 0 if i == zero_first else rng.choice([1, 2, 2, 3])
        anns = [{"class_id": rng.choices([0, 1, 2], weights=[6, 2, 1])[0], **rand_box(rng, w, h)} for _ in range(nbox)]
        confs = [round(rng.uniform(0.55, 0.93), 2) for _ in anns]
        cd = fbase + timedelta(seconds=i * rng.randint(20, 70), microseconds=rng.randint(0, 999999))
        meta = {
            "objects": [{"confidence": c} for c in confs],
            "class-map": class_map_for(anns, CAR_CLASSES),
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": creation_date(cd),
            "job-name": f"labeling-job/{first}",
        }
        line = {
            "source-ref": f"s3://{INPUT_BUCKET}/parking/cam_{i + 1:03d}.jpg",
            first: bbox_label(w, h, anns),
            f"{first}-metadata": meta,
        }
        first_labels.append((w, h, anns))
        inputs.append(line)

    # adjustments: 9 adjusted, 6 unadjusted
    idxs = list(range(n))
    idxs.remove(zero_first)
    rng.shuffle(idxs)
    plan = {zero_first: "added a box to an image that had none"}
    kinds = ["moved a box"] * 3 + [
        "added a motorcycle box",
        "added a box",
        "deleted a box",
        "changed a box's class",
        "moved a box and changed its size",
    ]
    multi = [i for i in idxs if len(first_labels[i][2]) >= 2]
    plan[multi[0]] = "deleted a box"
    rest = [i for i in idxs if i != multi[0]]
    for kind in [k for k in kinds if k != "deleted a box"]:
        plan[rest.pop(0)] = kind
    unadjusted = sorted(rest)
    assert len(plan) == 9 and len(unadjusted) == 6

    adj_labels: dict[int, tuple[dict, dict]] = {}
    for i in range(n):
        w, h, anns = first_labels[i]
        new = [dict(a) for a in anns]
        kind = plan.get(i)
        if kind in ("moved a box", "moved a box and changed its size"):
            a = new[0]
            a["left"] = min(max(0, a["left"] + rng.choice([-1, 1]) * rng.randint(8, 30)), w - a["width"] - 1)
            a["top"] = min(max(0, a["top"] + rng.choice([-1, 1]) * rng.randint(8, 30)), h - a["height"] - 1)
            if kind.endswith("size"):
                a["width"] = min(a["width"] + rng.randint(10, 40), w - a["left"])
        elif kind in ("added a box", "added a box to an image that had none"):
            new.append({"class_id": 0, **rand_box(rng, w, h)})
        elif kind == "added a motorcycle box":
            new.append({"class_id": 3, **rand_box(rng, w, h)})
        elif kind == "deleted a box":
            new.pop()
        elif kind == "changed a box's class":
            new[0]["class_id"] = 1 if new[0]["class_id"] != 1 else 0
        meta = {
            "objects": [{"confidence": 0} for _ in new],
            "class-map": class_map_for(new, CAR_ADJ_CLASSES),
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": None,
            "job-name": f"labeling-job/{adj}",
            "adjustment-status": "adjusted" if kind else "unadjusted",
        }
        adj_labels[i] = (bbox_label(w, h, new), meta)

    order = list(range(n))
    rng.shuffle(order)
    in_int1 = sorted(order[:10])
    t = dt("2025-01-20T10:02:00")
    for i in order:
        t += timedelta(seconds=rng.randint(40, 260), microseconds=rng.randint(0, 999999))
        adj_labels[i][1]["creation-date"] = creation_date(t)

    def snapshot(done: set[int]) -> list[dict]:
        out = []
        for i in range(n):
            line = dict(inputs[i])
            if i in done:
                line[adj] = adj_labels[i][0]
                line[f"{adj}-metadata"] = adj_labels[i][1]
            out.append(line)
        return out

    s1, s_out = snapshot(set(in_int1)), snapshot(set(range(n)))
    key1 = f"{adj}/manifests/intermediate/1/output.manifest"
    key_out = f"{adj}/manifests/output/output.manifest"
    last_int1 = max(dt_from_cd(adj_labels[i][1]["creation-date"]) for i in in_int1)
    tree.put(key1, manifest_bytes(s1), last_int1.replace(microsecond=0) + timedelta(seconds=41))
    tree.put(key_out, manifest_bytes(s_out), t.replace(microsecond=0) + timedelta(seconds=63))
    (jobs / "adjustment-chained.input.manifest").write_bytes(manifest_bytes(inputs))
    tree.flush()

    def entry(key: str, iteration: int | None, lines: list[dict]) -> dict:
        e: dict[str, Any] = {"key": key, "file": f"adjustment-chained/{key}", "iteration": iteration}
        e.update(summarize(lines, adj, "bbox"))
        done = [i for i, line in enumerate(lines) if adj in line]
        e["adjusted"] = sum(1 for i in done if lines[i][f"{adj}-metadata"]["adjustment-status"] == "adjusted")
        e["unadjusted"] = len(done) - e["adjusted"]
        e["classCountsByAttribute"] = {first: summarize(lines, first, "bbox")["classCounts"], adj: e["classCounts"]}
        return e

    expected = {
        "tree": "adjustment-chained",
        "bucket": BUCKET,
        "jobName": adj,
        "labelAttributeName": adj,
        "metadataJobName": f"labeling-job/{adj}",
        "chainedOn": {"jobName": first, "labelAttributeName": first, "metadataJobName": f"labeling-job/{first}"},
        "taskType": "groundtruth/object-detection",
        "labelCategories": CAR_ADJ_CLASSES,
        "inputManifest": "adjustment-chained.input.manifest",
        "plan": "adjustment-chained.plan.jsonl",
        "workersPerObject": 1,
        "adjustments": {str(i): plan[i] for i in sorted(plan)},
        "unadjustedIds": unadjusted,
        "manifests": [entry(key1, 1, s1), entry(key_out, None, s_out)],
        "planWrites": len(tree.writes),
    }
    expected["final"] = expected["manifests"][-1]
    return tree, expected


def dt_from_cd(cd: str) -> datetime:
    return datetime.strptime(cd, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)


# --------------------------------------------------------------------------------------------------
# d. bad input


def gen_bad_input(jobs: Path) -> tuple[Tree, dict]:
    job = lan = "broken-job"
    tree = Tree(jobs, "bad-input")
    img = f"s3://{INPUT_BUCKET}/broken/img_%03d.jpg"
    jn = f"labeling-job/{job}"

    def labeled(i: int, anns: list[dict], cmap: dict, cd: str, *, with_type: bool = True, src: bool = True) -> dict:
        meta: dict[str, Any] = {"objects": [{"confidence": 0.87} for _ in anns], "class-map": cmap}
        if with_type:
            meta["type"] = "groundtruth/object-detection"
        meta.update({"human-annotated": "yes", "creation-date": cd, "job-name": jn})
        line: dict[str, Any] = {"source-ref": img % i} if src else {"image-id": f"img_{i:03d}"}
        line[lan] = bbox_label(1280, 720, anns)
        line[f"{lan}-metadata"] = meta
        return line

    car = {"class_id": 0, "top": 210, "left": 344, "height": 180, "width": 260}
    truck = {"class_id": 1, "top": 120, "left": 700, "height": 300, "width": 410}
    rows: list[tuple[str, str, str, str | None]] = []  # (text, ending, what, problem)
    rows.append(
        (cj(labeled(1, [car], {"0": "car"}, "2024-06-03T11:02:17.482113")), "\n", "valid labeled line (1 car)", None)
    )
    rows.append((cj({"source-ref": img % 2}), "\r\n", "valid unlabeled line, CRLF ending", None))
    full = cj(labeled(3, [car], {"0": "car"}, "2024-06-03T11:02:19.104377"))
    rows.append((full[:97], "\n", "truncated JSON (line cut mid-object)", "invalid_json"))
    rows.append(("[1,2]", "\n", "JSON array, not an object", "not_an_object"))
    rows.append(
        (
            cj(labeled(5, [car], {"0": "car"}, "2024-06-03T11:02:23.630001", src=False)),
            "\n",
            "labeled line without source or source-ref (has only image-id)",
            "missing_source",
        )
    )
    rows.append(
        (
            cj(labeled(6, [car], {"0": "car"}, "2024-06-03T11:02:25.009918", with_type=False)),
            "\r\n",
            "`broken-job-metadata` has no `type`; CRLF ending",
            "metadata_missing_type",
        )
    )
    neg = dict(car, width=-42)
    rows.append(
        (
            cj(labeled(7, [neg], {"0": "car"}, "2024-06-03T11:02:27.551260")),
            "\n",
            "bounding box with negative width (-42)",
            "negative_box_size",
        )
    )
    stray = dict(truck, class_id=7)
    rows.append(
        (
            cj(labeled(8, [car, stray], {"0": "car"}, "2024-06-03T11:02:29.318840")),
            "\n",
            'annotation class_id 7 is not in class-map {"0":"car"}',
            "class_id_not_in_class_map",
        )
    )
    rows.append(("", "\n", "blank line", "blank"))
    rows.append(
        (
            cj(labeled(10, [car, truck], {"0": "car", "1": "truck"}, "2024-06-03T11:02:33.870652")),
            "\r\n",
            "valid labeled line (1 car, 1 truck), CRLF ending",
            None,
        )
    )
    rows.append(
        (
            cj(
                {
                    "source-ref": img % 11,
                    f"{lan}-metadata": {
                        "failure-reason": "ClientError: Annotation tasks expired",
                        "job-name": jn,
                        "creation-date": "2024-06-03T11:40:00.120398",
                        "type": "groundtruth/object-detection",
                    },
                }
            ),
            "\n",
            "valid failed line (failure-reason, no label)",
            None,
        )
    )
    rows.append(
        (
            cj(labeled(12, [truck], {"1": "truck"}, "2024-06-03T11:02:37.211937")),
            "\n",
            "valid labeled line (1 truck)",
            None,
        )
    )
    data = "".join(text + end for text, end, _, _ in rows).encode("utf-8")
    key1 = f"{job}/manifests/intermediate/1/output.manifest"
    key2 = f"{job}/manifests/intermediate/2/output.manifest"
    tree.put(key1, data, dt("2024-06-03T11:41:12"))
    tree.put(key2, b"", dt("2024-06-03T12:05:40"))
    tree.flush()

    line_table = [
        {"line": k + 1, "ending": "CRLF" if end == "\r\n" else "LF", "content": what, "expected": problem or "valid"}
        for k, (_, end, what, problem) in enumerate(rows)
    ]
    valid = [k + 1 for k, r in enumerate(rows) if r[3] is None]
    invalid = [k + 1 for k, r in enumerate(rows) if r[3] not in (None, "blank")]
    expected = {
        "tree": "bad-input",
        "bucket": BUCKET,
        "jobName": job,
        "labelAttributeName": lan,
        "metadataJobName": jn,
        "taskType": "groundtruth/object-detection",
        "plan": "bad-input.plan.jsonl",
        "problemCodes": "suggested names; the implementation may use its own codes",
        "manifests": [
            {
                "key": key1,
                "file": f"bad-input/{key1}",
                "iteration": 1,
                "bytes": len(data),
                "lines": len(rows),
                "blankLines": 1,
                "invalidLines": len(invalid),
                "objects": len(valid),
                "labeled": 3,
                "humanLabeled": 3,
                "autoLabeled": 0,
                "failed": 1,
                "unlabeled": 1,
                "classCounts": {"car": 2, "truck": 2},
                "boxes": 4,
                "validLines": valid,
                "invalidLineNumbers": invalid,
                "blankLineNumbers": [9],
                "crlfLines": [r["line"] for r in line_table if r["ending"] == "CRLF"],
                "lineTable": line_table,
            },
            {
                "key": key2,
                "file": f"bad-input/{key2}",
                "iteration": 2,
                "bytes": 0,
                "lines": 0,
                "blankLines": 0,
                "invalidLines": 0,
                "objects": 0,
                "labeled": 0,
                "humanLabeled": 0,
                "autoLabeled": 0,
                "failed": 0,
                "unlabeled": 0,
                "classCounts": {},
                "boxes": 0,
            },
        ],
        "planWrites": len(tree.writes),
    }
    return tree, expected


def gen_streaming(jobs: Path) -> tuple[Tree, dict]:
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


# --------------------------------------------------------------------------------------------------
# trigger events


def write_attrs(w: Write, key: str) -> dict[str, str]:
    """Per-write S3 attributes, derived from the write itself so every event of one write agrees."""
    h = hashlib.sha256(f"{key}|{w.time.isoformat()}|{md5_hex(w.data)}".encode()).digest()
    r = random.Random(h)
    return {
        "sequencer": "00" + f"{int(w.time.timestamp()):08X}" + f"{r.getrandbits(32):08X}",
        "version-id": rand_chars(r, ALNUM + "._", 32),
        "request-id": rand_chars(r, UPPER_DIGITS, 16),
        "x-amz-id-2": base64.b64encode(r.randbytes(57)).decode(),
    }


def eb_event(
    rng: random.Random, w: Write, key: str, *, encode: bool = True, version_id: bool = True, delay_s: int = 1
) -> dict:
    a = write_attrs(w, key)
    obj: dict[str, Any] = {"key": encode_key(key) if encode else key, "size": len(w.data), "etag": md5_hex(w.data)}
    if version_id:
        obj["version-id"] = a["version-id"]
    obj["sequencer"] = a["sequencer"]
    return {
        "version": "0",
        "id": rand_uuid(rng),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": iso_s_z(w.time + timedelta(seconds=delay_s)),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": obj,
            "request-id": a["request-id"],
            "requester": ACCOUNT,
            "source-ip-address": GT_SOURCE_IP,
            "reason": "PutObject",
        },
    }


def s3_record(w: Write, key: str) -> dict:
    a = write_attrs(w, key)
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": iso_ms_z(w.time + timedelta(milliseconds=412)),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": GT_ROLE_PRINCIPAL},
        "requestParameters": {"sourceIPAddress": GT_SOURCE_IP},
        "responseElements": {"x-amz-request-id": a["request-id"], "x-amz-id-2": a["x-amz-id-2"]},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "gtproc-object-created",
            "bucket": {
                "name": BUCKET,
                "ownerIdentity": {"principalId": BUCKET_OWNER_PRINCIPAL},
                "arn": f"arn:aws:s3:::{BUCKET}",
            },
            "object": {
                "key": encode_key(key),
                "size": len(w.data),
                "eTag": md5_hex(w.data),
                "versionId": a["version-id"],
                "sequencer": a["sequencer"],
            },
        },
    }


def sqs_record(rng: random.Random, body_obj: dict, sent: datetime, sender: str) -> dict:
    body = cj(body_obj)
    sent_ms = epoch_ms(sent) + rng.randint(0, 999)
    return {
        "messageId": rand_uuid(rng),
        "receiptHandle": "AQEB" + base64.b64encode(rng.randbytes(150)).decode(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent_ms),
            "SenderId": sender,
            "ApproximateFirstReceiveTimestamp": str(sent_ms + rng.randint(3, 400)),
        },
        "messageAttributes": {},
        "md5OfBody": md5_hex(body.encode("utf-8")),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def gen_triggers(out: Path, trees: dict[str, Tree]) -> list[dict]:
    rng = random.Random(83)
    tdir = out / "triggers"
    tdir.mkdir(parents=True, exist_ok=True)
    a, b, d = trees["bbox-three-iterations"], trees["classification-failed-auto"], trees["bad-input"]
    catalog: list[dict] = []

    def add(name: str, event: dict, what: str, objects: list[tuple[str, str, str]]) -> None:
        """objects: (key as sent, decoded key, tree file relative to events/jobs or '')."""
        (tdir / name).write_bytes(pretty(event))
        catalog.append({"file": name, "what": what, "objects": objects})

    def obj_ref(w: Write, key: str, encoded: bool = True) -> tuple[str, str, str]:
        return (encode_key(key) if encoded else key, key, w.file)

    cars_int1 = "cars-bbox/manifests/intermediate/1/output.manifest"
    cars_int2 = "cars-bbox/manifests/intermediate/2/output.manifest"
    cars_int3 = "cars-bbox/manifests/intermediate/3/output.manifest"
    cars_out = "cars-bbox/manifests/output/output.manifest"
    w = a.last_write(cars_int1)
    add(
        "eventbridge-object-created-intermediate-manifest.json",
        eb_event(rng, w, cars_int1),
        "S3 -> EventBridge `Object Created` for an intermediate manifest (iteration 1 of cars-bbox)",
        [obj_ref(w, cars_int1)],
    )
    w = a.last_write(cars_out)
    add(
        "eventbridge-object-created-final-manifest.json",
        eb_event(rng, w, cars_out),
        "`Object Created` for the final manifest of cars-bbox",
        [obj_ref(w, cars_out)],
    )
    wr_key = next(x.key for x in b.writes if x.key.endswith("/2019-04-18_16:13:05.json"))
    w = b.last_write(wr_key)
    add(
        "eventbridge-object-created-worker-response.json",
        eb_event(rng, w, wr_key),
        "`Object Created` for a worker-response file: colons in the file name arrive as `%3A`",
        [obj_ref(w, wr_key)],
    )
    cr_key = next(x.key for x in a.writes if "/consolidation-response/iteration-1/" in x.key)
    w = a.last_write(cr_key)
    add(
        "eventbridge-object-created-consolidation-response.json",
        eb_event(rng, w, cr_key),
        "`Object Created` for a consolidation-response file (iteration 1 of cars-bbox)",
        [obj_ref(w, cr_key)],
    )
    special = SPECIAL_PREFIX + cars_out
    w = a.last_write(cars_out)
    add(
        "eventbridge-object-created-special-key.json",
        eb_event(rng, w, special),
        "key under the prefix `exports/Team A+B/라벨링 é/`: space -> `+`, literal `+` -> `%2B`, Hangul and "
        "`é` percent-encoded UTF-8; object = cars-bbox final manifest replayed under that prefix",
        [obj_ref(w, special)],
    )
    w = a.last_write(cr_key)
    add(
        "eventbridge-object-created-unencoded-key.json",
        eb_event(rng, w, cr_key, encode=False, version_id=False),
        "same object as the consolidation-response trigger but with the key NOT encoded (raw colons, as "
        "moto sends EventBridge events and as one published real capture shows) and no `version-id` "
        "(unversioned bucket); decoding must be harmless",
        [obj_ref(w, cr_key, encoded=False)],
    )
    bad1 = "broken-job/manifests/intermediate/1/output.manifest"
    bad2 = "broken-job/manifests/intermediate/2/output.manifest"
    w = d.last_write(bad1)
    add(
        "eventbridge-object-created-bad-input-manifest.json",
        eb_event(rng, w, bad1),
        "`Object Created` for the broken-job manifest with malformed lines",
        [obj_ref(w, bad1)],
    )
    w = d.last_write(bad2)
    add(
        "eventbridge-object-created-empty-manifest.json",
        eb_event(rng, w, bad2),
        "`Object Created` for a 0-byte manifest (size 0, etag of empty content)",
        [obj_ref(w, bad2)],
    )

    # SQS batches of EventBridge events
    flowers_out = "flowers-classification/manifests/output/output.manifest"
    w1, w2 = a.last_write(cars_int1), b.last_write(flowers_out)
    e1, e2 = eb_event(rng, w1, cars_int1), eb_event(rng, w2, flowers_out)
    add(
        "sqs-wrapping-eventbridge-manifest.json",
        {
            "Records": [
                sqs_record(rng, e1, w1.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE),
                sqs_record(rng, e2, w2.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE),
            ]
        },
        "SQS -> Lambda batch of 2 records whose bodies are EventBridge S3 events (2 jobs)",
        [obj_ref(w1, cars_int1), obj_ref(w2, flowers_out)],
    )
    int2_writes = a.writes_of(cars_int2)
    w3 = a.last_write(cars_int3)
    seq = [(int2_writes[0], cars_int2), (w3, cars_int3), (int2_writes[1], cars_int2)]
    add(
        "sqs-wrapping-eventbridge-rewrites.json",
        {
            "Records": [
                sqs_record(rng, eb_event(rng, ww, k), ww.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE)
                for ww, k in seq
            ]
        },
        "one SQS batch with intermediate/2 (partial), intermediate/3, then intermediate/2 again (full, later "
        "sequencer): same key written twice, an older iteration's snapshot arriving after a newer one",
        [obj_ref(ww, k) for ww, k in seq],
    )

    # S3 event notifications
    w = a.last_write(cars_int1)
    add(
        "s3-notification-put.json",
        {"Records": [s3_record(w, cars_int1)]},
        "S3 event notification (direct S3 -> Lambda shape), `ObjectCreated:Put`",
        [obj_ref(w, cars_int1)],
    )
    wa, wb = b.last_write(wr_key), a.last_write(cars_out)
    add(
        "sqs-wrapping-s3-notification.json",
        {
            "Records": [
                sqs_record(rng, {"Records": [s3_record(wa, wr_key)]}, wa.time + timedelta(seconds=1), SQS_SENDER_S3),
                sqs_record(rng, {"Records": [s3_record(wb, special)]}, wb.time + timedelta(seconds=1), SQS_SENDER_S3),
            ]
        },
        "SQS batch whose bodies are S3 event notifications: a worker-response key (`%3A`) and the special key",
        [obj_ref(wa, wr_key), obj_ref(wb, special)],
    )

    # s3:TestEvent
    test_time = dt("2024-03-12T08:55:03") + timedelta(milliseconds=218)
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso_ms_z(test_time),
        "Bucket": BUCKET,
        "RequestId": rand_chars(rng, UPPER_DIGITS, 16),
        "HostId": base64.b64encode(rng.randbytes(57)).decode(),
    }
    add(
        "s3-test-event.json",
        test_event,
        "the `s3:TestEvent` message S3 sends when a notification configuration is saved (no Records)",
        [],
    )
    add(
        "sqs-wrapping-s3-test-event.json",
        {"Records": [sqs_record(rng, test_event, test_time + timedelta(milliseconds=40), SQS_SENDER_S3)]},
        "SQS record carrying `s3:TestEvent`: must be acknowledged and ignored",
        [],
    )

    # Ground Truth job state change (completion signal)
    add(
        "eventbridge-sagemaker-labeling-job-completed.json",
        {
            "version": "0",
            "id": rand_uuid(rng),
            "detail-type": "SageMaker Ground Truth Labeling Job State Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "time": iso_s_z(a.last_write(cars_out).time + timedelta(seconds=38)),
            "region": REGION,
            "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/cars-bbox"],
            "detail": {"LabelingJobStatus": "Completed"},
        },
        "SageMaker `Labeling Job State Change` (Completed) for cars-bbox: not an S3 event",
        [],
    )
    return catalog


# --------------------------------------------------------------------------------------------------
# READMEs


def md_counts_table(manifests: list[dict]) -> str:
    cols = ["lines", "objects", "labeled", "humanLabeled", "autoLabeled", "failed", "unlabeled", "invalidLines"]
    out = ["| key (file) | " + " | ".join(cols) + " | classCounts |", "|---" * (len(cols) + 2) + "|"]
    for m in manifests:
        name = f"`{m['key']}`" + (f" ({m['version']})" if m.get("version") else "")
        cc = ", ".join(f"{k} {v}" for k, v in m["classCounts"].items()) or "-"
        out.append(f"| {name} | " + " | ".join(str(m[c]) for c in cols) + f" | {cc} |")
    return "\n".join(out)


def jobs_readme(exp: dict[str, dict], plans: dict[str, Tree]) -> str:
    a, b, c, d = (
        exp[k] for k in ("bbox-three-iterations", "classification-failed-auto", "adjustment-chained", "bad-input")
    )
    e = exp["streaming-job"]
    steps = "\n".join(
        f"- step {k + 1:2d}: "
        + (
            f"message on the output topic: `{step['file']}`"
            if "streaming" in step
            else f"SageMaker state change `{step['status']}`"
            if "jobStatus" in step
            else f"write `{step['key']}`"
        )
        for k, step in enumerate(plans["streaming-job"].plan or [])
    )
    plan_a = "\n".join(
        f"- write {k + 1:2d}: `{w.key}`" + (" (file `" + w.file + "`)" if "rewrites" in w.file else "")
        for k, w in enumerate(plans["bbox-three-iterations"].writes)
        if w.key.endswith(".manifest")
    )
    lt = "\n".join(
        f"| {r['line']} | {r['ending']} | {r['content']} | {r['expected']} |" for r in d["manifests"][0]["lineTable"]
    )
    fr = "\n".join(f"  - line index {k}: `{v}`" for k, v in b["failureReasons"].items())
    adjs = "\n".join(f"- line index {k}: {v}" for k, v in c["adjustments"].items())
    return f"""# Sample Ground Truth output trees

Generated by `events/generate_samples.py` (seeded, stdlib only) — do not edit by hand; change the
script and rerun it (`--check` verifies the files on disk are what the script produces).

Each folder `<tree>/` mirrors an S3 bucket: a file's path below `<tree>/` is its S3 key, and the first
folder is the labeling job name (`LabelingJobName`). Bucket: `{BUCKET}`, region `{REGION}`,
account `{ACCOUNT}`. Next to each tree:

- `<tree>.expected.json` — the numbers below in machine-readable form (plus object ids per category);
- `<tree>.plan.jsonl` — replay plan: one JSON object per line `{{"key": <S3 key>, "file": <path relative to
  events/jobs/>}}` in write order (the order Ground Truth would have written them);
- `<tree>.input.manifest` — the input manifest of the job (not part of the output tree; GT does not write it).

File formats follow Ground Truth's output format (the SageMaker Developer Guide's "Labeling job
output data" page): manifests are JSON Lines with compact JSON
(`separators=(",",":")`, UTF-8 unescaped, LF, trailing newline), one line per input line in input order,
input keys first and untouched, then `<LAN>` and `<LAN>-metadata`; `job-name` is
`labeling-job/<job lower-cased>`, `creation-date` has microseconds and no zone. Worker-response,
consolidation-request and -response files are single compact JSON documents without trailing newline;
file names are second-resolution write times with colons (`YYYY-MM-DD_HH:MM:SS.json`).

## Counting rules used for the expected numbers

Per manifest, for the job's own label attribute `<LAN>` (= the job name here):

- `lines`: physical lines (a trailing newline does not start a new line); `blankLines` lines that are
  empty after stripping `\\r`; `invalidLines` lines that are not a valid object line (see bad-input).
- `objects` = valid object lines = `labeled + failed + unlabeled`.
- `labeled`: `<LAN>` present; split into `humanLabeled` (`human-annotated` = `"yes"`) and `autoLabeled` (`"no"`).
- `failed`: no `<LAN>`, `<LAN>-metadata.failure-reason` present.
- `unlabeled`: neither (lines copied from the input; in the chained tree, lines that carry only the
  earlier job's pair are unlabeled for this job).
- `classCounts`: classification = labeled objects (human + auto) per `class-name`; bounding boxes =
  number of boxes per class name (`class-map[str(class_id)]`) over labeled lines. Failed/unlabeled lines
  contribute nothing. `boxes` = total boxes.
- Ids in `*.expected.json` (`labeledIds`, ...) are `datasetObjectId`s = 0-based line numbers.

## a. `bbox-three-iterations/` — job `{a["jobName"]}`

Bounding boxes (`groundtruth/object-detection`), label categories {", ".join(a["labelCategories"])}
(class ids 0..2), {a["manifests"][0]["lines"]} images, 3 private-workforce workers per image (answers with
`acceptanceTime`, `timeSpentInSeconds`, `workerMetadata`). Each iteration labels 10 objects (iteration 1 =
the 10-object probe, picked at random like the real job, not lines 0-9):
iteration 1 = {a["iterations"]["1"]}, iteration 2 = {a["iterations"]["2"]}, iteration 3 = {a["iterations"]["3"]}.

- `annotations/worker-response/iteration-N/<idx>/<time>.json`: one file per object (30), `{{"answers":[...]}}`
  with `boundingBox.boundingBoxes` (workers' boxes in any order) and `inputImageProperties`.
- `annotations/consolidated-annotation/consolidation-request|response/iteration-N/<time>.json`: JSON arrays,
  one per consolidation batch: iteration 1 one batch, iteration 2 two batches (6 + 4 objects), iteration 3 one;
  ids are strings, order unsorted; `annotationData.content` is the answer serialized as a JSON string; the
  response holds exactly the `<LAN>`/`<LAN>-metadata` values that then appear in the manifests.
- Consolidation = mean of the matched worker boxes, majority class; confidence = (share of workers who drew the
  box) x mean IoU with the consolidated box, 2 decimals (a stand-in, not GT's exact algorithm).
- Special objects: {a["specialObjects"]["zeroBoxes"]} has zero boxes (`annotations: []`, `class-map: {{}}`,
  `objects: []`); in {a["specialObjects"]["oneWorkerMissedABox"]} one worker missed a box (confidence lower);
  in {a["specialObjects"]["oneWorkerMislabeledABox"]} one worker called a truck a car (majority: truck);
  line 6's `source-ref` contains a space, line 17's contains Hangul, lines 4/11/23 carry an extra input
  attribute `camera-id` that must be passed through.
- Manifests are full snapshots (30 lines each).

{md_counts_table(a["manifests"])}

Replay plan (`bbox-three-iterations.plan.jsonl`, {a["planWrites"]} writes): `intermediate/2/output.manifest`
is written twice — first a partial snapshot (after iteration 2's first batch, 16 labeled; stored as
`bbox-three-iterations-rewrites/intermediate-2-partial.manifest`), then the full one (20 labeled) which
arrives AFTER `intermediate/3` (out of order: an older iteration's snapshot must not undo newer labels);
the final manifest is last. Manifest writes, by position in the plan (the other writes are the
worker-response and consolidation files, in time order):

{plan_a}

## b. `classification-failed-auto/` — job `{b["jobName"]}`

Single-label image classification (`groundtruth/image-classification`), classes
{", ".join(f"{k} {v}" for k, v in enumerate(b["labelCategories"]))}, {b["manifests"][0]["lines"]} images,
public workforce 2019-style worker files (`answerContent`/`submissionTime`/`workerId` only), 3 workers per
human-labeled object, automated labeling on.

- iteration 1 (probe, 10): {b["iterations"]["1"]}
- iteration 2: 16 objects sent to workers; 13 answered {b["iterations"]["2"]}, 3 failed {b["sentToHumansButFailed"]}
  (no worker-response files, not in consolidation requests)
- auto-labeled (`"human-annotated":"no"`, model confidences up to 0.99), 12: {b["autoLabeled"]}
- iteration 3 (after auto-labeling, the last 2 human objects): {b["iterations"]["3"]} — these are the 2
  unlabeled lines of `intermediate/2`; they are labeled only in the final manifest (no intermediate/3).
- worker pool: 5 good workers and 1 spammer (`{b["workers"]["spammer"]}`) who always answers `Daisy`;
  vote kinds: {", ".join(f"{k}: {v}" for k, v in b["voteKinds"].items())} (no 3-way ties).
  Confidence = posterior with worker accuracy 0.7 (spammer 0.3), capped at 0.95 (real outputs never exceed
  0.95) — a stand-in for GT's EM, so an own consolidation may legitimately differ in confidence.
- two worker-response files share the name `2019-04-18_16:13:05.json` (different objects), as in the real
  birds job; the worker-response trigger points at one of them.
- failure reasons:
{fr}
  The third failed line's metadata is minimal (`failure-reason` and `job-name` only, no `type`, no
  `creation-date`): it is still a FAILED object, not an invalid line. Failed lines appear in
  `intermediate/2` and in the final manifest.

{md_counts_table(b["manifests"])}

## c. `adjustment-chained/` — job `{c["jobName"]}`

Bounding-box adjustment job chained on the earlier job `{c["chainedOn"]["jobName"]}`. Every line carries
`{c["chainedOn"]["labelAttributeName"]}` + `-metadata` (`job-name` `{c["chainedOn"]["metadataJobName"]}`,
3-worker confidences) from the input manifest; labeled lines add `{c["labelAttributeName"]}` + `-metadata`
(`job-name` `{c["metadataJobName"]}`, single worker so every confidence is `0`, `adjustment-status`).
Label categories {", ".join(c["labelCategories"])} (motorcycle only appears via an adjustment).
Line index 9 had zero boxes in the first job. `intermediate/1` labels 10 of 15 lines; the other 5 carry only
the earlier job's pair (unlabeled for this job). No worker-response/consolidation files (the adjustment
answer shape is not documented publicly).

Adjusted lines ({c["final"]["adjusted"]}):
{adjs}

Unadjusted ({c["final"]["unadjusted"]}): {c["unadjustedIds"]}

{md_counts_table(c["manifests"])}

classCounts per attribute in the final manifest: `{cj(c["final"]["classCountsByAttribute"])}` — count
only the job's own attribute (the pair whose metadata `job-name` is `labeling-job/{c["jobName"]}`).

## d. `bad-input/` — job `{d["jobName"]}`

`broken-job/manifests/intermediate/1/output.manifest` ({d["manifests"][0]["bytes"]} bytes, bounding boxes):

| line | ending | content | expected |
|---|---|---|---|
{lt}

Expected: {d["manifests"][0]["objects"]} valid objects (labeled 3 — cars 2, trucks 2 —, failed 1,
unlabeled 1), {d["manifests"][0]["invalidLines"]} invalid lines (3-8), 1 blank line (9) that is skipped
(neither an object nor an error), CRLF lines parse like LF lines. Problem codes are suggestions.
`broken-job/manifests/intermediate/2/output.manifest` is 0 bytes: 0 objects, nothing to report beyond
an empty manifest (must not crash).

## e. `streaming-job/` — streaming job `{e["jobName"]}`

A streaming image-classification job (cat, dog) with an SNS output topic (`{e["topicName"]}` in the
replay). `messages/<id>.json` is what Ground Truth publishes for one object: its output line as JSON
text. Each line names its dedup key in `dataset-objectid-attribute-name`: the caller's `pet-id`, or
Ground Truth's own `$label-attribute-name-object-id`. The periodic manifests
(`manifests/intermediate/N/output.manifest`) carry the same lines, identified the same way.

The plan (`streaming-job.plan.jsonl`) mixes three kinds of step: `{{"streaming": JOB, "file": F}}` publishes
F's content as one message on JOB's output topic, `{{"jobStatus": JOB, "status": S}}` (optionally with
`labelCounters`, DescribeLabelingJob's answer) sends SageMaker's state-change event, and `{{"key", "file"}}`
is an S3 write as in the other plans:

{steps}

Expected: labeled once each {", ".join(e["labeledIds"])}; failed once {", ".join(e["failedIds"])}
(redelivered messages, the manifests and the late message of `pet-004`, already in intermediate/1,
publish nothing again); 2 bad messages reported once each (`json-invalid`, `type-missing`; the
truncated one is sent twice); `Labeling Job Status Changed` once for `Stopping` and once for `Stopped`
(sent twice).

## Choices not settled by public evidence

- Exact `failure-reason` texts, and whether failed lines appear in intermediate manifests (here: yes).
- Whether an intermediate manifest for N>1 repeats earlier labels (here: yes, full snapshots).
- Consolidation file names: request = batch time, response = 1-3 s later.
- Confidence values are plausible stand-ins, not GT's algorithm.
- The final manifest of tree a is byte-identical to `intermediate/3`.
- A streaming job's S3 layout and its SNS output message (here: the manifests' layout, and the output
  line as the message).
"""


def triggers_readme(catalog: list[dict]) -> str:
    rows = []
    for c in catalog:
        objs = (
            "<br>".join(
                f"sent `{s}`" + (f"<br>decoded `{k}`" if s != k else "") + (f"<br>file `jobs/{f}`" if f else "")
                for s, k, f in c["objects"]
            )
            or "-"
        )
        rows.append(f"| `{c['file']}` | {c['what']} | {objs} |")
    table = "\n".join(rows)
    return f"""# Sample trigger events

Generated by `events/generate_samples.py` — do not edit by hand. One event per file, shaped as AWS
delivers it to a Lambda function. Bucket `{BUCKET}`, region `{REGION}`, account `{ACCOUNT}`, queue
`{QUEUE_ARN}`.

- EventBridge S3 events (`detail-type` `Object Created`, `source` `aws.s3`): `detail.object` has `key`,
  `size`, `etag`, `version-id` (omitted where noted), `sequencer`; `requester` is the account (GT writes with
  the job's role), `reason` `PutObject`.
- S3 event notifications: `{{"Records":[...]}}`, `eventVersion` 2.1, `eventName` `ObjectCreated:Put`,
  `s3.object` has `key`, `size`, `eTag`, `versionId`, `sequencer`.
- SQS Lambda events: `body` is the compact JSON string of the wrapped event, `md5OfBody` its MD5,
  `SenderId` as seen for EventBridge (`{SQS_SENDER_EVENTBRIDGE}`) and S3 (`{SQS_SENDER_S3}`) deliveries.

Keys are URL-encoded as S3 does (decode with `urllib.parse.unquote_plus`): `:` → `%3A`, space → `+`,
literal `+` → `%2B`, non-ASCII → percent-encoded UTF-8 (NFC), `/` kept. `size` and `etag` are the
length and MD5 of the referenced sample file, so a test can fetch the decoded key from a replayed tree and
compare. `sequencer` = `00` + 8 hex digits of the write's epoch second + 8 hex digits: for one key it
grows with each write (compare as strings of equal length). Keys under `{SPECIAL_PREFIX}` mean: the tree
replayed under that prefix (the object bytes are those of the listed file).

| file | exercises | object key(s) |
|---|---|---|
{table}

Unsettled: a published real EventBridge capture shows a key with raw colons (not `%3A`), while the S3
notification docs say keys are URL-encoded and Powertools decodes EventBridge keys with `unquote_plus`;
the EventBridge samples here are encoded and `eventbridge-object-created-unencoded-key.json` covers the raw
form (a consumer that always applies `unquote_plus` handles both, except for keys that really contain `+`
or `%`). `catalog.jsonl` lists, per trigger file, each referenced object: key as sent, decoded key, sample
file (relative to `events/jobs/`) — machine-readable form of the table above. Newer S3 docs also show
`detail.event-version` and `bucket.aws-generated-tags` in EventBridge events: consumers should ignore
unknown fields.
"""


def top_readme() -> str:
    return """# events/

Sample inputs for tests and for `gtproc replay`, all generated by `generate_samples.py` (seeded, stdlib only):

- `triggers/` — trigger events as AWS delivers them (EventBridge S3 `Object Created`, S3 notifications,
  SQS batches wrapping either, `s3:TestEvent`, GT job state change). See `triggers/README.md`.
- `jobs/` — sample Ground Truth output trees (paths = S3 keys), their expected counts
  (`<tree>.expected.json`), replay plans (`<tree>.plan.jsonl`) and input manifests. See `jobs/README.md`.

Regenerate: `python events/generate_samples.py`; verify: `python events/generate_samples.py --check`.
"""


# --------------------------------------------------------------------------------------------------


def generate(out: Path) -> None:
    for sub in ("jobs", "triggers"):
        if (out / sub).exists():
            shutil.rmtree(out / sub)
    jobs = out / "jobs"
    jobs.mkdir(parents=True)
    trees: dict[str, Tree] = {}
    expected: dict[str, dict] = {}
    for fn in (gen_bbox_three_iterations, gen_classification, gen_adjustment, gen_bad_input, gen_streaming):
        tree, exp = fn(jobs)
        trees[tree.name] = tree
        expected[tree.name] = exp
        (jobs / f"{tree.name}.plan.jsonl").write_bytes(tree.plan_bytes())
        (jobs / f"{tree.name}.expected.json").write_bytes(pretty(exp))
    catalog = gen_triggers(out, trees)
    (out / "triggers" / "catalog.jsonl").write_bytes(
        "".join(
            cj({"file": c["file"], "objects": [{"sent": s, "decoded": k, "file": f} for s, k, f in c["objects"]]})
            + "\n"
            for c in catalog
        ).encode("utf-8")
    )
    (jobs / "README.md").write_text(jobs_readme(expected, trees), encoding="utf-8")
    (out / "triggers" / "README.md").write_text(triggers_readme(catalog), encoding="utf-8")
    (out / "README.md").write_text(top_readme(), encoding="utf-8")


def _files(root: Path) -> dict[str, bytes]:
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and rel != SCRIPT_NAME and "__pycache__" not in rel:
            out[rel] = p.read_bytes()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=HERE, help="root to write jobs/, triggers/, README.md into")
    ap.add_argument("--check", action="store_true", help="regenerate in a temp dir and compare with --out")
    args = ap.parse_args(argv)
    if not args.check:
        generate(args.out)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp))
        want, have = _files(Path(tmp)), _files(args.out)
    diff = sorted(k for k in want.keys() | have.keys() if want.get(k) != have.get(k))
    for k in diff[:20]:
        print(f"differs: {k}", file=sys.stderr)
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
