"""consolidate(): worker answers of a batch -> labels in Ground Truth's own output shapes."""

from __future__ import annotations

import base64
import binascii
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
import numpy as np

from gtproc.domain.consolidation import answers as ans
from gtproc.domain.consolidation import shapes as shp
from gtproc.domain.consolidation import single_label as sl
from gtproc.domain.consolidation.limits import DEFAULT_LIMITS, InputTooLarge, Limits, coordinate
from gtproc.domain.consolidation.model import (
    BOXES,
    DEFAULT_CREATION_DATE,
    MULTI_LABEL,
    SEGMENTATION,
    SINGLE_LABEL,
    SPANS,
    ConsolidationResult,
    ObjectFailure,
    ObjectResult,
    TaskType,
    UnusedAnswer,
    WorkerAnswer,
    WorkerFigures,
)
from gtproc.domain.consolidation.png import PngError, decode_png
from gtproc.domain.consolidation.quality import QualityState, load_state
from gtproc.domain.consolidation.segmentation import (
    BACKGROUND,
    BACKGROUND_COLOR,
    DEFAULT_PALETTE,
    class_mask,
    consolidate_masks,
    parse_hex_color,
)
from gtproc.domain.groundtruth import CONSOLIDATED_TYPES, metadata_job_name

DAWID_SKENE = "dawid-skene"
DAWID_SKENE_CLASSIC = "dawid-skene-classic"
DAWID_SKENE_TEMPERED = "dawid-skene-tempered"
DAWID_SKENE_MIXTURE = "dawid-skene-mixture"
AWS_MODIFIED_DAWID_SKENE = "aws-modified-dawid-skene"
WEIGHTED_VOTE = "weighted-vote"
MAJORITY_VOTE = "majority-vote"
ANY_VOTE = "any-vote"
IOU_MEDIAN = "iou-cluster-median"
IOU_MEAN = "iou-cluster-mean"
JACCARD_VOTE = "jaccard-cluster-vote"
PIXEL_VOTE = "pixel-vote"

_SINGLE = (
    DAWID_SKENE,
    DAWID_SKENE_CLASSIC,
    AWS_MODIFIED_DAWID_SKENE,
    WEIGHTED_VOTE,
    MAJORITY_VOTE,
    DAWID_SKENE_TEMPERED,
    DAWID_SKENE_MIXTURE,
)
_MULTI = (MAJORITY_VOTE, ANY_VOTE)
_FAMILY_METHODS = {
    SINGLE_LABEL: _SINGLE,
    MULTI_LABEL: _MULTI,
    BOXES: (IOU_MEDIAN, IOU_MEAN),
    SPANS: (JACCARD_VOTE,),
    SEGMENTATION: (PIXEL_VOTE,),
}
METHODS: dict[TaskType, tuple[str, ...]] = {task: _FAMILY_METHODS[task.family] for task in CONSOLIDATED_TYPES}
# Single-label default: Dawid-Skene measured most accurate (benchmarks/consolidation_quality.py).
# Multi-label: "majority" (a class needs at least half the workers); "any" is GT's documented rule.
# Boxes: median fusion measured at least as close to the true box as the mean (same script).
DEFAULT_METHOD: dict[TaskType, str] = {
    task: {
        SINGLE_LABEL: DAWID_SKENE,
        MULTI_LABEL: MAJORITY_VOTE,
        BOXES: IOU_MEDIAN,
        SPANS: JACCARD_VOTE,
        SEGMENTATION: PIXEL_VOTE,
    }[task.family]
    for task in METHODS
}

MaskUri = Callable[[str], str] | Mapping[str, str]
AnswerLike = Mapping[str, Any] | WorkerAnswer | str


job_name_metadata = metadata_job_name  # the name callers of the library know


def _format_date(creation_date: str | datetime | None) -> str:
    if creation_date is None:
        return DEFAULT_CREATION_DATE
    if isinstance(creation_date, datetime):
        return creation_date.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return creation_date


def _confidence(value: float) -> float:
    return round(float(value), 2)


