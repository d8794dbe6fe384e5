"""The numbers behind every section of the report (no plotting here, so each can be unit-tested).

Ground Truth's labels are the newest manifest's (the final one, else the highest intermediate), read
with the pipeline's own scan and detector; objects not in it yet take the labels so far (`--labels`),
then Ground Truth's consolidation-response files. gtproc's labels are the worker responses consolidated
iteration by iteration with the worker quality carried over, as `gtproc consolidate` does.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from gtproc.domain import consolidation as cons
from gtproc.domain.comparison import Agreement, iou, same_label
from gtproc.domain.consolidation.answers import boxes_of, entities_of, multi_labels_of, single_label_of
from gtproc.domain.consolidation.limits import coordinate
from gtproc.domain.consolidation.quality import QualityState, expected_calibration_error
from gtproc.domain.detection import Detector, FailedFinding, InvalidFinding, JobTally, LabeledFinding, class_names
from gtproc.domain.groundtruth import MULTILABEL_TYPES, SINGLE_LABEL_TYPES, TaskType, task_type_of
from gtproc.domain.identity import decimal_index
from gtproc.domain.jsontext import finite_number
from gtproc.domain.ledger import Ledger
from gtproc.domain.scan import scan_lines
from gtproc.report.job import Answer, JobFiles, parse_time

BINS = 10  # equal-width confidence bins, the same as expected_calibration_error's
WILSON_Z = 1.96  # 95% intervals
DISAGREEMENTS_SHOWN = 50
LEAST_CONFIDENT_SHOWN = 20
FIRST_LINES_SHOWN = 3
FLAGGED_MIN_ANSWERS = 5
CREATION_DATE = "1970-01-01T00:00:00.000000"  # gtproc's labels here are not published: no clock is read


class ReportError(Exception):
    """Bad input that stops the report (a one-line message, exit 2)."""


@dataclass
class ObjectRow:
    oid: str
    source: str | None = None
    status: str | None = None  # labeled / failed / unlabeled / invalid, from Ground Truth's side
    human: bool | None = None
    iteration: int | None = None  # the iteration that labeled it
    gt: tuple[Any, dict[str, Any]] | None = None
    ours: tuple[Any, dict[str, Any]] | None = None
    answers: list[Answer] = field(default_factory=list)
    failure_reason: str | None = None
    agree: Agreement | None = None  # None: not compared (ours or Ground Truth's label missing)
    time: datetime | None = None


@dataclass
class WorkerRow:
    worker_id: str
    answers: int
    accuracy: float  # estimated: the model's (Dawid-Skene family), else smoothed agreement
    low: float
    high: float
    agreement: float  # share (or mean overlap) of the answers agreeing with gtproc's label
    median_seconds: float | None
    truth_accuracy: float | None = None  # against --truth, on the objects it covers
    truth_answers: int = 0
    flagged: bool = False
    confusion: np.ndarray | None = None  # row-normalised counts[gtproc's label, answered]


@dataclass
class Calibration:
    n: int
    accuracy: float
    ece: float
    bins: list[tuple[int, float, float]]  # (count, mean confidence, accuracy) per bin; empty bins (0, nan, nan)


@dataclass
class Report:
    job: str
    where: str
    task_type: str | None  # groundtruth/... or None when nothing tells
    attribute: str
    method: str | None
    rows: dict[str, ObjectRow]
    tally: JobTally | None
    manifest: str | None
    invalid: list[tuple[int, str, str]]  # (line, code, message)
    unusable: list[tuple[str, str]]
    consolidation_failures: list[tuple[str, str]]
    consolidation_error: str | None
    quality: QualityState | None
    classes: tuple[str, ...]
    estimated: dict[str, float]
    iterations: list[int]
    truth: dict[str, str] | None = None

    @property
    def empty(self) -> bool:
        return not self.rows and not self.invalid and not self.unusable

    @property
    def single_label(self) -> bool:
        return _known(self.task_type) in SINGLE_LABEL_TYPES

    @property
    def kind(self) -> TaskType | None:
        return _known(self.task_type)


def _known(type_string: str | None) -> TaskType | None:
    return task_type_of(type_string) if type_string else None


# --- building the rows --------------------------------------------------------------------------


def analyse(job: JobFiles, method: str | None = None, truth: Mapping[str, str] | None = None) -> Report:
    rows: dict[str, ObjectRow] = {}

    def row(oid: str) -> ObjectRow:
        found = rows.get(oid)
        if found is None:
            found = rows[oid] = ObjectRow(oid)
        return found

    tally, invalid, newest, attribute = _read_manifests(job, row)
    for item in job.labels_so_far:
        r = row(str(item["datasetObjectId"]))
        if r.status is None:
            r.source = item.get("sourceRef") or item.get("source")
            r.status = item.get("status") or "labeled"
            if r.status == "failed":
                r.failure_reason = str(item.get("failureReason") or "")
            else:
                r.gt = (item.get("label"), item.get("metadata") or {})
                r.human = bool(item.get("humanAnnotated", True))
            attribute = attribute or item.get("labelAttributeName")
            if isinstance(item.get("iteration"), int) and r.iteration is None:
                r.iteration = item["iteration"]
    for oid, (iteration, content) in job.ground_truth.items():
        r = row(oid)
        pair = _pair_of(content)
        if r.gt is None and r.status is None and pair is not None:
            attribute = attribute or pair[0]
            r.gt, r.status, r.human = (pair[1], pair[2]), "labeled", True
            r.iteration = iteration
    for iteration, objects in job.responses.items():
        for oid, answers in objects.items():
            r = row(oid)
            r.answers = answers
            if r.human is not False:  # an auto-labeled object keeps the manifest's story
                r.iteration = iteration
    attribute = attribute or job.name
    task_type = _task_type(rows)
    ours, quality, estimated, failures, error, chosen, classes, inferred = _consolidate(
        job, attribute, task_type, method
    )
    task_type = task_type or inferred
    for oid, pair in ours.items():
        rows[oid].ours = pair
    for r in rows.values():
        if r.ours is not None and r.gt is not None and task_type:
            r.agree = same_label(task_type, r.ours, r.gt)
        r.time = _label_time(r)
    return Report(
        job=job.name,
        where=job.where,
        task_type=task_type,
        attribute=attribute,
        method=chosen,
        rows=dict(sorted(rows.items(), key=lambda item: _oid_key(item[0]))),
        tally=tally,
        manifest=newest,
        invalid=invalid,
        unusable=job.unusable,
        consolidation_failures=failures,
        consolidation_error=error,
        quality=quality,
        classes=classes,
        estimated=estimated,
        iterations=sorted(job.responses),
        truth=dict(truth) if truth is not None else None,
    )


def _oid_key(oid: str) -> tuple[int, str]:
    index = decimal_index(oid)
    return (index, "") if index is not None else (1 << 62, oid)


def _read_manifests(job: JobFiles, row: Any) -> tuple[JobTally | None, list[tuple[int, str, str]], str | None, str]:
    """The newest manifest into the rows; earlier intermediate ones only tell which iteration labeled what."""
    manifests = [m for m in job.manifests if m.data.strip()]
    if not manifests:
        return None, [], None, ""
    newest = manifests[-1]  # a 0-byte rewrite is no snapshot (it is listed with the unusable files)
    first_labeled: dict[str, int] = {}
    for manifest in manifests[:-1]:
        if manifest.iteration is None:
            continue
        earlier = Detector(job.name, Ledger())
        for line in scan_lines([manifest.data]):
            for finding in earlier.observe(line):
                if isinstance(finding, LabeledFinding):
                    first_labeled.setdefault(finding.object.dataset_object_id, manifest.iteration)
    tally = JobTally()
    detector = Detector(job.name, Ledger(), tally)
    invalid: list[tuple[int, str, str]] = []
    attribute = ""
    for line in scan_lines([newest.data]):
        for finding in detector.observe(line):
            if isinstance(finding, InvalidFinding):
                invalid += [(e.line, e.code, e.message) for e in finding.errors]
                r = row(str(line.index))
                r.status = "invalid"
                continue
            obj = finding.object
            r = row(obj.dataset_object_id)
            r.source = obj.source_ref or obj.source
            attribute = attribute or finding.key.attribute
            if isinstance(finding, FailedFinding):
                r.status, r.failure_reason = "failed", obj.failure_reason
            else:
                r.status, r.gt, r.human = "labeled", (obj.label, obj.metadata), obj.human_annotated
                r.iteration = first_labeled.get(obj.dataset_object_id, newest.iteration)
    return tally, invalid, newest.where, attribute


def _pair_of(content: dict[str, Any]) -> tuple[str, Any, dict[str, Any]] | None:
    for key, value in content.items():
        if not key.endswith("-metadata") and isinstance(content.get(f"{key}-metadata"), dict):
            return key, value, content[f"{key}-metadata"]
    return None


def _task_type(rows: Mapping[str, ObjectRow]) -> str | None:
    seen = Counter(
        r.gt[1].get("type") for r in rows.values() if r.gt is not None and isinstance(r.gt[1].get("type"), str)
    )
    return seen.most_common(1)[0][0] if seen else None


def _consolidate(job: JobFiles, attribute: str, task_type: str | None, method: str | None):
    """gtproc's labels: each iteration consolidated with the quality carried from the ones before."""
    ours: dict[str, tuple[Any, dict[str, Any]]] = {}
    failures: list[tuple[str, str]] = []
    estimated: dict[str, float] = {}
    quality = None
    classes: tuple[str, ...] = ()
    if not job.responses:
        return ours, quality, estimated, failures, None, method, classes, None
    task: str | None = None
    if task_type is not None:
        name = task_type.removeprefix("groundtruth/")
        if name not in {t.value for t in cons.METHODS}:
            return ours, quality, estimated, failures, f"gtproc does not consolidate {task_type}", None, classes, None
        task = name
    chosen = method
    for iteration, objects in job.responses.items():
        batch = {oid: [a.raw for a in answers] for oid, answers in objects.items()}
        try:
            result = cons.consolidate(
                task,
                batch,
                label_attribute_name=attribute,
                job_name=job.name,
                method=method,
                prior=quality,
                creation_date=CREATION_DATE,
                mask_uri=lambda oid: f"mask://{oid}",
            )
        except ValueError as error:
            if method is not None and "is not one of" in str(error):
                raise ReportError(str(error)) from None
            return ours, quality, estimated, failures, f"iteration {iteration}: {error}", chosen, classes, None
        task = result.task_type.value
        chosen = result.method
        quality, classes = result.quality, result.classes
        for obj in result.objects:
            ours[obj.dataset_object_id] = (obj.label, obj.metadata)
        failures += [(f.dataset_object_id, f.reason) for f in result.failures]
        for figures in result.workers:
            if figures.estimated_accuracy is not None:
                estimated[figures.worker_id] = figures.estimated_accuracy
    return ours, quality, estimated, failures, None, chosen, classes, f"groundtruth/{task}" if task else None


