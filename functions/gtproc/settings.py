"""Runtime settings of the Lambda handlers: read once from the environment, here and nowhere else.

A frozen dataclass rather than pydantic-settings: loading pydantic was a large part of each cold start.
The rules are pydantic-settings' own for these types (case-insensitive names, lax booleans, JSON
objects), so the same environment gives the same settings; a bad value fails as one line naming
the variable and the rule.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any

from gtproc.contract import DEFAULT_EVENT_SOURCE

ENV_PREFIX = "GTPROC_"
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INTEGER = re.compile(r"[+-]?[0-9](?:_?[0-9])*(?:\.0*)?")  # what pydantic took: "1_000", "+7", "1.0"


class SettingsError(ValueError):
    """An environment the functions cannot run with; the message is one line."""


def _doc(description: str, *, positive: bool = False) -> dict[str, Any]:
    return {"description": description, "positive": positive}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Environment variables set by the stack (infra/) and by the local replay: GTPROC_<FIELD NAME>."""

    event_bus_name: str = field(metadata=_doc("Name of the bus events are published on"))
    event_source: str = field(default=DEFAULT_EVENT_SOURCE, metadata=_doc("`source` of published events"))
    table_name: str = field(metadata=_doc("DynamoDB table of per-job and per-object state"))
    labels_bucket: str = field(metadata=_doc("Bucket for the labels so far and the job ledgers"))
    labels_prefix: str = field(default="labels", metadata=_doc("Key prefix under labels_bucket"))
    key_prefix: str = field(default="", metadata=_doc("Ground Truth output prefix the pipeline watches"))
    lease_seconds: int = field(default=900, metadata=_doc("How long a job lease lasts without renewal"))
    max_file_bytes: int = field(
        default=16 * 1024 * 1024, metadata=_doc("Largest worker-response or consolidation file read", positive=True)
    )
    max_mask_pixels: int = field(
        default=4 * 1024 * 1024, metadata=_doc("Largest segmentation mask decoded", positive=True)
    )
    max_shapes_per_answer: int = field(default=500, metadata=_doc("Most boxes or spans in one answer", positive=True))
    max_shapes_per_object: int = field(
        default=1500, metadata=_doc("Most boxes or spans over one object's answers", positive=True)
    )
    max_classes: int = field(default=1000, metadata=_doc("Most classes in a job", positive=True))
    describe_jobs: bool = field(
        default=True, metadata=_doc("Ask SageMaker (DescribeLabelingJob) for a job's attribute, task and categories")
    )
    streaming_jobs: dict[str, str] = field(
        default_factory=dict, metadata=_doc("Streaming jobs: output topic ARN -> labeling job name (JSON)")
    )
    streaming_queues: dict[str, str] = field(
        default_factory=dict, metadata=_doc("Streaming jobs: queue ARN -> output topic ARN (JSON), for raw deliveries")
    )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings in `environ` (default: the process's), every field checked before any is used."""
        source = os.environ if environ is None else environ
        # Names are case-insensitive, as pydantic-settings read them.
        found = {name.lower(): value for name, value in source.items() if name.upper().startswith(ENV_PREFIX)}
        values: dict[str, Any] = {}
        missing = []
        for spec in fields(cls):
            name = env_name(spec.name)
            raw = found.get(name.lower())
            if raw is None:
                if spec.default is MISSING and spec.default_factory is MISSING:
                    missing.append(name)
                continue
            values[spec.name] = _parse(name, raw, spec.type, positive=spec.metadata["positive"])
        if missing:
            raise SettingsError(f"settings: {', '.join(missing)} not set (required)")
        return cls(**values)


def _parse(name: str, raw: str, kind: object, *, positive: bool) -> Any:
    def bad(rule: str) -> SettingsError:
        shown = raw if len(raw) <= 60 else raw[:57] + "..."
        return SettingsError(f"settings: {name}={shown!r}: {rule}")

    if kind == "str":
        return raw
    if kind == "bool":
        text = raw.lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise bad("must be a boolean (true/false, yes/no, on/off, 1/0)")
    if kind == "int":
        text = raw.strip()
        if not _INTEGER.fullmatch(text):
            raise bad("must be an integer")
        number = int(text.partition(".")[0])
        if positive and number <= 0:
            raise bad("must be greater than 0")
        return number
    if kind == "dict[str, str]":
        try:
            mapping = json.loads(raw)
        except ValueError:
            raise bad("must be a JSON object") from None
        if not isinstance(mapping, dict):
            raise bad("must be a JSON object")
        if not all(isinstance(value, str) for value in mapping.values()):
            raise bad("must map names to strings")
        return mapping
    raise TypeError(f"no parser for setting type {kind!r}")  # a field added without one


def env_name(name: str) -> str:
    """The environment variable of a field: GTPROC_ and its name, upper case."""
    return f"{ENV_PREFIX}{name}".upper()


def field_names() -> tuple[str, ...]:
    return tuple(spec.name for spec in fields(Settings))


def required_names() -> frozenset[str]:
    """Fields with no default: the stack must set them."""
    return frozenset(
        spec.name for spec in fields(Settings) if spec.default is MISSING and spec.default_factory is MISSING
    )


def default(name: str) -> Any:
    """A field's default (the bounds the stack sets explicitly, at their documented values)."""
    spec = next(spec for spec in fields(Settings) if spec.name == name)
    if spec.default_factory is not MISSING:
        return spec.default_factory()
    if spec.default is MISSING:
        raise KeyError(f"setting {name} has no default")
    return spec.default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ()
