"""Consolidation quality on simulated crowds with known worker behaviour (seeded, reproducible).

Compares, per scenario (mean over seeds): accuracy against the true labels and expected calibration
error (ECE, 10 bins) of the confidences each method reports, for our majority vote, weighted vote,
Dawid-Skene and AWS's modified Dawid-Skene, our Dawid-Skene with errors spread evenly (DS-even, the
ablation of its crowd-error prior), and crowd-kit's MajorityVote and DawidSkene when crowd-kit is
importable. Also: carrying worker quality across batches, the real birds job, and box fusion.

    PYTHONPATH=functions .venv-oracle/bin/python benchmarks/consolidation_quality.py [--quick]

(.venv-oracle: python3 -m venv .venv-oracle && .venv-oracle/bin/pip install 'crowd-kit==1.4.2'
'scikit-learn<1.6' numpy msgspec (the consolidation library's value types are msgspec Structs);
without crowd-kit the crowd-kit columns are skipped.)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gtproc.domain.consolidation import METHODS, TaskType, consolidate, expected_calibration_error
from gtproc.domain.consolidation import single_label as sl
from gtproc.domain.consolidation.shapes import box_iou

try:  # optional oracle
    import pandas as pd
    from crowdkit.aggregation import DawidSkene as CkDawidSkene
    from crowdkit.aggregation import MajorityVote as CkMajorityVote

    HAVE_CROWDKIT = True
except ImportError:  # pragma: no cover - depends on the venv
    HAVE_CROWDKIT = False

OURS = METHODS[TaskType.IMAGE_CLASSIFICATION]
SHORT = {
    "majority-vote": "MV",
    "weighted-vote": "WV",
    "dawid-skene": "DS",
    "dawid-skene-classic": "DS-plain",
    "aws-modified-dawid-skene": "AWS-MDS",
    "ds-even-errors": "DS-even",
    "crowdkit-mv": "ck-MV",
    "crowdkit-ds": "ck-DS",
}
BIRDS = Path(__file__).resolve().parents[1] / "tests/unit/consolidation/data/birds_iteration1.json"


@dataclass(frozen=True)
class Scenario:
    name: str
    objects: int
    workers: int
    classes: int
    per_object: int  # answers per object (distinct workers)
    good: tuple[float, float] = (0.6, 0.9)  # accuracy range of ordinary workers
    spammers: float = 0.0  # share answering uniformly at random
    biased: float = 0.0  # share answering one favourite class half of the time
    skew: float = 0.0  # class prior ~ Zipf(skew); 0 = uniform
    accuracies: tuple[float, ...] = field(default=())  # explicit accuracies instead of the mix
    lookalike: float = 0.0  # share of a non-spammer's wrong answers moved to the true class's look-alike


SCENARIOS = [
    Scenario("5w 2c honest", 2000, 5, 2, 5, good=(0.6, 0.85)),
    Scenario("5w 5c one expert", 2000, 5, 5, 5, accuracies=(0.9, 0.55, 0.55, 0.5, 0.5)),
    Scenario("10w 5c 30% spam", 2000, 10, 5, 5, spammers=0.3),
    Scenario("20w 4c 40% biased skew", 2000, 20, 4, 5, biased=0.4, skew=1.0),
    Scenario("30w 10c birds-like", 2000, 30, 10, 5, good=(0.5, 0.95), spammers=0.2),
    Scenario("50w 3c 3ans 45% spam", 3000, 50, 3, 3, spammers=0.45),
    Scenario("100w 2c 3ans sparse", 2000, 100, 2, 3, good=(0.55, 0.9), spammers=0.1),
    Scenario("100w 20c mixed", 5000, 100, 20, 5, spammers=0.25, biased=0.25),
    # Real crowds mistake a Duck for a Goose, not for an Owl: most errors go to one look-alike class.
    Scenario("5w 5c expert look-alike", 2000, 5, 5, 5, accuracies=(0.9, 0.55, 0.55, 0.5, 0.5), lookalike=0.6),
    Scenario("30w 10c birds look-alike", 2000, 30, 10, 5, good=(0.5, 0.95), spammers=0.2, lookalike=0.6),
    Scenario("50w 3c 3ans look-alike", 3000, 50, 3, 3, spammers=0.45, lookalike=0.6),
    Scenario("100w 20c mixed look-alike", 5000, 100, 20, 5, spammers=0.25, biased=0.25, lookalike=0.6),
]


def worker_confusions(rng: np.random.Generator, s: Scenario) -> np.ndarray:
    """(W, K, K) P(answer | true) per worker."""
    k = s.classes
    if s.accuracies:
        kinds = ["good"] * s.workers
        acc = np.array(s.accuracies, float)
    else:
        kinds = rng.choice(
            ["spam", "biased", "good"], size=s.workers, p=[s.spammers, s.biased, 1 - s.spammers - s.biased]
        )
        acc = rng.uniform(*s.good, size=s.workers)
    out = np.empty((s.workers, k, k))
    for w, kind in enumerate(kinds):
        if kind == "spam":
            out[w] = 1.0 / k
            continue
        m = np.full((k, k), (1 - acc[w]) / (k - 1))
        np.fill_diagonal(m, acc[w])
        if kind == "biased":
            favourite = rng.integers(k)
            m = 0.5 * m
            m[:, favourite] += 0.5
        out[w] = m
    return out


def simulate(rng: np.random.Generator, s: Scenario):
    k = s.classes
    prior = 1.0 / np.arange(1, k + 1) ** s.skew
    prior /= prior.sum()
    truth = rng.choice(k, size=s.objects, p=prior)
    confusion = worker_confusions(rng, s)
    chosen = np.argsort(rng.random((s.objects, s.workers)), axis=1)[:, : s.per_object]
    obj = np.repeat(np.arange(s.objects), s.per_object)
    worker = chosen.reshape(-1)
    cumulative = confusion[worker, truth[obj]].cumsum(axis=1)
    answer = (rng.random(obj.size)[:, None] > cumulative).sum(axis=1).clip(0, k - 1)
    if s.lookalike and k > 2:
        # Classes in pairs (0, 1), (2, 3), ...; an odd last class takes 0 for its look-alike (one way only).
        lookalike = np.arange(k) ^ 1
        lookalike[lookalike >= k] = 0
        spammer = np.all(np.isclose(confusion, 1.0 / k), axis=(1, 2))  # spammers stay uninformative
        moved = (answer != truth[obj]) & ~spammer[worker] & (rng.random(obj.size) < s.lookalike)
        answer = np.where(moved, lookalike[truth[obj]], answer)
    return truth, obj, worker, answer


def as_objects(obj, worker, answer, names, offset=0):
    objects: dict[str, list[dict]] = {}
    for o, w, a in zip(obj.tolist(), worker.tolist(), answer.tolist(), strict=True):
        objects.setdefault(str(o + offset), []).append(
            {"workerId": f"w{w:03d}", "answerContent": {"crowd-image-classifier": {"label": names[a]}}}
        )
    return objects


def run_ours(objects, names, method, prior=None):
    result = consolidate(
        "image-classification", objects, label_attribute_name="lan", job_name="sim", categories=names,
        method=method, prior=prior,
    )  # fmt: skip
    labels = {o.dataset_object_id: o.label for o in result.objects}
    confidence = {o.dataset_object_id: o.metadata["confidence"] for o in result.objects}
    return labels, confidence, result.quality


def run_even_errors(obj, worker, answer, s: Scenario):
    """Our Dawid-Skene with a worker's errors spread evenly (the plain one-coin prior): the ablation."""
    votes = sl.Votes.build(obj, worker, answer, s.objects, s.workers, s.classes)
    out = sl.dawid_skene(votes, crowd_error_prior=None)
    confidence = np.round(out.confidence, 2)  # as the metadata carries it
    return {str(i): int(c) for i, c in enumerate(out.labels)}, {str(i): float(c) for i, c in enumerate(confidence)}


