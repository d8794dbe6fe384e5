"""The job's labels so far: one JSON line per published object, in `part-*.jsonl` files under the
job's `labelsUri` (read every part in name order). Each line is the object as its event carries it,
in full even when the event had to omit its label, followed by the event frame's fields."""

from __future__ import annotations

from typing import Any, Literal

import msgspec


class _Line(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True):
    pass


class LabeledLine(_Line, kw_only=True):
    dataset_object_id: str
    source: str | None = None
    source_ref: str | None = None
    label: Any
    metadata: dict[str, Any]
    human_annotated: bool
    label_attribute_name: str
    status: Literal["labeled"]
    iteration: int | None  # null for the final manifest; always present
    manifest_uri: str


class FailedLine(_Line, kw_only=True):
    dataset_object_id: str
    source: str | None = None
    source_ref: str | None = None
    failure_reason: str
    label_attribute_name: str
    status: Literal["failed"]
    iteration: int | None
    manifest_uri: str