def _resolve_task(task_type: TaskType | str | None, parsed: Mapping[str, list[WorkerAnswer]]) -> TaskType:
    if task_type not in (None, "auto"):
        task = TaskType(task_type)
        if task is TaskType.UNKNOWN:
            raise ValueError("cannot consolidate task type 'unknown'")
        return task
    counts: Counter[TaskType] = Counter()
    for answers in parsed.values():
        for a in answers:
            task = ans.infer_task_type(a.content)
            if task is TaskType.UNKNOWN:
                # No built-in element name: a custom template's answer if an element has a shape we read;
                # an empty or unreadable answer says nothing of the job's type.
                if not any(ans.element_shape(value) is not None for value in a.content.values()):
                    continue
                task = TaskType.CUSTOM
            counts[task] += 1
    if not counts:
        return TaskType.CUSTOM
    # One job has one template: answers of another family are bad input, left out one by one, as long
    # as a strict majority of the answers names the family. Within it, the most common type.
    families = Counter({task.family: 0 for task in counts})
    for task, n in counts.items():
        families[task.family] += n
    family, n = min(families.items(), key=lambda item: (-item[1], item[0]))
    if 2 * n <= sum(counts.values()):
        found = ", ".join(f"{task} ({k} answer{'' if k == 1 else 's'})" for task, k in sorted(counts.items()))
        raise ValueError(f"cannot infer one task type from the answers (found {found})")
    return min((task for task in counts if task.family == family), key=lambda task: (-counts[task], task.value))


def _of_family(parsed: dict[str, list[WorkerAnswer]], task: TaskType, batch: _Batch) -> dict[str, list[WorkerAnswer]]:
    """The answers of this task's family; the others (a built-in element of another family) are skipped."""
    kept: dict[str, list[WorkerAnswer]] = {}
    for oid, answers in parsed.items():
        kept[oid] = []
        for a in answers:
            found = ans.infer_task_type(a.content)
            if found is not TaskType.UNKNOWN and found.family != task.family:
                batch.skip(oid, a.worker_id, f"an answer of {found}, not {task}")
            else:
                kept[oid].append(a)
    return kept


class _Batch:
    """State shared by the family runners: parsed answers, workers, metadata base, quality state."""

    def __init__(
        self,
        task: TaskType,
        method: str,
        parsed: dict[str, list[WorkerAnswer]],
        state: QualityState | None,
        label_attribute_name: str,
        base_metadata: dict[str, Any],
    ) -> None:
        self.task, self.method, self.parsed, self.state = task, method, parsed, state
        self.lan = label_attribute_name
        self.base = base_metadata
        self.failures: list[ObjectFailure] = []
        self.unused: list[UnusedAnswer] = []
        self.unused_shapes: list[UnusedAnswer] = []
        self.limits = DEFAULT_LIMITS

    def fail(self, oid: str, reason: str) -> None:
        self.failures.append(ObjectFailure(oid, reason))

    def skip(self, oid: str, worker_id: str, reason: str) -> None:
        self.unused.append(UnusedAnswer(oid, worker_id, reason))

    def skip_shapes(self, oid: str, worker_id: str, left: int, of: int, what: str, why: str) -> None:
        verb = "has" if left == 1 else "have"
        self.unused_shapes.append(UnusedAnswer(oid, worker_id, f"{left} of its {of} {what} {verb} {why}"))

    def result(
        self,
        oid: str,
        label: Any,
        metadata: dict[str, Any],
        used: Sequence[str],
        agreement: float,
        mask_png: bytes | None = None,
        votes: dict[str, int] | None = None,
    ) -> ObjectResult:
        metadata = {**metadata, **self.base}
        return ObjectResult(
            dataset_object_id=oid,
            label=label,
            metadata=metadata,
            content={self.lan: label, f"{self.lan}-metadata": metadata},
            workers=len(used),
            agreement=float(min(1.0, max(0.0, agreement))),
            method=self.method,
            worker_ids=tuple(used),
            mask_png=mask_png,
            votes=votes,
        )

    def aligned_state(self, classes: Sequence[str], used_workers: set[str], confusion: bool) -> QualityState:
        if len(classes) > self.limits.max_classes:
            limit = self.limits.max_classes
            raise InputTooLarge("too-many-classes", f"{len(classes)} classes, over the limit of {limit}")
        previous = self.state or QualityState.empty(self.task.family, classes, with_confusion=confusion)
        if confusion and previous.confusion is None:
            previous = QualityState.empty(self.task.family, classes, with_confusion=True)
        known = set(previous.worker_ids)
        workers = list(previous.worker_ids) + sorted(used_workers - known)
        return previous.aligned(classes, workers)

    def finish(
        self,
        objects: list[ObjectResult],
        classes: Sequence[str],
        state: QualityState,
        answer_worker: np.ndarray,
        answer_agreement: np.ndarray,
        estimated_accuracy: np.ndarray | None = None,
        confusion_update: np.ndarray | None = None,
        held_out: np.ndarray | None = None,
        mixture: np.ndarray | None = None,
    ) -> ConsolidationResult:
        w = len(state.worker_ids)
        batch_n = np.bincount(answer_worker, minlength=w).astype(np.int64)
        batch_agree = np.bincount(answer_worker, weights=answer_agreement, minlength=w)
        # Stored agreement is in hundredths; round here too so the figures match a reloaded state.
        updated = QualityState(
            family=state.family,
            classes=state.classes,
            worker_ids=state.worker_ids,
            answered=state.answered + batch_n,
            agreement=np.round((state.agreement + batch_agree) * 100) / 100,
            confusion=None if state.confusion is None else state.confusion + confusion_update,
            held_out=state.held_out if held_out is None else _added(state.held_out, held_out),
            mixture=state.mixture if mixture is None else _added_mixture(state.mixture, mixture),
        )
        figures = [
            WorkerFigures(
                worker_id=state.worker_ids[i],
                answers=int(updated.answered[i]),
                agreement=round(float(updated.agreement[i] / updated.answered[i]), 4),
                batch_answers=int(batch_n[i]),
                batch_agreement=round(float(batch_agree[i] / batch_n[i]), 4),
                estimated_accuracy=None if estimated_accuracy is None else round(float(estimated_accuracy[i]), 4),
            )
            for i in sorted(np.flatnonzero(batch_n).tolist(), key=lambda i: state.worker_ids[i])
        ]
        return ConsolidationResult(
            task_type=self.task,
            method=self.method,
            classes=tuple(classes),
            objects=objects,
            failures=self.failures,
            quality=updated,
            workers=figures,
            unused=self.unused,
            unused_shapes=self.unused_shapes,
        )