def run_crowdkit(obj, worker, answer, method):
    frame = pd.DataFrame({"task": obj, "worker": worker, "label": answer})
    model = CkMajorityVote() if method == "crowdkit-mv" else CkDawidSkene(n_iter=100)
    model.fit(frame)
    probas = model.probas_
    labels = probas.idxmax(axis=1)
    return {str(t): int(v) for t, v in labels.items()}, {str(t): float(p) for t, p in probas.max(axis=1).items()}


def score(truth, labels, confidence):
    ids = sorted(labels, key=int)
    correct = np.array([labels[i] == truth[int(i)] for i in ids])
    conf = np.array([confidence[i] for i in ids])
    return correct.mean(), expected_calibration_error(conf, correct)


def classification_table(seeds: int, scale: float) -> None:
    methods = list(OURS) + ["ds-even-errors"] + (["crowdkit-mv", "crowdkit-ds"] if HAVE_CROWDKIT else [])
    header = f"{'scenario':<26}" + "".join(f"{SHORT[m]:>9}" for m in methods)
    print("Accuracy (share of objects labelled correctly), mean over", seeds, "seeds")
    rows_acc, rows_ece, seconds = [], [], {m: 0.0 for m in methods}
    means: dict[str, list[float]] = {m: [] for m in methods}
    ece_means: dict[str, list[float]] = {m: [] for m in methods}
    for s in SCENARIOS:
        s = Scenario(**{**s.__dict__, "objects": max(200, int(s.objects * scale))})
        acc = {m: [] for m in methods}
        ece = {m: [] for m in methods}
        for seed in range(seeds):
            rng = np.random.default_rng(1000 + seed)
            truth, obj, worker, answer = simulate(rng, s)
            names = [f"class-{c:02d}" for c in range(s.classes)]
            objects = as_objects(obj, worker, answer, names)
            for m in methods:
                start = time.perf_counter()
                if m.startswith("crowdkit"):
                    labels, conf = run_crowdkit(obj, worker, answer, m)
                elif m == "ds-even-errors":
                    labels, conf = run_even_errors(obj, worker, answer, s)
                else:
                    labels, conf, _ = run_ours(objects, names, m)
                seconds[m] += time.perf_counter() - start
                a, e = score(truth, labels, conf)
                acc[m].append(a)
                ece[m].append(e)
        rows_acc.append(f"{s.name:<26}" + "".join(f"{np.mean(acc[m]):>9.4f}" for m in methods))
        rows_ece.append(f"{s.name:<26}" + "".join(f"{np.mean(ece[m]):>9.4f}" for m in methods))
        for m in methods:
            means[m].append(np.mean(acc[m]))
            ece_means[m].append(np.mean(ece[m]))
    print(header)
    print("\n".join(rows_acc))
    print(f"{'mean':<26}" + "".join(f"{np.mean(means[m]):>9.4f}" for m in methods))
    print("\nECE of the reported confidence (lower is better)")
    print(header)
    print("\n".join(rows_ece))
    print(f"{'mean':<26}" + "".join(f"{np.mean(ece_means[m]):>9.4f}" for m in methods))
    print("\nWall time of all runs (s): " + ", ".join(f"{SHORT[m]} {seconds[m]:.1f}" for m in methods))
    print("(DS-even calls the algorithm directly: its time leaves out consolidate()'s answer parsing)")
    if not HAVE_CROWDKIT:
        print("(crowd-kit not importable here: its columns are skipped)")


