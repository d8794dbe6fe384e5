"""Input side: worker answers in the shapes Ground Truth writes them, task-type inference, class order.

Accepted answer shapes (section 2.1/2.2 of the format reference):
- worker-response file entries: {"workerId": ..., "answerContent": {...}}
- consolidation-request entries: {"workerId": ..., "annotationData": {"content": "<JSON string>"}}
`answerContent`/`content` may be a dict or a JSON string. An `annotationData` holding only an `s3Uri`
must be fetched by the caller first (this library does no I/O).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gtproc.domain.consolidation.model import TaskType, WorkerAnswer
from gtproc.domain.jsontext import JsonProblem, decode

_KEY_TO_TASK = {
    "crowd-image-classifier": TaskType.IMAGE_CLASSIFICATION,
    "crowd-classifier": TaskType.TEXT_CLASSIFICATION,
    "crowd-image-classifier-multi-select": TaskType.IMAGE_MULTILABEL,
    "crowd-classifier-multi-select": TaskType.TEXT_MULTILABEL,
    "boundingBox": TaskType.OBJECT_DETECTION,
    "crowd-bounding-box": TaskType.OBJECT_DETECTION,
    "crowd-entity-annotation": TaskType.TEXT_SPAN,
    "crowd-semantic-segmentation": TaskType.SEMANTIC_SEGMENTATION,
}


def _decode_json(value: Any, what: str) -> Any:
    if isinstance(value, str | bytes | bytearray):
        try:  # strict: NaN would reach the response, and deep nesting was a RecursionError
            return decode(bytes(value) if isinstance(value, bytearray) else value)
        except JsonProblem as exc:
            raise ValueError(f"{what} is not valid JSON: {exc}") from exc
    return value


def parse_answer(raw: Mapping[str, Any] | WorkerAnswer | str) -> WorkerAnswer:
    """One worker answer, from a worker-response entry or a consolidation-request annotation.

    The content is not copied: treat it as read-only.
    """
    if type(raw) is dict:  # fast path for json.loads output (100k-object jobs)
        worker_id, content = raw.get("workerId"), raw.get("answerContent")
        if type(content) is dict and type(worker_id) is str and worker_id:
            return WorkerAnswer(worker_id=worker_id, content=content)
    if isinstance(raw, WorkerAnswer):
        return raw
    raw = _decode_json(raw, "answer")
    if not isinstance(raw, Mapping):
        raise ValueError(f"answer must be an object, got {type(raw).__name__}")
    worker_id = raw.get("workerId")
    if not isinstance(worker_id, str) or not worker_id:
        raise ValueError("answer has no workerId")
    if "answerContent" in raw:
        content = raw["answerContent"]
    elif isinstance(raw.get("annotationData"), Mapping):
        data = raw["annotationData"]
        if "content" not in data:
            raise ValueError(f"annotationData of {worker_id} has no inline content (s3Uri must be fetched first)")
        content = data["content"]
    else:
        raise ValueError(f"answer of {worker_id} has neither answerContent nor annotationData")
    content = _decode_json(content, f"content of {worker_id}")
    if not isinstance(content, Mapping):
        raise ValueError(f"content of {worker_id} must be an object")
    return WorkerAnswer(worker_id=worker_id, content=content if type(content) is dict else dict(content))


def parse_answers(raws: Iterable[Mapping[str, Any] | WorkerAnswer | str]) -> list[WorkerAnswer]:
    """Parse and drop repeated answers of one worker (the first one counts)."""
    return parse_answers_and_repeats(raws)[0]


def parse_answers_and_repeats(
    raws: Iterable[Mapping[str, Any] | WorkerAnswer | str],
) -> tuple[list[WorkerAnswer], list[str]]:
    """The answers, first of each worker, and the workers whose later answers were dropped (one per drop)."""
    seen: set[str] = set()
    repeated: list[str] = []
    answers = []
    for raw in raws:
        # parse_answer's fast path, inlined: this loop runs once per answer of the batch
        if (
            type(raw) is dict
            and type(content := raw.get("answerContent")) is dict
            and type(worker_id := raw.get("workerId")) is str
            and worker_id
        ):
            answer = WorkerAnswer(worker_id, content)
        else:
            answer = parse_answer(raw)
        if answer.worker_id not in seen:
            seen.add(answer.worker_id)
            answers.append(answer)
        else:
            repeated.append(answer.worker_id)
    return answers, repeated


def objects_from_consolidation_request(
    request: Sequence[Mapping[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """{datasetObjectId: annotations} from a consolidation-request file (a JSON array), order kept."""
    request = _decode_json(request, "consolidation request")
    objects: dict[str, list[dict[str, Any]]] = {}
    for item in request:
        objects.setdefault(str(item["datasetObjectId"]), []).extend(item.get("annotations") or [])
    return objects


def infer_task_type(content: Mapping[str, Any] | str) -> TaskType:
    """Task type from one answerContent's shape; TaskType.UNKNOWN when nothing matches.

    Label verification has no fixed element name: a top key containing "verif" whose value carries a
    "label" is read as verification. Other custom single-key {"label": ...} forms stay UNKNOWN; pass the
    task type explicitly for those.
    """
    content = _decode_json(content, "answerContent")
    if not isinstance(content, Mapping):
        return TaskType.UNKNOWN
    for key in content:
        if key in _KEY_TO_TASK:
            return _KEY_TO_TASK[key]
    for key, value in content.items():
        if "verif" in key.lower() and isinstance(value, Mapping) and "label" in value:
            return TaskType.LABEL_VERIFICATION
    return TaskType.UNKNOWN


# Shapes of a custom template's element (its value), by the keys Ground Truth's crowd elements post.
BOXES_SHAPE, KEYPOINTS_SHAPE, POLYGONS_SHAPE = "boxes", "keypoints", "polygons"
SPANS_SHAPE, MASK_SHAPE, MULTI_SHAPE, SINGLE_SHAPE = "spans", "mask", "multi-label", "single-label"


def element_shape(value: Any) -> str | None:
    """The shape of one element's answer, under any element name; None when it is not one we consolidate."""
    if not isinstance(value, Mapping):
        return None
    for key, shape in (
        ("boundingBoxes", BOXES_SHAPE),
        ("keypoints", KEYPOINTS_SHAPE),
        ("polygons", POLYGONS_SHAPE),
        ("entities", SPANS_SHAPE),
    ):
        if isinstance(value.get(key), list):
            return shape
    image = value.get("labeledImage")
    if isinstance(image, Mapping) and image.get("pngImageData"):
        return MASK_SHAPE
    if isinstance(value.get("labels"), list):
        return MULTI_SHAPE
    label = value.get("label")
    if isinstance(label, str | int | float) and not isinstance(label, bool) and label != "":
        return SINGLE_SHAPE
    return None


