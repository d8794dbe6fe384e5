"""Validation of output-manifest lines: the rules, their stable codes, and line classification.

Every rule has a short code that never changes (scripts filter on it) and a message that names the
offending value. Checks are plain Python on the decoded line: this is the hot path of every manifest
read, and hand-written checks over dicts cost less than building model objects (see benchmarks/).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeGuard

import msgspec

from gtproc.domain import jsontext
from gtproc.domain.groundtruth import REF_TASK_TYPES, LineError, TaskType, job_name_in, task_type_of
from gtproc.domain.identity import decimal_index
from gtproc.domain.lines import TooLong

METADATA_SUFFIX = "-metadata"
_SUFFIX_LEN = len(METADATA_SUFFIX)
ATTRIBUTE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,126}\Z")
HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")
MAX_DEPTH_MESSAGE = "JSON nesting is too deep"


class Rule(StrEnum):
    """Stable rule codes. Extend, never rename: users filter on them."""

    UTF8 = "utf8-invalid"
    JSON = "json-invalid"
    TOO_DEEP = "json-too-deep"
    LINE_TOO_LONG = "line-too-long"
    NOT_OBJECT = "not-object"
    SOURCE_MISSING = "source-missing"
    SOURCE_TYPE = "source-invalid"
    ATTRIBUTE_NAME = "attribute-name"
    METADATA_SUFFIX = "label-metadata-suffix"
    REF_REQUIRED = "ref-suffix-required"
    REF_FORBIDDEN = "ref-suffix-forbidden"
    LABEL_MISSING = "label-missing"
    METADATA_NOT_OBJECT = "metadata-not-object"
    TYPE_MISSING = "type-missing"
    TYPE_INVALID = "type-invalid"
    JOB_NAME = "job-name-invalid"
    JOB_NAME_MISSING = "job-name-missing"
    HUMAN_ANNOTATED = "human-annotated-invalid"
    HUMAN_ANNOTATED_MISSING = "human-annotated-missing"
    CREATION_DATE = "creation-date-invalid"
    CREATION_DATE_MISSING = "creation-date-missing"
    FAILURE_REASON = "failure-reason-invalid"
    ADJUSTMENT_STATUS = "adjustment-status-invalid"
    CLASS_INDEX = "class-index"
    CLASS_NAME = "class-name-invalid"
    CONFIDENCE = "confidence-range"
    CONFIDENCE_MISSING = "confidence-missing"
    CLASS_MAP = "class-map-invalid"
    CLASS_MAP_MISSING_ID = "class-map-missing-id"
    LABEL_SHAPE = "label-shape"
    IMAGE_SIZE = "image-size-invalid"
    BOX_SHAPE = "box-invalid"
    BOX_NEGATIVE = "box-negative-size"
    OBJECTS_MISMATCH = "objects-mismatch"
    LABEL_URI = "label-uri"
    COLOR_MAP = "color-map-invalid"
    SPAN = "span-invalid"
    ENTITIES_MISMATCH = "entities-mismatch"


class LineStatus(StrEnum):
    LABELED = "labeled"
    UNLABELED = "unlabeled"
    FAILED = "failed"
    INVALID = "invalid"


class LabelPair(msgspec.Struct, frozen=True):
    """One `X` / `X-metadata` pair of a line. `failure_reason` is set (and `label` None) when it failed."""

    attribute: str
    label: Any
    metadata: dict[str, Any]
    failure_reason: str | None = None

    @property
    def failed(self) -> bool:
        return self.failure_reason is not None

    @property
    def job_name(self) -> str:
        return job_name_in(self.metadata)

    @property
    def human_annotated(self) -> bool:
        return self.metadata.get("human-annotated") != "no"

    @property
    def task_type(self) -> str:
        value = self.metadata.get("type")
        return value if isinstance(value, str) else ""


class LineResult(msgspec.Struct):
    number: int
    status: LineStatus
    record: dict[str, Any] | None = None
    pairs: list[LabelPair] = msgspec.field(default_factory=list)
    errors: list[LineError] = msgspec.field(default_factory=list)

    @property
    def source(self) -> str | None:
        return self.record.get("source") if self.record is not None else None

    @property
    def source_ref(self) -> str | None:
        return self.record.get("source-ref") if self.record is not None else None


_decoder = msgspec.json.Decoder()
_JSON_KINDS = {list: "array", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}


def decode_line(number: int, data: bytes) -> tuple[Any, LineError | None]:
    """Decode one JSON line; a decoding problem becomes a LineError, never an exception."""
    try:
        return _decoder.decode(data), None
    except UnicodeDecodeError as error:
        return None, LineError(line=number, code=Rule.UTF8, message=f"not valid UTF-8 at byte {error.start}")
    except RecursionError:
        return None, LineError(line=number, code=Rule.TOO_DEEP, message=MAX_DEPTH_MESSAGE)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        try:
            data.decode("utf-8")  # bytes that are not UTF-8 outside a string fail as JSON first
        except UnicodeDecodeError as utf8_error:
            return None, LineError(line=number, code=Rule.UTF8, message=f"not valid UTF-8 at byte {utf8_error.start}")
        why = jsontext.reason(data, str(error))
        message = why if why.startswith("not valid JSON") else f"not valid JSON: {why}"
        return None, LineError(line=number, code=Rule.JSON, message=message)


def validate_line(number: int, data: bytes | TooLong) -> LineResult:
    """Decode and validate one line (without its line ending)."""
    if type(data) is TooLong:
        message = f"line has {data.length} bytes, more than the limit"
        return LineResult(
            number, LineStatus.INVALID, errors=[LineError(line=number, code=Rule.LINE_TOO_LONG, message=message)]
        )
    record, error = decode_line(number, data)  # type: ignore[arg-type]
    if error is not None:
        return LineResult(number, LineStatus.INVALID, errors=[error])
    return validate_record(number, record)


def validate_record(number: int, record: Any) -> LineResult:
    """Validate a decoded line and classify it."""
    if type(record) is not dict:
        kind = _JSON_KINDS.get(type(record), type(record).__name__)
        error = LineError(line=number, code=Rule.NOT_OBJECT, message=f"line is a JSON {kind}, not an object")
        return LineResult(number, LineStatus.INVALID, errors=[error])
    errors: list[LineError] = []
    source, source_ref = record.get("source"), record.get("source-ref")
    if source is None and source_ref is None:
        errors.append(
            LineError(line=number, code=Rule.SOURCE_MISSING, message="line has neither `source` nor `source-ref`")
        )
    elif source_ref is not None and (type(source_ref) is not str or not source_ref.startswith("s3://")):
        errors.append(
            LineError(
                line=number, attribute="source-ref", code=Rule.SOURCE_TYPE, message="`source-ref` must be an s3:// URI"
            )
        )
    elif source is not None and type(source) is not str:
        errors.append(
            LineError(line=number, attribute="source", code=Rule.SOURCE_TYPE, message="`source` must be a string")
        )

    pairs: list[LabelPair] = []
    for key, metadata in record.items():
        if not key.endswith(METADATA_SUFFIX):
            continue
        attribute = key[:-_SUFFIX_LEN]
        if not attribute:
            continue
        pair = _check_pair(number, record, attribute, metadata, errors)
        if pair is not None:
            pairs.append(pair)

    if errors:
        return LineResult(number, LineStatus.INVALID, record, pairs, errors)
    if not pairs:
        status = LineStatus.UNLABELED
    elif any(pair.failure_reason is not None for pair in pairs):
        status = LineStatus.FAILED
    else:
        status = LineStatus.LABELED
    return LineResult(number, status, record, pairs)


_Add = Callable[[str, str], None]


def _check_pair(
    number: int, record: dict[str, Any], attribute: str, metadata: Any, errors: list[LineError]
) -> LabelPair | None:
    def add(code: str, message: str) -> None:
        errors.append(LineError(line=number, attribute=attribute, code=code, message=message))

    has_label = attribute in record
    if type(metadata) is not dict:
        if has_label:
            add(Rule.METADATA_NOT_OBJECT, f"`{attribute}-metadata` must be an object")
        return None  # without its label, an input key that merely ends with -metadata, carried through
    failure_reason = metadata.get("failure-reason")
    if not has_label:
        if failure_reason is None:
            if not _looks_like_label_metadata(metadata):
                return None  # an input key that merely ends with -metadata, carried through
            add(Rule.LABEL_MISSING, f"`{attribute}-metadata` has no `{attribute}` label and no `failure-reason`")
            return None
        if type(failure_reason) is not str:
            add(Rule.FAILURE_REASON, "`failure-reason` must be a string")
            return None
    if not ATTRIBUTE_NAME.match(attribute):
        add(Rule.ATTRIBUTE_NAME, f"label attribute name `{attribute}` does not match [a-zA-Z0-9](-*[a-zA-Z0-9])*")
    elif attribute.endswith(METADATA_SUFFIX):
        add(Rule.METADATA_SUFFIX, f"label attribute name `{attribute}` must not end with `-metadata`")

    if not has_label:
        # A failed object's metadata carries the reason; the rest of the metadata is not guaranteed.
        return LabelPair(attribute, None, metadata, failure_reason)

    type_string = metadata.get("type")
    task_type: TaskType | None = None
    if type_string is None:
        add(Rule.TYPE_MISSING, "metadata has no `type`")
    elif type(type_string) is not str or not type_string:
        add(Rule.TYPE_INVALID, "metadata `type` must be a non-empty string")
    else:
        task_type = task_type_of(type_string)
    _check_common_metadata(metadata, add)

    if task_type is not None and task_type is not TaskType.CUSTOM:
        is_ref = attribute.endswith("-ref")
        if task_type in REF_TASK_TYPES and not is_ref:
            add(Rule.REF_REQUIRED, f"a {task_type.groundtruth_type} label attribute must end with `-ref`")
        elif task_type not in REF_TASK_TYPES and is_ref:
            add(Rule.REF_FORBIDDEN, f"a {task_type.groundtruth_type} label attribute must not end with `-ref`")
        checker = _TYPE_CHECKS.get(task_type)
        if checker is not None:
            checker(record[attribute], metadata, add)
    return LabelPair(attribute, record[attribute], metadata)


def label_attribute_problem(attribute: str, type_string: str | None = None) -> str | None:
    """Why Ground Truth would refuse `attribute` as a LabelAttributeName (for a task of `type_string`,
    e.g. `groundtruth/semantic-segmentation`), or None: the rules the line check applies."""
    if not ATTRIBUTE_NAME.match(attribute):
        return f"label attribute name `{attribute}` does not match [a-zA-Z0-9](-*[a-zA-Z0-9])* (at most 127 characters)"
    if attribute.endswith(METADATA_SUFFIX):
        return f"label attribute name `{attribute}` must not end with `-metadata`"
    task_type = task_type_of(type_string) if type_string else None
    if task_type is None or task_type is TaskType.CUSTOM:
        return None
    if task_type in REF_TASK_TYPES and not attribute.endswith("-ref"):
        return f"a {task_type.groundtruth_type} label attribute must end with `-ref`"
    if task_type not in REF_TASK_TYPES and attribute.endswith("-ref"):
        return f"a {task_type.groundtruth_type} label attribute must not end with `-ref`"
    return None


def _looks_like_label_metadata(metadata: dict[str, Any]) -> bool:
    return "type" in metadata or "job-name" in metadata or "job_name" in metadata


def _check_common_metadata(metadata: dict[str, Any], add: _Add) -> None:
    # Custom Lambdas' docs spell some keys with underscores; real files use hyphens. Accept both.
    job_name = metadata.get("job-name", metadata.get("job_name"))
    if job_name is None:
        add(Rule.JOB_NAME_MISSING, "metadata has no `job-name`")
    elif type(job_name) is not str or not job_name:
        add(Rule.JOB_NAME, "metadata `job-name` must be a non-empty string")
    human = metadata.get("human-annotated")
    if human is None:
        add(Rule.HUMAN_ANNOTATED_MISSING, "metadata has no `human-annotated`")
    elif human != "yes" and human != "no":
        add(Rule.HUMAN_ANNOTATED, f'`human-annotated` is {_show(human)}, must be "yes" or "no"')
    created = metadata.get("creation-date", metadata.get("creation_date"))
    if created is None:
        add(Rule.CREATION_DATE_MISSING, "metadata has no `creation-date`")
    elif not _is_date(created):
        add(Rule.CREATION_DATE, f"`creation-date` {_show(created)} is not an ISO 8601 date-time")
    status = metadata.get("adjustment-status")
    if status is not None and status != "adjusted" and status != "unadjusted":
        add(Rule.ADJUSTMENT_STATUS, f"`adjustment-status` is {_show(status)}, must be adjusted or unadjusted")


def _is_date(value: Any) -> bool:
    if type(value) is not str:
        return False
    if value.endswith("z"):  # RFC 3339 allows a lower-case z (as the fast path does); fromisoformat does not
        value = value[:-1] + "Z"
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _show(value: Any, limit: int = 60) -> str:
    text = msgspec.json.encode(value).decode() if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> TypeGuard[int | float]:
    kind = type(value)
    return kind is int or kind is float


def _is_confidence(value: Any) -> bool:
    return (type(value) is int or type(value) is float) and 0 <= value <= 1


def _class_id(value: Any) -> int | None:
    """Class ids are ints in real files, numeric strings in some docs: accept both."""
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is str:
        return decimal_index(value)  # past 18 digits it is no position in a class list (and int() may refuse it)
    return None


def _check_class_map(metadata: dict[str, Any], ids: set[int] | list[int], add: _Add, key: str = "class-map") -> None:
    class_map = metadata.get(key)
    if class_map is None and key == "class-map":
        class_map = metadata.get("class_map")  # the 3D docs' spelling
    if type(class_map) is not dict:
        add(Rule.CLASS_MAP, f"metadata `{key}` must be an object of class id to name")
        return
    for class_id in ids:
        if str(class_id) not in class_map:
            add(Rule.CLASS_MAP_MISSING_ID, f"class id {class_id} is not in `{key}`")
            return


def _check_single_label(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    if _class_id(label) is None:
        add(Rule.CLASS_INDEX, f"label {_show(label)} is not a class index (a non-negative integer)")
    name = metadata.get("class-name")
    if type(name) is not str:
        add(Rule.CLASS_NAME, "metadata `class-name` must be a string")
    confidence = metadata.get("confidence")
    if confidence is None:
        add(Rule.CONFIDENCE_MISSING, "metadata has no `confidence`")
    elif not _is_confidence(confidence):
        add(Rule.CONFIDENCE, f"`confidence` {_show(confidence)} is not a number in [0, 1]")


def _check_multilabel(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    if type(label) is not list:
        add(Rule.LABEL_SHAPE, "a multi-label label must be a list of class indexes")
        return
    ids = []
    for value in label:
        class_id = _class_id(value)
        if class_id is None:
            add(Rule.CLASS_INDEX, f"label entry {_show(value)} is not a class index")
            return
        ids.append(class_id)
    _check_class_map(metadata, ids, add)
    confidences = metadata.get("confidence-map")
    if confidences is not None:
        if type(confidences) is not dict:
            add(Rule.CONFIDENCE, "metadata `confidence-map` must be an object of class id to confidence")
        elif not all(_is_confidence(value) for value in confidences.values()):
            add(Rule.CONFIDENCE, "every `confidence-map` value must be a number in [0, 1]")


def _check_boxes(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    if type(label) is not dict or type(label.get("annotations")) is not list:
        add(Rule.LABEL_SHAPE, "a bounding-box label must be an object with an `annotations` list")
        return
    image_size = label.get("image_size")
    if image_size is not None and not _valid_image_size(image_size):
        add(Rule.IMAGE_SIZE, "`image_size` must be a list of {width, height, depth} with non-negative numbers")
    annotations = label["annotations"]
    ids = set()
    for position, box in enumerate(annotations, 1):
        if type(box) is not dict:
            add(Rule.BOX_SHAPE, f"box {position} is not an object")
            return
        class_id = _class_id(box.get("class_id"))
        if class_id is None:
            add(Rule.CLASS_INDEX, f"box {position}: class_id {_show(box.get('class_id'))} is not a class index")
            return
        ids.add(class_id)
        left, top, width, height = box.get("left"), box.get("top"), box.get("width"), box.get("height")
        if not (_is_number(left) and _is_number(top) and _is_number(width) and _is_number(height)):
            add(Rule.BOX_SHAPE, f"box {position}: left, top, width and height must be numbers")
            return
        if width < 0 or height < 0:
            add(Rule.BOX_NEGATIVE, f"box {position}: width {width} and height {height} must be >= 0")
            return
    _check_class_map(metadata, ids, add)
    _check_parallel_confidences(metadata, "objects", len(annotations), Rule.OBJECTS_MISMATCH, add)


def _valid_image_size(image_size: Any) -> bool:
    if type(image_size) is not list:
        return False
    for size in image_size:
        if type(size) is not dict:
            return False
        for key in ("width", "height"):
            value = size.get(key)
            if not _is_number(value) or value < 0:
                return False
    return True


def _check_parallel_confidences(metadata: dict[str, Any], key: str, expected: int, rule: str, add: _Add) -> None:
    entries = metadata.get(key)
    if type(entries) is not list or len(entries) != expected:
        count = len(entries) if type(entries) is list else "no"
        add(rule, f"metadata `{key}` has {count} entries for {expected} annotations")
        return
    for position, entry in enumerate(entries, 1):
        confidence = entry.get("confidence") if type(entry) is dict else None
        # 3D tracking writes `confidence: []`; only scalar confidences are range-checked.
        if type(confidence) is list:
            continue
        if not _is_confidence(confidence):
            add(Rule.CONFIDENCE, f"`{key}` entry {position}: confidence {_show(confidence)} is not in [0, 1]")
            return


def _check_uri_label(label: Any, add: _Add) -> None:
    if type(label) is not str or not label.startswith("s3://"):
        add(Rule.LABEL_URI, f"label {_show(label)} must be an s3:// URI")


def _check_semantic_segmentation(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    _check_uri_label(label, add)
    color_map = metadata.get("internal-color-map")
    if type(color_map) is not dict:
        add(Rule.COLOR_MAP, "metadata `internal-color-map` must be an object")
        return
    for class_id, entry in color_map.items():
        if type(entry) is not dict or type(entry.get("class-name")) is not str:
            add(Rule.COLOR_MAP, f"`internal-color-map` entry {class_id} needs a `class-name`")
            return
        color = entry.get("hex-color")
        if type(color) is not str or not HEX_COLOR.match(color):
            add(Rule.COLOR_MAP, f"`internal-color-map` entry {class_id}: hex-color {_show(color)} is not #rrggbb")
            return
        confidence = entry.get("confidence")
        if confidence is not None and not _is_confidence(confidence):
            add(Rule.CONFIDENCE, f"`internal-color-map` entry {class_id}: confidence is not in [0, 1]")
            return


def _check_entities(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    annotations = label.get("annotations") if type(label) is dict else None
    entities = annotations.get("entities") if type(annotations) is dict else None
    if type(entities) is not list:
        add(Rule.LABEL_SHAPE, "a text-span label must be {annotations: {entities: [...], labels: [...]}}")
        return
    for position, entity in enumerate(entities, 1):
        if type(entity) is not dict:
            add(Rule.SPAN, f"entity {position} is not an object")
            return
        start, end = entity.get("startOffset"), entity.get("endOffset")
        if type(start) is not int or type(end) is not int or not 0 <= start <= end:
            add(Rule.SPAN, f"entity {position}: offsets {_show(start)}..{_show(end)} must be 0 <= start <= end")
            return
        if type(entity.get("label")) is not str:
            add(Rule.SPAN, f"entity {position} has no string `label`")
            return
    _check_parallel_confidences(metadata, "entities", len(entities), Rule.ENTITIES_MISMATCH, add)


def _check_video(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    _check_uri_label(label, add)
    if type(metadata.get("class-map")) is not dict:
        add(Rule.CLASS_MAP, "metadata `class-map` must be an object of class id to name")


def _check_point_cloud_detection(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    if type(label) is not dict or type(label.get("annotations")) is not list:
        add(Rule.LABEL_SHAPE, "a 3D detection label must be an object with an `annotations` list")
        return
    ids = set()
    for position, cuboid in enumerate(label["annotations"], 1):
        class_id = _class_id(cuboid.get("class-id", cuboid.get("class_id"))) if type(cuboid) is dict else None
        if class_id is None:
            add(Rule.CLASS_INDEX, f"cuboid {position} has no class id")
            return
        ids.add(class_id)
    _check_class_map(metadata, ids, add)


def _check_point_cloud_segmentation(label: Any, metadata: dict[str, Any], add: _Add) -> None:
    _check_uri_label(label, add)
    if type(metadata.get("color-map")) is not dict:
        add(Rule.COLOR_MAP, "metadata `color-map` must be an object")


_TYPE_CHECKS: dict[TaskType, Callable[[Any, dict[str, Any], _Add], None]] = {
    TaskType.IMAGE_CLASSIFICATION: _check_single_label,
    TaskType.TEXT_CLASSIFICATION: _check_single_label,
    TaskType.LABEL_VERIFICATION: _check_single_label,
    TaskType.IMAGE_MULTILABEL: _check_multilabel,
    TaskType.TEXT_MULTILABEL: _check_multilabel,
    TaskType.OBJECT_DETECTION: _check_boxes,
    TaskType.SEMANTIC_SEGMENTATION: _check_semantic_segmentation,
    TaskType.TEXT_SPAN: _check_entities,
    TaskType.VIDEO_DETECTION: _check_video,
    TaskType.VIDEO_TRACKING: _check_video,
    TaskType.POINT_CLOUD_DETECTION: _check_point_cloud_detection,
    TaskType.POINT_CLOUD_TRACKING: _check_video,
    TaskType.POINT_CLOUD_SEGMENTATION: _check_point_cloud_segmentation,
}
