"""Scenario b: classification with failed objects and automated labeling."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from .core import (
    BUCKET,
    HEX,
    INPUT_BUCKET,
    Tree,
    cj,
    creation_date,
    dt,
    file_ts,
    iso_s_z,
    manifest_bytes,
    public_worker_id,
    rand_chars,
    summarize,
)

FLOWERS = ["Daisy", "Rose", "Sunflower", "Tulip"]


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


def build(jobs: Path) -> tuple[Tree, dict]:
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