def _label_time(r: ObjectRow) -> datetime | None:
    """When the object got its label: its last worker's submission, else the label's creation-date."""
    if r.status not in (None, "labeled"):
        return None
    times = [t for a in r.answers if a.submitted and (t := parse_time(a.submitted)) is not None]
    if times:
        return max(times)
    if r.gt is not None:
        created = r.gt[1].get("creation-date")
        return parse_time(created) if isinstance(created, str) else None
    return None


# --- label helpers ------------------------------------------------------------------------------


def label_names(type_string: str | None, pair: tuple[Any, dict[str, Any]] | None) -> list[str]:
    if pair is None or not type_string:
        return []
    try:
        return [str(name) for name in class_names(type_string, pair[0], pair[1])]
    except (KeyError, TypeError, AttributeError):
        return []


def confidences(pair: tuple[Any, dict[str, Any]] | None) -> list[float]:
    """Every confidence a label carries: one per class, picked class, box or entity."""
    if pair is None:
        return []
    metadata = pair[1]
    values: list[Any] = []
    if "confidence" in metadata:
        values = [metadata["confidence"]]
    elif isinstance(metadata.get("confidence-map"), dict):
        values = list(metadata["confidence-map"].values())
    elif isinstance(metadata.get("objects"), list):
        values = [o.get("confidence") for o in metadata["objects"] if isinstance(o, dict)]
    elif isinstance(metadata.get("entities"), list):
        values = [e.get("confidence") for e in metadata["entities"] if isinstance(e, dict)]
    elif isinstance(metadata.get("internal-color-map"), dict):
        values = [v.get("confidence") for v in metadata["internal-color-map"].values() if isinstance(v, dict)][:1]
    return [v for v in map(finite_number, values) if v is not None]