def batched_table(seeds: int, scale: float) -> None:
    """One job in 10 batches: worker quality carried between batches (prior) or not."""
    base = next(s for s in SCENARIOS if s.name == "100w 20c mixed")
    s = Scenario(**{**base.__dict__, "objects": max(500, int(base.objects * scale))})
    print(f"\nOne job of {s.objects} objects ({s.name}) consolidated in 10 batches: accuracy")
    print(f"{'method':<26}{'no state':>10}{'state':>10}{'one batch':>11}")
    for m in ("dawid-skene", "aws-modified-dawid-skene", "weighted-vote"):
        results = {"none": [], "state": [], "whole": []}
        for seed in range(seeds):
            rng = np.random.default_rng(2000 + seed)
            truth, obj, worker, answer = simulate(rng, s)
            names = [f"class-{c:02d}" for c in range(s.classes)]
            splits = np.array_split(np.arange(s.objects), 10)
            for mode in ("none", "state"):
                labels, prior = {}, None
                for part in splits:
                    pick = np.isin(obj, part)
                    got, _, quality = run_ours(
                        as_objects(obj[pick], worker[pick], answer[pick], names), names, m, prior
                    )
                    labels.update(got)
                    prior = quality.to_json() if mode == "state" else None
                results[mode].append(np.mean([labels[i] == truth[int(i)] for i in labels]))
            got, _, _ = run_ours(as_objects(obj, worker, answer, names), names, m)
            results["whole"].append(np.mean([got[i] == truth[int(i)] for i in got]))
        r = {k: np.mean(v) for k, v in results.items()}
        print(f"{SHORT[m]:<26}{r['none']:>10.4f}{r['state']:>10.4f}{r['whole']:>11.4f}")


