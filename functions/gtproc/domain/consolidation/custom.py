"""Custom templates: every element of the answer consolidated by its shape, whatever its name.

A custom template names its crowd elements itself (`<crowd-bounding-box name="annotatedResult">`).
Each top-level key of the answer content is an element; its value's shape (answers.element_shape)
picks the algorithm: boxes, spans, masks, single and multi label as for the built-in task types,
keypoints (keypoints.py) and polygons (polygons.py). An element of another shape (free text,
sliders, custom JSON), or one that cannot be consolidated, is passed through as AWS's sample
consolidation Lambda does: every worker's answer with its workerId, and `consolidated: false`.

Output, per object: {LAN: {element: label, ...}, "LAN-metadata": {"type": "groundtruth/custom", ...,
"consolidated": <every element consolidated>, "elements": {element: {"shape", "consolidated", ...}}}}.
Answers are taken in worker-id order so the result does not depend on the order they arrive in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from gtproc.domain.consolidation import answers as ans
from gtproc.domain.consolidation.keypoints import TooManyShapes, consolidate_keypoints, radius_for
from gtproc.domain.consolidation.limits import MAX_COORDINATE
from gtproc.domain.consolidation.model import (
    ConsolidationResult,
    ObjectFailure,
    ObjectResult,
    TaskType,
    UnusedAnswer,
    WorkerAnswer,
)
from gtproc.domain.consolidation.polygons import consolidate_polygons
from gtproc.domain.consolidation.quality import QualityState

CUSTOM_METHOD = "custom-by-shape"
KEYPOINTS_METHOD = "keypoint-median"
POLYGONS_METHOD = "polygon-iou-medoid"

_BUILT_IN = {
    ans.BOXES_SHAPE: TaskType.OBJECT_DETECTION,
    ans.SPANS_SHAPE: TaskType.TEXT_SPAN,
    ans.MASK_SHAPE: TaskType.SEMANTIC_SEGMENTATION,
    ans.MULTI_SHAPE: TaskType.IMAGE_MULTILABEL,
    ans.SINGLE_SHAPE: TaskType.IMAGE_CLASSIFICATION,
}
_BASE_KEYS = ("type", "job-name", "human-annotated", "creation-date")

Element = dict[str, Any]  # {"label": ..., "metadata": {...}, "agreement": float | None}


def _passed_through(rows: Sequence[tuple[str, Any]], shape: str | None, reason: str | None = None) -> Element:
    metadata: dict[str, Any] = {"shape": shape or "unknown", "consolidated": False}
    if reason:
        metadata["reason"] = reason
    label = {"annotationsFromAllWorkers": [{"workerId": wid, "answerContent": value} for wid, value in rows]}
    return {"label": label, "metadata": metadata, "agreement": None}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if -MAX_COORDINATE <= value <= MAX_COORDINATE else None  # as api._number


def _list(value: Any) -> list[Any]:
    """A list where the format puts one; anything else there holds nothing to read."""
    return value if isinstance(value, list) else []


def _xy(value: Any) -> tuple[float, float] | None:
    """A point's finite x and y, or None."""
    if not isinstance(value, Mapping):
        return None
    x, y = _number(value.get("x")), _number(value.get("y"))
    return None if x is None or y is None else (x, y)


def _image_properties(rows: Sequence[tuple[str, Any]]) -> dict[str, Any] | None:
    for _, value in rows:
        props = value.get("inputImageProperties")
        if isinstance(props, Mapping) and props:
            return dict(props)
    return None


def _keypoints(rows: Sequence[tuple[str, Any]]) -> Element:
    per_worker = []
    for _, value in rows:
        points = []
        for point in _list(value.get("keypoints")):
            if not isinstance(point, Mapping) or not point.get("label"):
                continue
            if (xy := _xy(point)) is not None:
                points.append((str(point["label"]), *xy))
        per_worker.append(points)
    props = _image_properties(rows) or {}
    fused = consolidate_keypoints(per_worker, radius_for(_number(props.get("width")), _number(props.get("height"))))
    label: dict[str, Any] = {"keypoints": [{"label": p.label, "x": _plain(p.x), "y": _plain(p.y)} for p in fused]}
    if props:
        label["inputImageProperties"] = props
    metadata = {
        "shape": ans.KEYPOINTS_SHAPE,
        "consolidated": True,
        "method": KEYPOINTS_METHOD,
        "keypoints": [{"confidence": p.confidence} for p in fused],
    }
    return {"label": label, "metadata": metadata, "agreement": None}


def _polygons(rows: Sequence[tuple[str, Any]]) -> Element:
    per_worker = []
    for _, value in rows:
        polys = []
        for polygon in _list(value.get("polygons")):
            if not isinstance(polygon, Mapping) or not polygon.get("label"):
                continue
            found = polygon.get("vertices")
            vertices = [xy for vertex in found if (xy := _xy(vertex)) is not None] if isinstance(found, list) else []
            if len(vertices) >= 3:
                polys.append((str(polygon["label"]), tuple(vertices)))
        per_worker.append(polys)
    fused = consolidate_polygons(per_worker)
    polygons = [
        {"label": p.label, "vertices": [{"x": _plain(x), "y": _plain(y)} for x, y in p.vertices]} for p in fused
    ]
    label: dict[str, Any] = {"polygons": polygons}
    if props := _image_properties(rows):
        label["inputImageProperties"] = props
    metadata = {
        "shape": ans.POLYGONS_SHAPE,
        "consolidated": True,
        "method": POLYGONS_METHOD,
        "polygons": [{"confidence": p.confidence} for p in fused],
    }
    return {"label": label, "metadata": metadata, "agreement": None}


