"""Scenario c: an adjustment job chained on an earlier bounding-box job."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .boxes import CAR_ADJ_CLASSES, CAR_CLASSES, bbox_label, class_map_for, rand_box
from .core import BUCKET, INPUT_BUCKET, Tree, creation_date, dt, manifest_bytes, summarize


def build(jobs: Path) -> tuple[Tree, dict]:
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