def birds_table() -> None:
    doc = json.loads(BIRDS.read_text())
    lan = doc["label_attribute_name"]
    lines = {str(item["line_index"]): item["line"] for item in doc["output_lines"]}
    categories = [f"unseen-{i}" for i in range(10)]
    for line in lines.values():
        categories[line[lan]] = line[f"{lan}-metadata"]["class-name"]
    objects = {oid: item["document"]["answers"] for oid, item in doc["worker_responses"].items()}
    truth = {oid: t["true_label"] for oid, t in doc["true_labels"].items()}
    print("\nReal birds job, iteration 1 (10 objects, 5 workers each)")
    print(f"{'method':<26}{'=GT label':>10}{'accuracy':>10}{'ECE':>8}   confidences")
    gt_conf = [lines[o][f"{lan}-metadata"]["confidence"] for o in objects]
    gt_hit = [lines[o][f"{lan}-metadata"]["class-name"] == truth[o] for o in objects]
    print(
        f"{'Ground Truth itself':<26}{len(objects):>7}/10{np.mean(gt_hit):>10.2f}"
        f"{expected_calibration_error(gt_conf, gt_hit):>8.3f}   {sorted(set(gt_conf))}"
    )
    for m in OURS:
        r = consolidate("image-classification", objects, label_attribute_name=lan, job_name=doc["job_name"],
                        categories=categories, method=m)  # fmt: skip
        same = sum(o.label == lines[o.dataset_object_id][lan] for o in r.objects)
        conf = [o.metadata["confidence"] for o in r.objects]
        hit = [o.metadata["class-name"] == truth[o.dataset_object_id] for o in r.objects]
        print(
            f"{SHORT[m]:<26}{same:>7}/10{np.mean(hit):>10.2f}{expected_calibration_error(conf, hit):>8.3f}"
            f"   {sorted(set(conf))}"
        )


def box_table(seeds: int, images: int) -> None:
    """5 workers per image: jitter 4% of the box size, 10% of boxes sloppy (25%), 10% missed, 5% spurious."""
    print(f"\nBounding boxes: {images} images x {seeds} seeds, 5 workers, 1-4 true boxes per image")
    print(f"{'method':<26}{'precision':>10}{'recall':>8}{'mean IoU':>10}")
    for method in METHODS[TaskType.OBJECT_DETECTION]:
        tp = fp = fn = 0
        ious = []
        for seed in range(seeds):
            rng = np.random.default_rng(3000 + seed)
            objects, truths = {}, {}
            for i in range(images):
                n = rng.integers(1, 5)
                xy = rng.uniform(0, 400, (n, 2))
                wh = rng.uniform(30, 200, (n, 2))
                truths[str(i)] = np.hstack([xy, xy + wh])
                answers = []
                for w in range(5):
                    boxes = []
                    for t in truths[str(i)]:
                        if rng.random() < 0.1:
                            continue
                        size = np.array([t[2] - t[0], t[3] - t[1]] * 2)
                        sigma = 0.25 if rng.random() < 0.1 else 0.04
                        x1, y1, x2, y2 = t + rng.normal(0, sigma, 4) * size
                        boxes.append({"label": "thing", "left": x1, "top": y1, "width": x2 - x1, "height": y2 - y1})
                    if rng.random() < 0.05:
                        x, y = rng.uniform(0, 500, 2)
                        boxes.append({"label": "thing", "left": x, "top": y, "width": 40, "height": 40})
                    answers.append({"workerId": f"w{w}", "answerContent": {"boundingBox": {"boundingBoxes": boxes}}})
                objects[str(i)] = answers
            r = consolidate("object-detection", objects, label_attribute_name="b", job_name="b", method=method)
            for o in r.objects:
                fused = np.array(
                    [
                        [a["left"], a["top"], a["left"] + a["width"], a["top"] + a["height"]]
                        for a in o.label["annotations"]
                    ],
                    float,
                ).reshape(-1, 4)
                truth = truths[o.dataset_object_id]
                iou = box_iou(fused, truth)
                matched_truth = set()
                for row in iou:
                    j = int(row.argmax()) if row.size else -1
                    if j >= 0 and row[j] >= 0.5 and j not in matched_truth:
                        matched_truth.add(j)
                        tp += 1
                        ious.append(row[j])
                    else:
                        fp += 1
                fn += len(truth) - len(matched_truth)
        print(f"{method:<26}{tp / (tp + fp):>10.4f}{tp / (tp + fn):>8.4f}{np.mean(ious):>10.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smaller crowds, one seed")
    args = parser.parse_args()
    seeds, scale = (1, 0.25) if args.quick else (args.seeds, 1.0)
    crowdkit = "yes" if HAVE_CROWDKIT else "no"
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, crowd-kit {crowdkit}\n")
    classification_table(seeds, scale)
    batched_table(seeds, scale)
    birds_table()
    box_table(seeds, 200 if args.quick else 1000)


if __name__ == "__main__":
    main()
