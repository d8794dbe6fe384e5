"""How a line names its object: by Ground Truth's dedup key when it carries one, else by its line index.

A streaming job's line names its dedup key in `dataset-objectid-attribute-name` (a key of the caller's
or Ground Truth's own `$label-attribute-name-object-id`); that key's value is the object's
`datasetObjectId` on the SNS channel and in the job's periodic manifests alike, so both channels meet
on the same ledger fact. Other lines keep their 0-based line index, as Ground Truth numbers them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gtproc.domain.ledger import fingerprint

OBJECT_ID_ATTRIBUTE = "dataset-objectid-attribute-name"
_MARKER = OBJECT_ID_ATTRIBUTE.encode()
_generic = msgspec.json.Decoder()


def object_id_of(record: Any) -> str | None:
    """The dedup id a decoded line names, or None (no key, or a key whose value is not a string or number)."""
    if not isinstance(record, dict):
        return None
    key = record.get(OBJECT_ID_ATTRIBUTE)
    value = record.get(key) if isinstance(key, str) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


def object_id_in(data: bytes) -> str | None:
    """`object_id_of` of a raw line, decoding it only when the marker is in it (the hot path stays as it was)."""
    if _MARKER not in data:
        return None
    try:
        return object_id_of(_generic.decode(data))
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None


MAX_INDEX_DIGITS = 18  # under 2**63; a datasetObjectId is a line index, a class id a position


def decimal_index(text: str, max_digits: int = MAX_INDEX_DIGITS) -> int | None:
    """The int of a string of ASCII digits, or None: `str.isdigit` also takes '²' (which int() refuses)
    and int() refuses past 4,300 digits with a ValueError."""
    if 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None


def object_index(object_id: str) -> int:
    """The ledger index of an object id: a decimal id is Ground Truth's own numbering and is kept; any
    other id maps to a negative 63-bit hash, apart from every line index."""
    if object_id.isascii() and object_id.isdigit() and len(object_id) < 19:
        return int(object_id)
    return -fingerprint(object_id) - 1