# --- payload extraction, one per family. Each returns None when the answer has no usable payload. ---


def _inner_values(content: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for value in content.values():
        if type(value) is dict or isinstance(value, Mapping):
            yield value


def single_label_of(content: Mapping[str, Any]) -> str | None:
    for value in content.values():
        if type(value) is dict or isinstance(value, Mapping):
            label = value.get("label")
            if type(label) is str or isinstance(label, str):
                if label:
                    return label
            elif isinstance(label, int | float) and not isinstance(label, bool):
                return str(label)
    return None


def comment_of(content: Mapping[str, Any]) -> str | None:
    """Free-text feedback of a verification answer (GT's worker-feedback), when the template has one."""
    for inner in _inner_values(content):
        for key in ("comment", "comments", "feedback"):
            text = inner.get(key)
            if isinstance(text, str) and text.strip():
                return text
    return None


def multi_labels_of(content: Mapping[str, Any]) -> list[str] | None:
    for inner in _inner_values(content):
        labels = inner.get("labels", inner.get("label"))
        if isinstance(labels, str):
            return [labels] if labels else []
        if isinstance(labels, list):
            return sorted({str(label) for label in labels if label not in (None, "")})
    return None


def _by_shape(content: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """A custom template's element holding `key`, whatever the element's name."""
    for inner in _inner_values(content):
        if key in inner:
            return inner
    return None


def boxes_of(content: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]] | None:
    inner = content.get("boundingBox", content.get("crowd-bounding-box"))
    if not isinstance(inner, Mapping):
        inner = _by_shape(content, "boundingBoxes")
    if inner is None:
        return None
    found = inner.get("boundingBoxes") or []  # null is no boxes (AWS's own code guards it so)
    if not isinstance(found, list):
        return None  # a number or text where the list goes: this answer holds no boxes to read
    boxes = [b for b in found if isinstance(b, Mapping) and b.get("label")]
    properties = inner.get("inputImageProperties")
    return boxes, properties if isinstance(properties, Mapping) else {}


def entities_of(content: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    inner = content.get("crowd-entity-annotation")
    if not isinstance(inner, Mapping):
        inner = _by_shape(content, "entities")
    if inner is None:
        return None
    found = inner.get("entities") or []
    if not isinstance(found, list):
        return None  # as boxes_of: not a list is not an answer of entities
    return [e for e in found if isinstance(e, Mapping) and e.get("label")]


def segmentation_of(content: Mapping[str, Any]) -> Mapping[str, Any] | None:
    inner = content.get("crowd-semantic-segmentation")
    if not isinstance(inner, Mapping):
        inner = _by_shape(content, "labeledImage")
    if inner is None:
        return None
    image = inner.get("labeledImage")
    if not isinstance(image, Mapping) or not image.get("pngImageData"):
        return None
    return inner


def resolve_classes(
    seen: Iterable[str], categories: Sequence[str] | None, previous: Sequence[str] = ()
) -> tuple[str, ...]:
    """The class list; class index = position in it.

    - categories given: exactly that list (answers naming other classes are dropped by the caller);
    - else: the classes of the carried quality state, in their order, then the names seen here that
      are new, sorted by code point. Without prior state that is simply the sorted names, and index
      stability across batches is kept because earlier classes never move.
    """
    if categories is not None:
        classes = tuple(str(c) for c in categories)
        if len(set(classes)) != len(classes):
            raise ValueError("categories contain duplicates")
        return classes
    known = list(previous)
    known_set = set(known)
    return tuple(known + sorted({s for s in seen if s not in known_set}))
