"""`gtproc report` on a synthetic 10,000-object job: wall time per stage, against a bare read of its files.

    .venv/bin/python benchmarks/bench_report.py            # classification and bounding boxes, 10k objects
    .venv/bin/python benchmarks/bench_report.py --objects 2000 --keep /tmp/job   # keep the job tree

The job is laid out as Ground Truth writes it: 3 iterations of worker responses (5 of 60 workers per
object, 4 of them careless, 2 spammers), Ground Truth's consolidation responses, an intermediate
manifest per iteration, the final manifest with 15% auto-labeled objects, 1% failed objects and a few
invalid lines. The reference is reading and decoding every file of the tree with json.loads (what any
report must at least do). Target: the report within 20 s. Prints a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

CLASSES = ["Duck", "Goose", "Owl", "Parrot", "Sparrow", "Eagle", "Hawk", "Pigeon", "Crow", "Robin"]
BOX_CLASSES = ["car", "truck", "bus", "bike"]


def _stamp(minute: float) -> str:
    hours, minutes = divmod(int(minute), 60)
    return f"2024-05-0{1 + hours // 24}T{hours % 24:02d}:{minutes:02d}:{int(minute * 60) % 60:02d}Z"


def make_job(root: Path, n: int, kind: str, seed: int = 3) -> Path:
    rng = random.Random(seed)
    name = f"bench-{kind}"
    job = root / name
    workers = [f"private.us-east-1.{rng.getrandbits(64):016x}" for _ in range(60)]
    skill = {w: 0.92 for w in workers} | {w: 0.6 for w in workers[:4]} | {w: 0.0 for w in workers[4:6]}
    auto = set(rng.sample(range(n), n * 15 // 100))
    failed = set(rng.sample(sorted(set(range(n)) - auto), n // 100))
    human = [i for i in range(n) if i not in auto and i not in failed]
    iteration_of = {i: 1 + (position * 3) // len(human) for position, i in enumerate(human)}
    labels: dict[int, tuple[dict, dict]] = {}
    responses = {1: [], 2: [], 3: []}
    for i in human:
        truth = rng.choice(CLASSES) if kind == "classes" else None
        true_boxes = [
            (
                rng.choice(BOX_CLASSES),
                rng.randint(0, 1600),
                rng.randint(0, 800),
                rng.randint(40, 300),
                rng.randint(40, 200),
            )
            for _ in range(rng.randint(0, 4))
        ]
        answers, start = [], iteration_of[i] * 600 + rng.random() * 500
        for w in rng.sample(workers, 5):
            if kind == "classes":
                right = rng.random() < skill[w]
                label = truth if right else ("Duck" if skill[w] == 0 else rng.choice(CLASSES))
                content = {"crowd-image-classifier": {"label": label}}
            else:
                boxes = [
                    {
                        "label": c,
                        "left": x + rng.randint(-8, 8),
                        "top": y + rng.randint(-8, 8),
                        "width": bw,
                        "height": bh,
                    }
                    for c, x, y, bw, bh in true_boxes
                    if rng.random() < max(skill[w], 0.3)
                ]
                content = {
                    "boundingBox": {"boundingBoxes": boxes, "inputImageProperties": {"width": 1920, "height": 1080}}
                }
            seconds = rng.uniform(5, 60)
            answers.append(
                {
                    "acceptanceTime": _stamp(start),
                    "answerContent": content,
                    "submissionTime": _stamp(start + seconds / 60),
                    "workerId": w,
                }
            )
            start += seconds / 60
        folder = job / "annotations" / "worker-response" / f"iteration-{iteration_of[i]}" / str(i)
        folder.mkdir(parents=True)
        (folder / "2024-05-01_10:00:00.json").write_text(json.dumps({"answers": answers}))
        labels[i] = _ground_truth(kind, name, truth, true_boxes, rng)
        responses[iteration_of[i]].append(
            {
                "datasetObjectId": str(i),
                "consolidatedAnnotation": {"content": {name: labels[i][0], f"{name}-metadata": labels[i][1]}},
            }
        )
    for i in auto:
        labels[i] = _ground_truth(kind, name, rng.choice(CLASSES), [("car", 10, 10, 50, 50)], rng, human=False)
    for iteration, items in responses.items():
        folder = job / "annotations" / "consolidated-annotation" / "consolidation-response" / f"iteration-{iteration}"
        folder.mkdir(parents=True)
        (folder / "2024-05-01_12:00:00.json").write_text(json.dumps(items))

    def manifest(upto: int | None) -> str:
        out = []
        for i in range(n):
            line = {"source-ref": f"s3://in/img_{i:06d}.jpg"}
            done = upto is None or (i in iteration_of and iteration_of[i] <= upto) or (i in auto and upto >= 2)
            if i in failed and upto is None:
                line[f"{name}-metadata"] = {
                    "failure-reason": "ClientError: Annotation tasks expired",
                    "job-name": f"labeling-job/{name}",
                }
            elif i in labels and done:
                line[name], line[f"{name}-metadata"] = labels[i]
            out.append(json.dumps(line))
        if upto is None:
            out[7] = out[7][:-9]  # truncated JSON
            out[8] = "[1, 2]"
        return "\n".join(out) + "\n"

    for upto in (1, 2, 3, None):
        path = job / "manifests" / (f"intermediate/{upto}" if upto else "output") / "output.manifest"
        path.parent.mkdir(parents=True)
        path.write_text(manifest(upto))
    return job


def _ground_truth(kind, name, truth, boxes, rng, human=True):
    common = {
        "job-name": f"labeling-job/{name}",
        "human-annotated": "yes" if human else "no",
        "creation-date": "2024-05-01T12:00:00.000000",
    }
    if kind == "classes":
        meta = {
            "class-name": truth,
            "confidence": round(rng.uniform(0.6, 0.99), 2),
            "type": "groundtruth/image-classification",
        }
        return CLASSES.index(truth), meta | common
    class_map = {str(BOX_CLASSES.index(c)): c for c, *_ in boxes}
    label = {
        "image_size": [{"width": 1920, "height": 1080, "depth": 3}],
        "annotations": [
            {"class_id": BOX_CLASSES.index(c), "left": x, "top": y, "width": w, "height": h} for c, x, y, w, h in boxes
        ],
    }
    meta = {
        "objects": [{"confidence": round(rng.uniform(0.5, 0.99), 2)} for _ in boxes],
        "class-map": class_map,
        "type": "groundtruth/object-detection",
    }
    return label, meta | common


def bare_read(job: Path) -> float:
    started = time.perf_counter()
    for path in job.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".manifest":
                for line in data.splitlines():
                    with contextlib.suppress(ValueError):  # the invalid lines
                        json.loads(line)
            else:
                json.loads(data)
    return time.perf_counter() - started


def timed_report(job: Path, out: Path) -> dict[str, float]:
    from gtproc.report import analysis, html
    from gtproc.report.job import load_job

    times = {}
    started = time.perf_counter()
    files = load_job(str(job))
    times["read files"] = time.perf_counter() - started
    mark = time.perf_counter()
    report = analysis.analyse(files)
    times["validate, consolidate, compare"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out.write_text(html.render(report), encoding="utf-8")
    times["charts and page"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    times["page MB"] = out.stat().st_size / 1e6
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, help="write the job trees here and keep them")
    args = parser.parse_args()
    import matplotlib  # noqa: F401 - imported once before timing, as the command does before reading

    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-report-"))
    print(
        f"| job ({args.objects:,} objects) | bare read of the tree s | read files s | validate, consolidate, compare s "
        "| charts and page s | report total s | page MB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    try:
        for kind in ("classes", "boxes"):
            print(f"generating {kind} ...", file=sys.stderr)
            job = make_job(root, args.objects, kind)
            reference = bare_read(job)
            t = timed_report(job, root / f"{kind}.html")
            print(
                f"| {kind} | {reference:.2f} | {t['read files']:.2f} | {t['validate, consolidate, compare']:.2f} |"
                f" {t['charts and page']:.2f} | **{t['total']:.2f}** | {t['page MB']:.2f} |"
            )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
