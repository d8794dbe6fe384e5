"""Which data object a datasetObjectId is: its `source-ref` (an S3 URI) or `source` (inline text), read
from the job's input manifest (the line index is the datasetObjectId) or from Ground Truth's
`annotations/intermediate/<N>/annotations.json` (JSON Lines with `manifestLine` or `inputAttribute`)."""

from __future__ import annotations

import json
from typing import Any

from gtproc.domain.identity import decimal_index

# (event field, value): "sourceRef" for `source-ref`, "source" for `source`.
Source = tuple[str, str]


def source_of_line(line: Any) -> Source | None:
    if not isinstance(line, dict):
        return None
    if isinstance(line.get("source-ref"), str):
        return "sourceRef", line["source-ref"]
    if isinstance(line.get("source"), str):
        return "source", line["source"]
    return None


def _decode(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def sources_of_input_manifest(data: bytes) -> dict[int, Source]:
    """{line index: source} of an input manifest; a line without a source is left out."""
    found: dict[int, Source] = {}
    for index, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").split(b"\n")):
        if raw.strip() and (source := source_of_line(_decode(raw))) is not None:
            found[index] = source
    return found


def sources_of_intermediate(data: bytes) -> dict[int, Source]:
    """{datasetObjectId: source} of an `annotations/intermediate/<N>/annotations.json` (JSON Lines, or
    one JSON array of the same records)."""
    whole = _decode(data)
    records = whole if isinstance(whole, list) else [_decode(raw) for raw in data.split(b"\n") if raw.strip()]
    found: dict[int, Source] = {}
    for record in records:
        if not isinstance(record, dict):
            continue
        oid = record.get("datasetObjectId")
        # Not a bool (an int to isinstance) nor '²' (a digit to isdigit, not to int): neither is an index.
        index = oid if isinstance(oid, int) and not isinstance(oid, bool) else None
        if isinstance(oid, str):
            index = decimal_index(oid)
        if index is not None:
            source = None
            line = record.get("manifestLine")
            if isinstance(line, str):
                source = source_of_line(_decode(line))
            elif isinstance(line, dict):
                source = source_of_line(line)
            attribute = record.get("inputAttribute")
            if source is None and isinstance(attribute, str):
                source = ("sourceRef", attribute) if attribute.startswith("s3://") else ("source", attribute)
            if source is not None:
                found[index] = source
    return found
