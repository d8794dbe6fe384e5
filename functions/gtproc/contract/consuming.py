"""What a consumer of the bus needs: the event pattern of each detail type and the key to deduplicate on.

`python -m gtproc.contract.consuming --write docs/consuming.md` renders both between the markers of
that file; `--check` fails when the file and the contract differ (a test runs it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from gtproc.contract.docblocks import DocBlock
from gtproc.contract.events import (
    ANNOTATION_FILE_INVALID,
    ANNOTATIONS_CONSOLIDATED,
    CONSOLIDATION_COMPARED,
    DEFAULT_EVENT_SOURCE,
    DETAIL_TYPES,
    JOB_COMPLETED,
    JOB_STATUS_CHANGED,
    OBJECTS_FAILED,
    OBJECTS_LABELED,
    VALIDATION_FAILED,
)

START, END = "<!-- consuming-patterns:start -->", "<!-- consuming-patterns:end -->"
DOC = "docs/consuming.md"  # where the patterns are published, relative to the repository root

# The fields that name one fact. `objects[].x` is a field of each item of `objects` (one fact per
# object); `errors[].x` one per error. Never the event's `id`: a fact repeated in the
# documented window, or replayed from the archive, comes back in a new event with a new id.
DEDUP_KEYS: dict[str, tuple[str, ...]] = {
    OBJECTS_LABELED: ("bucket", "jobPath", "labelAttributeName", "objects[].datasetObjectId"),
    OBJECTS_FAILED: ("bucket", "jobPath", "labelAttributeName", "objects[].datasetObjectId"),
    # A rewrite that breaks a line anew is a new fact; a repeat carries the same manifest and error.
    VALIDATION_FAILED: ("bucket", "jobPath", "manifestUri", "errors[].line", "errors[].attribute", "errors[].code"),
    JOB_COMPLETED: ("bucket", "jobPath"),
    ANNOTATIONS_CONSOLIDATED: ("bucket", "jobPath", "iteration", "datasetObjectId"),
    CONSOLIDATION_COMPARED: ("bucket", "jobPath", "iteration", "datasetObjectId"),
    ANNOTATION_FILE_INVALID: ("fileUri",),
    JOB_STATUS_CHANGED: ("jobName", "status"),  # once per job and status
}


def event_pattern(
    detail_types: Iterable[str] = (), *, source: str = DEFAULT_EVENT_SOURCE, job: str | None = None
) -> dict[str, Any]:
    """The EventBridge pattern of gtproc's events of these detail types (all when empty), of one job if given."""
    pattern: dict[str, Any] = {"source": [source]}
    chosen = list(dict.fromkeys(detail_types))
    unknown = [name for name in chosen if name not in DETAIL_TYPES]
    if unknown:
        raise ValueError(f"unknown detail type {unknown[0]!r}; known: {', '.join(DETAIL_TYPES)}")
    if chosen:
        pattern["detail-type"] = chosen
    if job is not None:
        pattern["detail"] = {"jobName": [job]}
    return pattern


def render() -> str:
    parts = [START, "", "| Detail type | Event pattern | Deduplicate on |", "| --- | --- | --- |"]
    for detail_type in DETAIL_TYPES:
        pattern = json.dumps(event_pattern([detail_type]), separators=(", ", ": "))
        keys = ", ".join(f"`{key}`" for key in DEDUP_KEYS[detail_type])
        parts.append(f"| `{detail_type}` | `{pattern}` | {keys} |")
    parts += ["", END]
    return "\n".join(parts)


BLOCK = DocBlock("gtproc.contract.consuming", DOC, START, END, render, "the event patterns differ from gtproc.contract")
main = BLOCK.main


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