def label_confidence(pair: tuple[Any, dict[str, Any]] | None) -> float | None:
    """One figure per label: its lowest confidence (an image is as sure as its least sure box)."""
    values = confidences(pair)
    return min(values) if values else None


def describe(type_string: str | None, pair: tuple[Any, dict[str, Any]] | None) -> str:
    if pair is None:
        return ""
    kind = _known(type_string)
    names = label_names(type_string, pair)
    if kind in SINGLE_LABEL_TYPES:
        return names[0] if names else ""
    if kind in MULTILABEL_TYPES:
        return ", ".join(sorted(names)) or "(none)"
    if kind in (TaskType.OBJECT_DETECTION, TaskType.TEXT_SPAN):
        what = "box" if kind is TaskType.OBJECT_DETECTION else "entity"
        if not names:
            return f"no {what}"
        return ", ".join(f"{n} {name}" for name, n in sorted(Counter(names).items()))
    label = pair[0]
    return label if isinstance(label, str) else ""


def votes(type_string: str | None, answers: Sequence[Answer]) -> str:
    """The workers' answers in a few words: `Goose 3, Duck 2`, or boxes drawn per worker."""
    kind = _known(type_string)
    contents = [a.raw.get("answerContent") for a in answers]
    contents = [c for c in contents if isinstance(c, dict)]
    if kind in SINGLE_LABEL_TYPES:
        counts = Counter(label for c in contents if (label := single_label_of(c)) is not None)
        return ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
    if kind in MULTILABEL_TYPES:
        counts = Counter(name for c in contents for name in (multi_labels_of(c) or []))
        picks = ", ".join(f"{name} {n}" for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        return f"{len(contents)} workers: {picks or 'nothing picked'}"
    if kind is TaskType.OBJECT_DETECTION:
        return "boxes per worker: " + "/".join(str(len((boxes_of(c) or ([], {}))[0])) for c in contents)
    if kind is TaskType.TEXT_SPAN:
        return "entities per worker: " + "/".join(str(len(entities_of(c) or [])) for c in contents)
    return f"{len(contents)} answers"


# --- section numbers ----------------------------------------------------------------------------


def summary(report: Report) -> dict[str, Any]:
    rows = report.rows.values()
    tally = report.tally
    answers = sum(len(r.answers) for r in rows)
    workers = {a.worker_id for r in rows for a in r.answers}
    labeled = [r for r in rows if r.status == "labeled"]
    return {
        "objects": tally.objects if tally is not None else len(report.rows),
        "labeled": len(labeled),
        "human": sum(1 for r in labeled if r.human is not False),
        "auto": sum(1 for r in labeled if r.human is False),
        "failed": sum(1 for r in rows if r.status == "failed"),
        "invalid lines": tally.invalid_lines if tally is not None else 0,
        "workers": len(workers),
        "answers": answers,
        "iterations": len(report.iterations),
        "task type": report.task_type or "unknown",
    }


def progress(rows: Iterable[ObjectRow]) -> tuple[list[datetime], list[str], np.ndarray, str]:
    """Objects labeled per hour (per day past 10 days), stacked by iteration: (starts, series, counts, unit)."""
    dated = [(r.time, "auto" if r.human is False else _iteration_name(r.iteration)) for r in rows if r.time]
    if not dated:
        return [], [], np.zeros((0, 0), np.int64), "hour"
    first = min(t for t, _ in dated).replace(minute=0, second=0, microsecond=0)
    last = max(t for t, _ in dated)
    step = timedelta(hours=1)
    unit = "hour"
    if last - first > timedelta(days=10):
        first, step, unit = first.replace(hour=0), timedelta(days=1), "day"
    slots = int((last - first) / step) + 1
    series = sorted({name for _, name in dated}, key=_series_key)
    counts = np.zeros((len(series), slots), np.int64)
    position = {name: i for i, name in enumerate(series)}
    for moment, name in dated:
        counts[position[name], int((moment - first) / step)] += 1
    return [first + step * i for i in range(slots)], series, counts, unit


def _iteration_name(iteration: int | None) -> str:
    return f"iteration {iteration}" if iteration is not None else "final manifest"


def _series_key(name: str) -> tuple[int, int]:
    if name.startswith("iteration "):
        return (0, int(name.split()[1]))
    return (1, 0) if name == "final manifest" else (2, 0)


def class_balance(report: Report) -> tuple[list[str], list[int], list[int]]:
    """(classes, gtproc's count, Ground Truth's count): per object, picked class, box or entity."""
    ours: Counter[str] = Counter()
    theirs: Counter[str] = Counter()
    for r in report.rows.values():
        ours.update(label_names(report.task_type, r.ours))
        if r.status == "labeled":
            theirs.update(label_names(report.task_type, r.gt))
    classes = sorted(set(ours) | set(theirs), key=lambda c: (-(ours[c] + theirs[c]), c))
    return classes, [ours[c] for c in classes], [theirs[c] for c in classes]


def histogram(values: Sequence[float], bins: int = BINS) -> np.ndarray:
    """Counts in equal-width bins over [0, 1], right-closed like the ECE (0 goes to the first bin)."""
    conf = np.asarray(values, np.float64)
    if conf.size == 0:
        return np.zeros(bins, np.int64)
    index = np.clip(np.ceil(conf * bins - 1e-9).astype(np.int64) - 1, 0, bins - 1)
    return np.bincount(index, minlength=bins)


def calibration(confidence: Sequence[float], correct: Sequence[bool], bins: int = BINS) -> Calibration:
    conf = np.asarray(confidence, np.float64)
    hit = np.asarray(correct, np.float64)
    n = int(conf.size)
    if n == 0:
        return Calibration(0, math.nan, math.nan, [(0, math.nan, math.nan)] * bins)
    index = np.clip(np.ceil(conf * bins - 1e-9).astype(np.int64) - 1, 0, bins - 1)
    total = np.bincount(index, minlength=bins)
    conf_sum = np.bincount(index, weights=conf, minlength=bins)
    hit_sum = np.bincount(index, weights=hit, minlength=bins)
    per_bin = [
        (int(total[b]), float(conf_sum[b] / total[b]), float(hit_sum[b] / total[b]))
        if total[b]
        else (0, math.nan, math.nan)
        for b in range(bins)
    ]
    return Calibration(n, float(hit.mean()), expected_calibration_error(conf, hit, bins), per_bin)


def against_truth(report: Report) -> dict[str, Calibration] | None:
    """Accuracy, ECE and reliability of gtproc's and Ground Truth's labels on the objects --truth covers."""
    if report.truth is None or not report.single_label:
        return None
    out = {}
    for side in ("gtproc", "Ground Truth"):
        conf, hit = [], []
        for oid, true_class in report.truth.items():
            r = report.rows.get(oid)
            pair = None if r is None else (r.ours if side == "gtproc" else r.gt)
            if pair is None or (side == "Ground Truth" and r.status != "labeled"):
                continue
            value = label_confidence(pair)
            names = label_names(report.task_type, pair)
            if value is None or not names:
                continue
            conf.append(value)
            hit.append(names[0] == true_class)
        out[side] = calibration(conf, hit)
    return out


def wilson(p: float, n: int, z: float = WILSON_Z) -> tuple[float, float]:
    """The Wilson score interval of a proportion p seen over n trials."""
    if n <= 0:
        return 0.0, 1.0
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def workers(report: Report) -> list[WorkerRow]:
    """One row per worker, most answers first; flagged: clearly below the crowd (interval under its median)."""
    quality = report.quality
    if quality is None or not quality.worker_ids:
        return []
    smoothed = quality.worker_accuracy()
    seconds: dict[str, list[float]] = defaultdict(list)
    truth_hits: dict[str, list[bool]] = defaultdict(list)
    for r in report.rows.values():
        true_class = report.truth.get(r.oid) if report.truth is not None and report.single_label else None
        for a in r.answers:
            if a.seconds is not None:
                seconds[a.worker_id].append(a.seconds)
            if true_class is not None:
                content = a.raw.get("answerContent")
                label = single_label_of(content) if isinstance(content, dict) else None
                if label is not None:
                    truth_hits[a.worker_id].append(label == true_class)
    out = []
    for i, wid in enumerate(quality.worker_ids):
        n = int(quality.answered[i])
        if n == 0:
            continue
        accuracy = report.estimated.get(wid, float(smoothed[i]))
        low, high = wilson(accuracy, n)
        confusion = None
        if quality.confusion is not None:
            counts = quality.confusion[i].astype(np.float64)
            sums = counts.sum(axis=1, keepdims=True)
            confusion = np.divide(counts, sums, out=np.full_like(counts, np.nan), where=sums > 0)
        hits = truth_hits.get(wid, [])
        out.append(
            WorkerRow(
                worker_id=wid,
                answers=n,
                accuracy=accuracy,
                low=low,
                high=high,
                agreement=float(quality.agreement[i] / n),
                median_seconds=float(np.median(seconds[wid])) if seconds.get(wid) else None,
                truth_accuracy=float(np.mean(hits)) if hits else None,
                truth_answers=len(hits),
                confusion=confusion,
            )
        )
    typical = float(np.median([w.accuracy for w in out])) if out else 0.0
    for w in out:
        w.flagged = w.answers >= FLAGGED_MIN_ANSWERS and w.high < typical
    return sorted(out, key=lambda w: (-w.answers, w.worker_id))


def crowd_confusion(quality: QualityState | None) -> np.ndarray | None:
    """Share of the crowd's answers per (gtproc's label, answered class), rows summing to 1."""
    if quality is None or quality.confusion is None or not quality.worker_ids:
        return None
    counts = quality.confusion.sum(axis=0).astype(np.float64)
    sums = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, sums, out=np.zeros_like(counts), where=sums > 0)


