"""Wall time and peak memory of consolidate() on large generated jobs.

Cases: a 100k-object image-classification job (5 answers per object from a pool of 50 workers,
10 classes) with each single-label method, and a 10k-image bounding-box job (5 workers, 1-4 boxes).
Each case runs in a fresh child process so that its peak RSS (ru_maxrss) is its own; "input" is the
RSS after the answers were built (worker-response dicts, as a handler holds them after json.loads).
Wall and CPU seconds are of consolidate() alone (CPU time is the steadier figure on a shared machine).

    PYTHONPATH=functions .venv/bin/python benchmarks/bench_consolidation.py [--objects N] [--images N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
from gtproc.domain.consolidation import METHODS, TaskType, consolidate


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def classification_job(n_objects: int, seed: int = 0) -> dict[str, list[dict]]:
    rng = np.random.default_rng(seed)
    k, pool, per_object = 10, 50, 5
    names = [f"class-{c}" for c in range(k)]
    workers = [f"public.us-east-1.{i:026d}" for i in range(pool)]
    accuracy = rng.uniform(0.55, 0.95, pool)
    truth = rng.integers(0, k, n_objects)
    chosen = np.argsort(rng.random((n_objects, pool)), axis=1)[:, :per_object]
    right = rng.random((n_objects, per_object)) < accuracy[chosen]
    answer = np.where(right, truth[:, None], rng.integers(0, k, (n_objects, per_object)))
    contents = [{"crowd-image-classifier": {"label": name}} for name in names]  # shared, as labels would be
    return {
        str(i): [{"workerId": workers[w], "answerContent": contents[a]} for w, a in zip(ws, ans, strict=True)]
        for i, (ws, ans) in enumerate(zip(chosen.tolist(), answer.tolist(), strict=True))
    }


def box_job(n_images: int, seed: int = 0) -> dict[str, list[dict]]:
    rng = np.random.default_rng(seed)
    objects = {}
    for i in range(n_images):
        n = int(rng.integers(1, 5))
        xy = rng.uniform(0, 400, (n, 2))
        wh = rng.uniform(30, 200, (n, 2))
        labels = rng.choice(["car", "person", "bike"], n)
        answers = []
        for w in range(5):
            jitter = rng.normal(0, 4, (n, 4))
            x, y = (xy[:, 0] + jitter[:, 0]).tolist(), (xy[:, 1] + jitter[:, 1]).tolist()
            width, height = (wh[:, 0] + jitter[:, 2]).tolist(), (wh[:, 1] + jitter[:, 3]).tolist()
            boxes = [
                {"label": str(labels[j]), "left": x[j], "top": y[j], "width": width[j], "height": height[j]}
                for j in range(n)
                if rng.random() > 0.05
            ]
            content = {"boundingBox": {"boundingBoxes": boxes, "inputImageProperties": {"width": 640, "height": 480}}}
            answers.append({"workerId": f"private.us-east-1.{w:016x}", "answerContent": content})
        objects[str(i)] = answers
    return objects


def run_case(case: str, size: int) -> dict:
    start = time.perf_counter()
    if case == "boxes":
        objects, task, method = box_job(size), TaskType.OBJECT_DETECTION, None
    else:
        objects, task, method = classification_job(size), TaskType.IMAGE_CLASSIFICATION, case
    built = time.perf_counter() - start
    before = rss_mb()
    start, cpu_start = time.perf_counter(), time.process_time()
    result = consolidate(task, objects, label_attribute_name="lan", job_name="bench", method=method)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    answers = sum(len(a) for a in objects.values())
    return {
        "case": case,
        "objects": len(result.objects),
        "answers": answers,
        "build_s": built,
        "seconds": seconds,
        "cpu_s": cpu,
        "input_mb": before,
        "peak_mb": rss_mb(),
        "state_bytes": len(json.dumps(result.quality.to_json())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # child process
        print(json.dumps(run_case(args.case, args.size)))
        return
    cases = [(m, args.objects) for m in METHODS[TaskType.IMAGE_CLASSIFICATION]] + [("boxes", args.images)]
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}")
    print(
        f"{'case':<41}{'objects':>8}{'answers':>8}{'wall s':>8}{'cpu s':>7}{'input MB':>9}{'peak MB':>8}{'state B':>8}"
    )
    for case, size in cases:
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--size", str(size)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout)
        name = "boxes iou-cluster-median" if case == "boxes" else f"classification {case}"
        print(
            f"{name:<41}{r['objects']:>8}{r['answers']:>8}{r['seconds']:>8.2f}{r['cpu_s']:>7.2f}"
            f"{r['input_mb']:>9.0f}{r['peak_mb']:>8.0f}{r['state_bytes']:>8}"
        )
    print("wall/cpu: consolidate() only; input MB: RSS once the answers were built; peak MB: the case's max RSS")


if __name__ == "__main__":
    main()
