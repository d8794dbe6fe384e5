"""Hostile inputs shared by the sweep: each is bytes a user could hand a command or S3 could hand a
handler. Sizes are kept small enough for the suite; a test that needs a large one builds it itself."""

from __future__ import annotations

import json
from typing import Any

BOM = b"\xef\xbb\xbf"
DEPTH = 100_000  # far past any recursion limit, still only 200 kB


def deep_array(depth: int = DEPTH) -> bytes:
    return b"[" * depth + b"]" * depth


def deep_object(depth: int = DEPTH) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def huge_integer(digits: int = 5000) -> bytes:
    return b"9" * digits


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# Whole documents that are not usable JSON, by name: each is a case of the sweep.
NOT_JSON: dict[str, bytes] = {
    "empty": b"",
    "whitespace": b"  \n\t\r\n  ",
    "nul-bytes": b"\x00\x00\x00\x00",
    "binary": bytes(range(256)) * 4,
    "truncated": b'{"answers":[{"workerId":"w',
    "invalid-utf8": b'{"answers":"\xff\xfe"}',
    "deep-array": deep_array(),
    "deep-object": deep_object(),
    "nan": b'{"answers":[],"x":NaN}',
    "infinity": b'{"answers":[],"x":-Infinity}',
    "huge-integer": b'{"answers":[],"x":' + huge_integer() + b"}",
    "number-out-of-range": b'{"answers":[],"x":1e999}',
}

# Ids that `str.isdigit()` takes but `int()` does not, or that are not Ground Truth's ASCII numbering.
NON_ASCII_DIGITS = ("\u00b2", "\u0663", "\u2460")  # superscript two, Arabic-Indic three, circled one