def to_look_at(report: Report) -> tuple[list[ObjectRow], int, list[ObjectRow]]:
    """(disagreements shown, disagreements in all, least confident): the least sure first in both."""

    def sureness(r: ObjectRow) -> float:
        value = label_confidence(r.ours)
        return 2.0 if value is None else value

    differ = (r for r in report.rows.values() if r.agree is Agreement.DIFFERENT)
    disagree = sorted(differ, key=lambda r: (sureness(r), r.oid))
    rated = [r for r in report.rows.values() if label_confidence(r.ours) is not None]
    least = sorted(rated, key=lambda r: (sureness(r), _oid_key(r.oid)))[:LEAST_CONFIDENT_SHOWN]
    return disagree[:DISAGREEMENTS_SHOWN], len(disagree), least


def invalid_by_code(invalid: Sequence[tuple[int, str, str]]) -> list[tuple[str, int, list[tuple[int, str]]]]:
    """(code, invalid lines with it, first lines with their message), the commonest code first."""
    lines: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line, code, message in invalid:
        if not lines[code] or lines[code][-1][0] != line:
            lines[code].append((line, message))
    return sorted(
        ((code, len(found), found[:FIRST_LINES_SHOWN]) for code, found in lines.items()), key=lambda c: (-c[1], c[0])
    )