def consolidate(
    task_type: TaskType | str | None,
    objects: Mapping[str, Sequence[AnswerLike]],
    *,
    label_attribute_name: str,
    job_name: str,
    categories: Sequence[str] | None = None,
    method: str | None = None,
    prior: QualityState | Mapping[str, Any] | None = None,
    creation_date: str | datetime | None = None,
    mask_uri: MaskUri | None = None,
    element: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ConsolidationResult:
    """Consolidate one batch of objects.

    task_type: a TaskType (or its value); None/"auto" infers it from the answers' shape.
    objects: {datasetObjectId: worker answers}; answers as in worker-response files or consolidation
        requests (dicts, or JSON strings). Objects keep the given order in the result.
    categories: the job's label categories; class index = position. Default: see resolve_classes.
    method: one of METHODS[task]; default DEFAULT_METHOD[task].
    prior: the QualityState (or its to_json() dict) returned by the previous batch of the same job.
    creation_date: written as metadata creation-date (default DEFAULT_CREATION_DATE; no clock is read).
    mask_uri: semantic segmentation only: the S3 URI the caller will upload each mask to
        (a function or a mapping of datasetObjectId).
    element: custom templates only: consolidate this element alone (default: every element).
    limits: bounds on one object's work; an object over them raises InputTooLarge (a ValueError).
    Objects without a usable answer are reported in `failures`, not raised. Answers with no built-in
    element name are a custom template's (task type "custom", see custom.py).
    """
    parsed: dict[str, list[WorkerAnswer]] = {}
    repeats: list[UnusedAnswer] = []
    for oid, raws in objects.items():
        parsed[str(oid)], repeated = ans.parse_answers_and_repeats(raws)
        repeats += [
            UnusedAnswer(str(oid), wid, "a repeated answer of this worker; the first counts") for wid in repeated
        ]
    result = _consolidate(task_type, parsed, label_attribute_name, job_name, categories, method, prior,
                          creation_date, mask_uri, element, limits)  # fmt: skip
    if not repeats and not result.unused:
        return result
    order = {oid: i for i, oid in enumerate(parsed)}  # named in object order, whichever step skipped them
    unused = sorted([*repeats, *result.unused], key=lambda u: order.get(u.dataset_object_id, -1))
    return msgspec.structs.replace(result, unused=unused)


def _consolidate(
    task_type: TaskType | str | None,
    parsed: dict[str, list[WorkerAnswer]],
    label_attribute_name: str,
    job_name: str,
    categories: Sequence[str] | None,
    method: str | None,
    prior: QualityState | Mapping[str, Any] | None,
    creation_date: str | datetime | None,
    mask_uri: MaskUri | None,
    element: str | None,
    limits: Limits,
) -> ConsolidationResult:
    task = TaskType.CUSTOM if element is not None else _resolve_task(task_type, parsed)
    if task is TaskType.CUSTOM:
        from gtproc.domain.consolidation.custom import consolidate_custom

        return consolidate_custom(
            parsed,
            label_attribute_name=label_attribute_name,
            job_name=job_name,
            categories=categories,
            method=method,
            creation_date=creation_date,
            mask_uri=mask_uri,
            element=element,
        )
    chosen = method or DEFAULT_METHOD[task]
    if chosen not in METHODS[task]:
        raise ValueError(f"method {chosen!r} is not one of {METHODS[task]} for {task.value}")
    state = load_state(prior)
    if state is not None and state.family != task.family:
        raise ValueError(f"prior quality state is for {state.family}, not {task.family}")
    base = {
        "type": task.groundtruth_type,
        "job-name": job_name_metadata(job_name),
        "human-annotated": "yes",
        "creation-date": _format_date(creation_date),
    }
    batch = _Batch(task, chosen, parsed, state, label_attribute_name, base)
    batch.limits = limits
    batch.parsed = _of_family(parsed, task, batch)
    if task.family == SEGMENTATION:
        if mask_uri is None:
            raise ValueError("semantic segmentation needs mask_uri (where each consolidated mask goes)")
        return _segmentation(batch, categories, mask_uri)
    runner = {SINGLE_LABEL: _single_label, MULTI_LABEL: _multi_label, BOXES: _boxes, SPANS: _spans}[task.family]
    return runner(batch, categories)


# --- single-label --------------------------------------------------------------------------------


def _single_label(batch: _Batch, categories: Sequence[str] | None) -> ConsolidationResult:
    named: dict[str, list[tuple[str, str, str | None]]] = {}
    feedback = ans.comment_of if batch.task is TaskType.LABEL_VERIFICATION else lambda _: None
    label_of = ans.single_label_of
    for oid, answers in batch.parsed.items():
        named[oid] = []
        for a in answers:
            if (label := label_of(a.content)) is None:
                batch.skip(oid, a.worker_id, "no label")
            else:
                named[oid].append((a.worker_id, label, feedback(a.content)))
    previous = batch.state.classes if batch.state else ()
    classes = ans.resolve_classes((n for rows in named.values() for _, n, _ in rows), categories, previous)
    index = {c: i for i, c in enumerate(classes)}
    usable: dict[str, list[tuple[str, int, str | None]]] = {}
    for oid, rows in named.items():
        kept = [(wid, index[name], comment) for wid, name, comment in rows if name in index]
        for wid, name, _ in rows:
            if name not in index:
                batch.skip(oid, wid, f"label {name!r} is not one of the label categories")
        if kept:
            usable[oid] = kept
        else:
            batch.fail(oid, "no answer with a label" if not rows else "no answer names a known category")
    used_workers = {wid for rows in usable.values() for wid, _, _ in rows}
    state = batch.aligned_state(classes, used_workers, confusion=True)
    k = len(classes)
    if not usable:
        empty = np.zeros(0, np.int64)
        return batch.finish([], classes, state, empty, empty.astype(float), None, np.zeros_like(state.confusion))
    w_index = {wid: i for i, wid in enumerate(state.worker_ids)}
    oids = list(usable)
    obj = np.array([i for i, oid in enumerate(oids) for _ in usable[oid]], np.int64)
    worker = np.array([w_index[wid] for oid in oids for wid, _, _ in usable[oid]], np.int64)
    answered = np.array([c for oid in oids for _, c, _ in usable[oid]], np.int64)
    votes = sl.Votes.build(obj, worker, answered, len(oids), len(state.worker_ids), k)
    if batch.method == MAJORITY_VOTE:
        out = sl.majority_vote(votes)
    elif batch.method == WEIGHTED_VOTE:
        out = sl.weighted_vote(votes, state.agreement, state.answered)
    elif batch.method == DAWID_SKENE:
        out = sl.dawid_skene(votes, state.confusion)
    elif batch.method == DAWID_SKENE_CLASSIC:
        out = sl.dawid_skene_classic(votes, state.confusion)
    elif batch.method == DAWID_SKENE_TEMPERED:
        out = sl.dawid_skene_tempered(votes, state.confusion, _carried_held_out(state.held_out))
    elif batch.method == DAWID_SKENE_MIXTURE:
        carried = _carried_held_out(state.held_out)
        out = sl.dawid_skene_mixture(votes, state.confusion, carried, _carried_mixture(state.mixture))
    else:
        out = sl.aws_modified_dawid_skene(votes, state.confusion)
    agree = (votes.label == out.labels[votes.obj]).astype(np.float64)
    per_object_agreement = np.bincount(votes.obj, weights=agree, minlength=len(oids)) / votes.answers_per_object()
    results = []
    for i, oid in enumerate(oids):
        c = int(out.labels[i])
        metadata: dict[str, Any] = {"class-name": classes[c], "confidence": _confidence(out.confidence[i])}
        if batch.task is TaskType.LABEL_VERIFICATION:
            comments = [{"comment": text} for _, _, text in usable[oid] if text]
            if comments:
                metadata["worker-feedback"] = comments
        used = [wid for wid, _, _ in usable[oid]]
        votes_of = _vote_counts(classes, [label for _, label, _ in usable[oid]])
        results.append(batch.result(oid, c, metadata, used, per_object_agreement[i], votes=votes_of))
    flat = (votes.worker * k + out.labels[votes.obj]) * k + votes.label
    update = np.bincount(flat, minlength=len(state.worker_ids) * k * k).reshape(-1, k, k)
    return batch.finish(
        results, classes, state, votes.worker, agree, out.worker_accuracy, update, out.held_out, out.mixture
    )


def _vote_counts(classes: Sequence[str], picked: Sequence[int]) -> dict[str, int]:
    """{class name: answers naming it}, in class order, classes nobody named left out."""
    counts = np.bincount(np.asarray(picked, np.int64), minlength=len(classes))
    return {classes[int(c)]: int(counts[c]) for c in np.flatnonzero(counts)}


def _carried_held_out(carried: np.ndarray | None) -> np.ndarray | None:
    # A state from another grid of temperatures says nothing about this one.
    return carried if carried is not None and carried.shape == sl.TEMPERATURES.shape else None


def _carried_mixture(carried: np.ndarray | None) -> np.ndarray | None:
    shape = (sl.MIXTURE_SHARES.size, sl.MIXTURE_CONCENTRATIONS.size)
    return carried if carried is not None and carried.shape == shape else None


def _added_mixture(carried: np.ndarray | None, batch: np.ndarray) -> np.ndarray:
    carried = _carried_mixture(carried)
    return batch if carried is None else carried + batch


def _added(carried: np.ndarray | None, batch: np.ndarray) -> np.ndarray:
    carried = _carried_held_out(carried)
    return batch if carried is None else carried + batch


# --- multi-label ---------------------------------------------------------------------------------


def _multi_label(batch: _Batch, categories: Sequence[str] | None) -> ConsolidationResult:
    picked: dict[str, list[tuple[str, list[str]]]] = {}
    for oid, answers in batch.parsed.items():
        picked[oid] = []
        for a in answers:
            if (labels := ans.multi_labels_of(a.content)) is None:
                batch.skip(oid, a.worker_id, "no labels")
            else:
                picked[oid].append((a.worker_id, labels))
    previous = batch.state.classes if batch.state else ()
    classes = ans.resolve_classes((n for rows in picked.values() for _, ls in rows for n in ls), categories, previous)
    index = {c: i for i, c in enumerate(classes)}
    used_workers = {wid for rows in picked.values() for wid, _ in rows}
    state = batch.aligned_state(classes, used_workers, confusion=False)
    w_index = {wid: i for i, wid in enumerate(state.worker_ids)}
    threshold = 0.5 if batch.method == MAJORITY_VOTE else 1e-12
    results, answer_worker, answer_agreement = [], [], []
    for oid, rows in picked.items():
        if not rows:
            batch.fail(oid, "no answer with labels")
            continue
        sets = [{index[n] for n in labels if n in index} for _, labels in rows]
        counts = np.bincount([c for s in sets for c in s], minlength=len(classes))
        share = counts / len(rows)
        chosen = sorted(np.flatnonzero(share >= threshold - 1e-12).tolist(), key=lambda c: (-share[c], c))
        chosen_set = set(chosen)
        agreements = [len(s & chosen_set) / len(s | chosen_set) if s | chosen_set else 1.0 for s in sets]
        metadata = {
            "class-map": {str(c): classes[c] for c in chosen},
            "confidence-map": {str(c): _confidence(share[c]) for c in chosen},
        }
        used = [wid for wid, _ in rows]
        votes_of = _vote_counts(classes, [c for s in sets for c in s])
        results.append(batch.result(oid, chosen, metadata, used, float(np.mean(agreements)), votes=votes_of))
        answer_worker += [w_index[wid] for wid, _ in rows]
        answer_agreement += agreements
    return batch.finish(results, classes, state, np.array(answer_worker, np.int64), np.array(answer_agreement))


# --- bounding boxes and entity spans -------------------------------------------------------------


def _box_coords(box: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    left, top, width, height = (coordinate(box.get(key)) for key in ("left", "top", "width", "height"))
    if left is None or top is None or width is None or height is None or width <= 0 or height <= 0:
        return None
    if not (math.isfinite(left + width) and math.isfinite(top + height) and math.isfinite(width * height)):
        return None  # e.g. 1e308 + 1e308: no area to compare
    return (left, top, left + width, top + height)


def _span_coords(entity: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    start, end = coordinate(entity.get("startOffset")), coordinate(entity.get("endOffset"))
    if start is None or end is None or end <= start:
        return None
    return (float(int(start)), float(int(end)), 0.0, 0.0)


def _shape_batch(
    batch: _Batch,
    categories: Sequence[str] | None,
    extract: Callable[[Mapping[str, Any]], Any],
    coords_of: Callable[[Mapping[str, Any]], tuple[float, float, float, float] | None],
    what: str,
) -> tuple[tuple[str, ...], dict[str, list[tuple[str, list[shp.Shape], Any]]], QualityState]:
    """Shared input side of boxes and spans: per object, per answer, (worker, shapes, extra)."""
    rows: dict[str, list[tuple[str, list[tuple[tuple[float, float, float, float], str]], Any]]] = {}
    for oid, answers in batch.parsed.items():
        rows[oid] = []
        for a in answers:
            payload = extract(a.content)
            if payload is None:
                batch.skip(oid, a.worker_id, f"no {what}")
                continue
            items, extra = payload if isinstance(payload, tuple) else (payload, None)
            if len(items) > batch.limits.max_shapes_per_answer:
                limit = batch.limits.max_shapes_per_answer
                raise InputTooLarge("too-many-shapes", f"an answer has {len(items)} {what}, over the limit of {limit}")
            shapes = [(xy, str(item["label"])) for item in items if (xy := coords_of(item)) is not None]
            if items and not shapes:  # read as "nothing here", it would vote against what the worker drew
                batch.skip(oid, a.worker_id, f"none of its {len(items)} {what} has usable coordinates")
                continue
            if len(shapes) < len(items):
                batch.skip_shapes(oid, a.worker_id, len(items) - len(shapes), len(items), what, "no usable coordinates")
            rows[oid].append((a.worker_id, shapes, extra))
        total = sum(len(shapes) for _, shapes, _ in rows[oid])
        if total > batch.limits.max_shapes_per_object:
            limit = batch.limits.max_shapes_per_object
            raise InputTooLarge("too-many-shapes", f"object {oid} has {total} {what}, over the limit of {limit}")
    previous = batch.state.classes if batch.state else ()
    seen = (name for answers in rows.values() for _, shapes, _ in answers for _, name in shapes)
    classes = ans.resolve_classes(seen, categories, previous)
    index = {c: i for i, c in enumerate(classes)}
    usable: dict[str, list[tuple[str, list[shp.Shape], Any]]] = {}
    for oid, found in rows.items():
        kept_answers: list[tuple[str, list[shp.Shape], Any]] = []
        for wid, shapes, extra in found:
            kept = [shp.Shape(xy, index[name]) for xy, name in shapes if name in index]
            if shapes and not kept:
                batch.skip(oid, wid, f"every one of its {len(shapes)} {what} has a class outside the categories")
                continue
            if len(kept) < len(shapes):
                outside = len(shapes) - len(kept)
                batch.skip_shapes(oid, wid, outside, len(shapes), what, "a class outside the categories")
            kept_answers.append((wid, kept, extra))
        if kept_answers:
            usable[oid] = kept_answers
        else:
            batch.fail(oid, f"no answer with {what}")
    used_workers = {wid for kept in usable.values() for wid, _, _ in kept}
    state = batch.aligned_state(classes, used_workers, confusion=False)
    return classes, usable, state


def _image_size(properties: Sequence[Mapping[str, Any] | None]) -> list[dict[str, int]]:
    for props in properties:
        # Answers are any JSON: properties that are not an object say nothing of the image's size.
        if not isinstance(props, Mapping):
            continue
        width, height = coordinate(props.get("width")), coordinate(props.get("height"))
        if width is not None and height is not None:
            depth = coordinate(props.get("depth"))
            return [{"width": int(width), "height": int(height), "depth": int(depth or 3)}]
    return []


def _boxes(batch: _Batch, categories: Sequence[str] | None) -> ConsolidationResult:
    classes, usable, state = _shape_batch(batch, categories, ans.boxes_of, _box_coords, "bounding boxes")
    w_index = {wid: i for i, wid in enumerate(state.worker_ids)}
    fuse = "median" if batch.method == IOU_MEDIAN else "mean"
    results, answer_worker, answer_agreement = [], [], []
    for oid, answers in usable.items():
        out = shp.consolidate_boxes([shapes for _, shapes, _ in answers], fuse=fuse)
        annotations = [
            {"class_id": s.class_id, "left": s.coords[0], "top": s.coords[1],
             "width": s.coords[2] - s.coords[0], "height": s.coords[3] - s.coords[1]}
            for s in out.shapes
        ]  # fmt: skip
        label = {"image_size": _image_size([extra for _, _, extra in answers]), "annotations": annotations}
        class_map = {str(s.class_id): classes[s.class_id] for s in out.shapes}
        metadata = {
            "objects": [{"confidence": _confidence(s.confidence)} for s in out.shapes],
            "class-map": class_map,
        }
        used = [wid for wid, _, _ in answers]
        results.append(batch.result(oid, label, metadata, used, float(np.mean(out.worker_agreement))))
        answer_worker += [w_index[wid] for wid in used]
        answer_agreement += out.worker_agreement
    return batch.finish(results, classes, state, np.array(answer_worker, np.int64), np.array(answer_agreement))


def _spans(batch: _Batch, categories: Sequence[str] | None) -> ConsolidationResult:
    classes, usable, state = _shape_batch(batch, categories, ans.entities_of, _span_coords, "entities")
    w_index = {wid: i for i, wid in enumerate(state.worker_ids)}
    labels_list = [{"label": c} for c in classes]
    results, answer_worker, answer_agreement = [], [], []
    for oid, answers in usable.items():
        out = shp.consolidate_spans([shapes for _, shapes, _ in answers])
        entities = [
            {"label": classes[s.class_id], "startOffset": s.coords[0], "endOffset": s.coords[1]} for s in out.shapes
        ]
        label = {"annotations": {"entities": entities, "labels": labels_list}}
        metadata = {"entities": [{"confidence": _confidence(s.confidence)} for s in out.shapes]}
        used = [wid for wid, _, _ in answers]
        results.append(batch.result(oid, label, metadata, used, float(np.mean(out.worker_agreement))))
        answer_worker += [w_index[wid] for wid in used]
        answer_agreement += out.worker_agreement
    return batch.finish(results, classes, state, np.array(answer_worker, np.int64), np.array(answer_agreement))


# --- semantic segmentation -----------------------------------------------------------------------


def _expected_size(payload: Mapping[str, Any]) -> tuple[int, int] | None:
    props = payload.get("inputImageProperties")
    if not isinstance(props, Mapping):
        return None
    width, height = coordinate(props.get("width")), coordinate(props.get("height"))
    return None if width is None or height is None else (int(width), int(height))


def _decode_worker_mask(payload: Mapping[str, Any], limits: Limits) -> np.ndarray | str:
    """The worker's mask, or why it cannot be used (not a PNG of the image's size within the cap)."""
    try:
        raw = base64.b64decode(payload["labeledImage"]["pngImageData"], validate=False)
        return decode_png(raw, max_pixels=limits.max_mask_pixels, expected_size=_expected_size(payload))
    except PngError as error:
        return f"its mask cannot be used: {error}"
    except (binascii.Error, ValueError, KeyError, TypeError):
        return "its mask is not base64 PNG data"


def _mappings(payload: Mapping[str, Any]) -> dict[str, int]:
    colors: dict[str, int] = {}
    mappings = payload.get("labelMappings")
    if not isinstance(mappings, Mapping):
        return colors
    for name, spec in mappings.items():
        color = spec.get("color") if isinstance(spec, Mapping) else None
        if isinstance(color, str):
            try:
                colors[str(name)] = parse_hex_color(color)
            except ValueError:
                continue
    return colors


def _segmentation(batch: _Batch, categories: Sequence[str] | None, mask_uri: MaskUri) -> ConsolidationResult:
    rows: dict[str, list[tuple[str, np.ndarray, dict[str, int]]]] = {}
    for oid, answers in batch.parsed.items():
        rows[oid] = []
        for a in answers:
            payload = ans.segmentation_of(a.content)
            if payload is None:
                batch.skip(oid, a.worker_id, "no mask")
            elif (mappings := payload.get("labelMappings")) is not None and not isinstance(mappings, Mapping):
                # A mapping that is no object cannot say which colour is which class (null is none, as
                # AWS's own code reads it: every pixel background).
                batch.skip(oid, a.worker_id, "labelMappings is not an object")
            elif isinstance(pixels := _decode_worker_mask(payload, batch.limits), str):
                batch.skip(oid, a.worker_id, pixels)
            else:
                rows[oid].append((a.worker_id, pixels, _mappings(payload)))
    previous = batch.state.classes if batch.state else ()
    seen = (name for found in rows.values() for _, _, m in found for name in m)
    classes = ans.resolve_classes(seen, categories, previous)
    index = {c: i + 1 for i, c in enumerate(classes)}  # 0 is BACKGROUND
    colors = [BACKGROUND_COLOR] + [DEFAULT_PALETTE[i % len(DEFAULT_PALETTE)] for i in range(len(classes))]
    given: set[int] = set()
    for found in rows.values():
        for _, _, mapping in found:
            for name, rgb in mapping.items():
                if name in index and index[name] not in given:
                    colors[index[name]] = f"#{rgb:06x}"
                    given.add(index[name])
    usable: dict[str, list[tuple[str, np.ndarray]]] = {}
    for oid, found in rows.items():
        masks: list[tuple[str, np.ndarray]] = []
        for wid, pixels, mapping in found:
            mask = class_mask(pixels, {rgb: index[name] for name, rgb in mapping.items() if name in index})
            if not masks or mask.shape == masks[0][1].shape:  # a mask of another size cannot be voted
                masks.append((wid, mask))
            else:
                height, width = mask.shape[:2]
                batch.skip(
                    oid,
                    wid,
                    f"its mask is {width}x{height}, another answer's is {masks[0][1].shape[1]}x{masks[0][1].shape[0]}",
                )
        if masks:
            usable[oid] = masks
        else:
            batch.fail(oid, "no answer with a decodable mask")
    used_workers = {wid for masks in usable.values() for wid, _ in masks}
    state = batch.aligned_state(classes, used_workers, confusion=False)
    w_index = {wid: i for i, wid in enumerate(state.worker_ids)}
    results, answer_worker, answer_agreement = [], [], []
    for oid, masks in usable.items():
        out = consolidate_masks([m for _, m in masks], colors)
        confidence = _confidence(out.confidence)
        color_map = {
            str(i): {"class-name": name, "hex-color": colors[i], "confidence": confidence}
            for i, name in enumerate([BACKGROUND, *classes])
        }
        uri = mask_uri(oid) if callable(mask_uri) else mask_uri[oid]
        used = [wid for wid, _ in masks]
        metadata = {"internal-color-map": color_map}
        results.append(batch.result(oid, uri, metadata, used, float(np.mean(out.worker_agreement)), out.png))
        answer_worker += [w_index[wid] for wid in used]
        answer_agreement += out.worker_agreement
    return batch.finish(results, classes, state, np.array(answer_worker, np.int64), np.array(answer_agreement))


# --- checks before a run -------------------------------------------------------------------------


def task_of(task_type: TaskType | str | None, objects: Mapping[str, Sequence[AnswerLike]]) -> TaskType:
    """The task `consolidate` would run for these objects (given, or inferred from the answers)."""
    return _resolve_task(task_type, {str(oid): ans.parse_answers(raws) for oid, raws in objects.items()})


def answer_classes(task: TaskType, objects: Mapping[str, Sequence[AnswerLike]]) -> set[str]:
    """Every class name the answers use, read as `consolidate` reads them: with a category list that
    lacks one, the answers naming it would be dropped."""
    names: set[str] = set()
    for raws in objects.values():
        for answer in ans.parse_answers(raws):
            content = answer.content
            if task.family == SINGLE_LABEL:
                label = ans.single_label_of(content)
                names.update([label] if label is not None else [])
            elif task.family == MULTI_LABEL:
                names.update(ans.multi_labels_of(content) or [])
            elif task.family == SEGMENTATION:
                mask = ans.segmentation_of(content)
                names.update(_mappings(mask) if mask is not None else {})
            else:
                payload = (ans.boxes_of if task.family == BOXES else ans.entities_of)(content)
                items: list[Any] = (payload[0] if isinstance(payload, tuple) else payload) or []
                names.update(str(item["label"]) for item in items if isinstance(item, Mapping) and "label" in item)
    return names
