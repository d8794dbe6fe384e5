"""Fast acceptance of manifest lines: decode and check a whole line in one pass in C.

Lines of one manifest share a few shapes (the same keys, the same task type). Once the reference
validator (`validation.py`) has accepted a line, its shape is compiled into a msgspec Struct that
rejects unknown keys and encodes every per-value rule as a type constraint; the few cross-field rules
(class-map covers the class ids, confidences parallel to annotations) run as small Python checks.
A line the fast path rejects is not necessarily invalid: it goes to the reference validator, which
decides and names the rule. So the fast path may be stricter than the reference, never laxer
(tests/unit/format/test_format_properties.py checks this on generated lines).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

import msgspec

from gtproc.domain.formats import LABEL_MODELS, METADATA_MODELS, FailedMetadata
from gtproc.domain.groundtruth import MULTILABEL_TYPES, TaskType, task_type_of
from gtproc.domain.validation import METADATA_SUFFIX, LineResult, LineStatus

PostCheck = Callable[[Any], bool]


class PairShape(msgspec.Struct, frozen=True):
    attribute: str
    failed: bool
    label_field: str | None
    metadata_field: str


class Shape(msgspec.Struct, frozen=True):
    decoder: msgspec.json.Decoder[Any]
    status: LineStatus
    source_field: str | None
    source_ref_field: str | None
    pairs: tuple[PairShape, ...]
    check: PostCheck | None  # the cross-field rules the Struct cannot express


_metadata_models: dict[str, type] = {}
# msgspec refuses these in a renamed field name; a line with such a key is left to the reference.
_UNNAMEABLE = re.compile(r'["\\\x00-\x1f]')


def _metadata_model(task_type: TaskType, type_string: str) -> type:
    model = _metadata_models.get(type_string)
    if model is None:
        model = msgspec.defstruct(
            "Metadata",
            [("type", Literal[type_string])],
            bases=(METADATA_MODELS[task_type],),
            kw_only=True,
            rename="kebab",
        )
        _metadata_models[type_string] = model
    return model


def compile_shape(result: LineResult) -> Shape | None:
    """Compile the shape of a line the reference validator accepted; None when it has no fast path."""
    record = result.record
    if record is None or result.status is LineStatus.INVALID:
        return None
    pair_by_metadata_key = {pair.attribute + METADATA_SUFFIX: pair for pair in result.pairs}
    labeled_attributes = {pair.attribute for pair in result.pairs if not pair.failed}
    fields: list[tuple[str, Any]] = []
    rename: dict[str, str] = {}
    pairs: list[PairShape] = []
    post_checks: list[PostCheck] = []
    source_field = source_ref_field = None
    label_fields: dict[str, str] = {}
    for position, key in enumerate(record):
        if _UNNAMEABLE.search(key):
            return None
        name = f"f{position}"
        rename[name] = key
        if key == "source-ref":
            source_ref_field = name
            fields.append((name, str))  # its s3:// prefix is checked in Python: cheaper than a regex
        elif key == "source":
            source_field = name
            fields.append((name, str))
        elif key in labeled_attributes:
            label_fields[key] = name
            fields.append((name, Any))  # replaced once the pair's type is known
        elif key.endswith(METADATA_SUFFIX):
            pair = pair_by_metadata_key.get(key)
            if pair is None:
                return None  # an input key ending in -metadata: only the reference can tell it apart
            fields.append((name, None))
        else:
            # Input keys are carried through, not checked, but decoded: msgspec.Raw would skip their bytes
            # without checking UTF-8 or number range, which the reference does.
            fields.append((name, Any))
    if source_field is not None and source_ref_field is not None:
        return None
    field_index = {rename[name]: index for index, (name, _) in enumerate(fields)}
    for pair in result.pairs:
        metadata_index = field_index[pair.attribute + METADATA_SUFFIX]
        metadata_name = fields[metadata_index][0]
        if pair.failed:
            fields[metadata_index] = (metadata_name, FailedMetadata)
            pairs.append(PairShape(pair.attribute, True, None, metadata_name))
            continue
        task_type = task_type_of(pair.task_type)
        if task_type is None:
            task_type = TaskType.CUSTOM  # unknown types get the common checks only
        if task_type not in METADATA_MODELS:
            return None
        label_name = label_fields[pair.attribute]
        fields[field_index[pair.attribute]] = (label_name, LABEL_MODELS[task_type])
        fields[metadata_index] = (metadata_name, _metadata_model(task_type, pair.task_type))
        check = _post_check(task_type, label_name, metadata_name)
        if check is not None:
            post_checks.append(check)
        pairs.append(PairShape(pair.attribute, False, label_name, metadata_name))
    if source_ref_field is not None:
        post_checks.insert(0, _source_ref_check(source_ref_field))
    struct = msgspec.defstruct("Line", fields, rename=rename, forbid_unknown_fields=True)
    return Shape(
        msgspec.json.Decoder(struct),
        result.status,
        source_field,
        source_ref_field,
        tuple(pairs),
        _all_of(post_checks),
    )


def _source_ref_check(field_name: str) -> PostCheck:
    return lambda line: getattr(line, field_name).startswith("s3://")


def _all_of(checks: list[PostCheck]) -> PostCheck | None:
    if not checks:
        return None
    if len(checks) == 1:
        return checks[0]
    return lambda line: all(check(line) for check in checks)


def _covers(class_map: dict[str, Any], class_ids: Any) -> bool:
    return all(str(class_id) in class_map for class_id in class_ids)


def _post_check(task_type: TaskType, label_name: str, metadata_name: str) -> PostCheck | None:
    if task_type is TaskType.OBJECT_DETECTION:

        def check_boxes(line: Any) -> bool:
            label, metadata = getattr(line, label_name), getattr(line, metadata_name)
            boxes = label.annotations
            return len(metadata.objects) == len(boxes) and _covers(metadata.class_map, [b.class_id for b in boxes])

        return check_boxes
    if task_type in MULTILABEL_TYPES:
        return lambda line: _covers(getattr(line, metadata_name).class_map, getattr(line, label_name))
    if task_type is TaskType.TEXT_SPAN:

        def check_entities(line: Any) -> bool:
            entities = getattr(line, label_name).annotations.entities
            return len(getattr(line, metadata_name).entities) == len(entities) and all(
                entity.startOffset <= entity.endOffset for entity in entities
            )

        return check_entities
    return None


def _signature(result: LineResult) -> tuple[Any, ...]:
    assert result.record is not None
    return (tuple(result.record), tuple((pair.attribute, pair.failed, pair.task_type) for pair in result.pairs))


class FastPath:
    """The shapes seen so far in one manifest, most recently matched first, at most `max_shapes`."""

    def __init__(self, max_shapes: int = 8) -> None:
        self.shapes: list[Shape] = []
        self.max_shapes = max_shapes
        self._known: dict[tuple[Any, ...], Shape | None] = {}

    def accept(self, data: bytes) -> tuple[Shape, Any] | None:
        shapes = self.shapes
        for position, shape in enumerate(shapes):
            try:
                line = shape.decoder.decode(data)
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError):
                continue
            if shape.check is not None and not shape.check(line):
                return None
            if position:
                shapes.insert(0, shapes.pop(position))
            return shape, line
        return None

    def learn(self, result: LineResult) -> None:
        """Compile the shape of a line the reference accepted, once per distinct shape."""
        if result.record is None or result.status is LineStatus.INVALID:
            return
        signature = _signature(result)
        if signature in self._known:
            shape = self._known[signature]
            if shape is None or shape in self.shapes:
                return
        else:
            if len(self._known) > 64:  # a manifest of ever-changing shapes gets no fast path
                return
            shape = self._known[signature] = compile_shape(result)
            if shape is None:
                return
        self.shapes.insert(0, shape)
        if len(self.shapes) > self.max_shapes:
            self.shapes.pop()