def failures_by_reason(rows: Iterable[ObjectRow]) -> list[tuple[str, list[str]]]:
    reasons: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.status == "failed":
            reasons[r.failure_reason or "(no reason given)"].append(r.oid)
    return sorted(reasons.items(), key=lambda item: (-len(item[1]), item[0]))


def boxes_per_image(report: Report) -> tuple[list[int], list[int]]:
    """Boxes in gtproc's and in Ground Truth's label of each labeled image."""
    ours = [len(label_names(report.task_type, r.ours)) for r in report.rows.values() if r.ours is not None]
    theirs = [len(label_names(report.task_type, r.gt)) for r in report.rows.values() if r.status == "labeled" and r.gt]
    return ours, theirs


def _box_tuple(box: Mapping[str, Any]) -> tuple[str, float, float, float, float] | None:
    # Read as consolidation reads a box's coordinates, so both see the same boxes.
    left, top, width, height = (coordinate(box.get(k)) for k in ("left", "top", "width", "height"))
    if left is None or top is None or width is None or height is None:
        return None
    return (str(box.get("label")), left, top, width, height)


def _matched_overlap(a: list[Any], b: list[Any], score: Any) -> float:
    """Greedy one-to-one matching by score; matched scores summed over the larger count (1 when both empty)."""
    if not a and not b:
        return 1.0
    pairs = sorted(((score(x, y), i, j) for i, x in enumerate(a) for j, y in enumerate(b)), reverse=True)
    used_a, used_b, total = set(), set(), 0.0
    for value, i, j in pairs:
        if value <= 0 or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        total += value
    return total / max(len(a), len(b))