def _plain(value: float) -> int | float:
    return int(value) if value.is_integer() else value


def _element_uri(base: str, element: str) -> str:
    stem = base.removesuffix(".png")
    return f"{stem}-{element}.png"


def consolidate_custom(
    parsed: Mapping[str, list[WorkerAnswer]],
    *,
    label_attribute_name: str,
    job_name: str,
    categories: Sequence[str] | None = None,
    method: str | None = None,
    creation_date: str | datetime | None = None,
    mask_uri: Any = None,
    element: str | None = None,
) -> ConsolidationResult:
    from gtproc.domain.consolidation import api

    lan = label_attribute_name
    # rows[oid][element] = [(workerId, value)], answers in worker-id order
    rows: dict[str, dict[str, list[tuple[str, Any]]]] = {}
    failures: list[ObjectFailure] = []
    unused: list[UnusedAnswer] = []
    unused_shapes: list[UnusedAnswer] = []
    order: dict[str, None] = {}
    for oid, answers in parsed.items():
        per_element: dict[str, list[tuple[str, Any]]] = {}
        for answer in sorted(answers, key=lambda a: a.worker_id):
            for name, value in answer.content.items():
                if element is None or name == element:
                    per_element.setdefault(name, []).append((answer.worker_id, value))
        if not per_element:
            failures.append(ObjectFailure(oid, f"no answer has element {element!r}" if element else "no answer"))
            continue
        rows[oid] = per_element
        order.update(dict.fromkeys(sorted(per_element)))
    elements = list(order)
    shapes: dict[str, str | None] = {}
    for name in elements:
        seen = Counter(ans.element_shape(v) for per in rows.values() for _, v in per.get(name, ()))
        shapes[name] = next(iter(seen)) if len(seen) == 1 else None  # mixed shapes: passed through
    # Label categories name one element's classes: they apply when the template has a single element.
    element_categories = categories if len(elements) == 1 else None
    results: dict[str, dict[str, Element]] = {oid: {} for oid in rows}
    for name in elements:
        shape = shapes[name]
        present = {oid: per[name] for oid, per in rows.items() if name in per}
        if shape in _BUILT_IN:
            task = _BUILT_IN[shape]
            uri = None
            if mask_uri is not None:
                uri = lambda oid, n=name: _element_uri(mask_uri(oid) if callable(mask_uri) else mask_uri[oid], n)  # noqa: E731
            if task is TaskType.SEMANTIC_SEGMENTATION and uri is None:
                for oid, got in present.items():
                    results[oid][name] = _passed_through(got, shape, "no mask location was given")
                continue
            out = api.consolidate(
                task,
                {oid: [WorkerAnswer(wid, {name: v}) for wid, v in got] for oid, got in present.items()},
                label_attribute_name=lan,
                job_name=job_name,
                categories=element_categories,
                method=method if method in api.METHODS[task] else None,
                creation_date=creation_date,
                mask_uri=uri,
            )
            for obj in out.objects:
                metadata = {k: v for k, v in obj.metadata.items() if k not in _BASE_KEYS}
                metadata = {"shape": shape, "consolidated": True, "method": obj.method, **metadata}
                element_result: Element = {"label": obj.label, "metadata": metadata, "agreement": obj.agreement}
                if obj.mask_png is not None:
                    element_result["mask"] = (str(obj.label), obj.mask_png)
                results[obj.dataset_object_id][name] = element_result
            unused += [_in_element(u, name) for u in out.unused]
            unused_shapes += [_in_element(u, name) for u in out.unused_shapes]
            for failure in out.failures:
                results[failure.dataset_object_id][name] = _passed_through(
                    present[failure.dataset_object_id], shape, failure.reason
                )
            continue
        for oid, got in present.items():
            try:
                if shape == ans.KEYPOINTS_SHAPE:
                    done = _keypoints(got)
                elif shape == ans.POLYGONS_SHAPE:
                    done = _polygons(got)
                else:
                    done = _passed_through(got, shape)
            except TooManyShapes as error:
                done = _passed_through(got, shape, str(error))
            results[oid][name] = done
    base = {
        "type": TaskType.CUSTOM.groundtruth_type,
        "job-name": api.job_name_metadata(job_name),
        "human-annotated": "yes",
        "creation-date": api._format_date(creation_date),
    }
    objects = []
    for oid, per in results.items():
        label = {name: per[name]["label"] for name in per}
        element_meta = {name: per[name]["metadata"] for name in per}
        metadata = {
            **base,
            "consolidated": all(m["consolidated"] for m in element_meta.values()),
            "elements": element_meta,
        }
        agreements = [e["agreement"] for e in per.values() if e["agreement"] is not None]
        workers = sorted({wid for got in rows[oid].values() for wid, _ in got})
        objects.append(
            ObjectResult(
                dataset_object_id=oid,
                label=label,
                metadata=metadata,
                content={lan: label, f"{lan}-metadata": metadata},
                workers=len(workers),
                agreement=float(sum(agreements) / len(agreements)) if agreements else 1.0,
                method=CUSTOM_METHOD,
                worker_ids=tuple(workers),
                masks=tuple(e["mask"] for e in per.values() if "mask" in e),
            )
        )
    return ConsolidationResult(
        task_type=TaskType.CUSTOM,
        method=CUSTOM_METHOD,
        classes=(),
        objects=objects,
        failures=failures,
        quality=QualityState.empty("custom"),
        unused=unused,
        unused_shapes=unused_shapes,
    )


def _in_element(answer: UnusedAnswer, element: str) -> UnusedAnswer:
    return UnusedAnswer(answer.dataset_object_id, answer.worker_id, f"element {element!r}: {answer.reason}")