def _box_score(x: tuple[str, float, float, float, float], y: tuple[str, float, float, float, float]) -> float:
    return iou(x, y) if x[0] == y[0] else 0.0


def pairwise_agreement(items_per_worker: Sequence[list[Any]], score: Any) -> float | None:
    """Mean matched overlap over every pair of workers of one object; None with fewer than two."""
    n = len(items_per_worker)
    if n < 2:
        return None
    values = [
        _matched_overlap(items_per_worker[i], items_per_worker[j], score) for i in range(n) for j in range(i + 1, n)
    ]
    return float(np.mean(values))


def box_agreement(report: Report) -> list[float]:
    """Per image, the workers' pairwise IoU agreement (same-class boxes matched one to one)."""
    out = []
    for r in report.rows.values():
        per_worker = []
        for a in r.answers:
            content = a.raw.get("answerContent")
            found = boxes_of(content) if isinstance(content, dict) else None
            if found is not None:
                per_worker.append([t for box in found[0] if (t := _box_tuple(box)) is not None])
        value = pairwise_agreement(per_worker, _box_score)
        if value is not None:
            out.append(value)
    return out


def _span_score(x: tuple[int, int, str], y: tuple[int, int, str]) -> float:
    if x[2] != y[2]:
        return 0.0
    inter = min(x[1], y[1]) - max(x[0], y[0])
    union = max(x[1], y[1]) - min(x[0], y[0])
    return inter / union if inter > 0 and union > 0 else 0.0


def span_agreement(report: Report) -> list[float]:
    """Per text, the workers' pairwise span agreement (same-label spans matched one to one by overlap)."""
    out = []
    for r in report.rows.values():
        per_worker = []
        for a in r.answers:
            content = a.raw.get("answerContent")
            found = entities_of(content) if isinstance(content, dict) else None
            if found is None:
                continue
            spans = []
            for e in found:
                start, end = e.get("startOffset"), e.get("endOffset")
                if isinstance(start, int) and isinstance(end, int):
                    spans.append((start, end, str(e.get("label"))))
            per_worker.append(spans)
        value = pairwise_agreement(per_worker, _span_score)
        if value is not None:
            out.append(value)
    return out


def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
