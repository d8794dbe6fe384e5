"""One strict JSON reader for the files a user hands the commands (plans, options, worker responses).

The stdlib's `json.loads` takes `NaN` and `Infinity`, which JSON forbids and which no encoder here writes
back as JSON, and ends in a RecursionError on deep nesting. This reader refuses both, reads a leading
UTF-8 byte order mark as the harmless thing it is, and says what is wrong in one line.
"""

from __future__ import annotations

import math
import re
import sys
from typing import Any

import msgspec

from gtproc.domain.lines import UTF8_BOM

_decoder = msgspec.json.Decoder()
_AT_BYTE = re.compile(r"\(byte (\d+)\)")
_LONE_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class JsonProblem(ValueError):
    """Why a text is not JSON, as one line (no exception class names, no traceback)."""


def decode(data: bytes | str) -> Any:
    """The JSON value of `data`; raises JsonProblem."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    bom = len(UTF8_BOM) if raw.startswith(UTF8_BOM) else 0
    raw = raw[bom:]
    if not raw.strip():
        raise JsonProblem("empty, no JSON value")
    try:
        return _decoder.decode(raw)
    except RecursionError:
        raise JsonProblem("nesting too deep to decode") from None
    except msgspec.DecodeError as error:  # ValidationError too: an integer too long to hold
        raise JsonProblem(reason(raw, str(error), bom)) from None


def reason(raw: bytes, message: str, bom: int = 0) -> str:
    """msgspec's message in our words; a position counts the bytes of the file, its BOM included."""
    if "out of range" in message:
        return "a number out of range" + (f" (at {message.split(' at ', 1)[1]})" if " at " in message else "")
    if message.startswith("Invalid UTF-8"):
        return "not UTF-8 text"
    if message.startswith("Input data was truncated"):
        # msgspec says so of a lone surrogate escape too ("\ud800"), which is not valid text.
        return "ends before the JSON value does" if _LONE_SURROGATE.search(raw) is None else "an invalid string escape"
    at = _AT_BYTE.search(message)
    if at is None:
        return "not valid JSON"
    offset = int(at.group(1))
    rest = raw[offset:]
    for word in (b"NaN", b"Infinity", b"-Infinity"):
        if rest.startswith(word):
            return f"{word.decode()} is not a JSON number (at byte {offset + bom})"
    what = message.removeprefix("JSON is malformed: ").split(" (byte", 1)[0]
    return f"not valid JSON at byte {offset + bom}: {what}"


def finite_number(value: Any) -> float | None:
    """A JSON number as a finite float, or None (not a number, a bool, or an int past float's range:
    float(10**400) raises, so it is compared first, exactly)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not -_FLOAT_MAX <= value <= _FLOAT_MAX:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


_FLOAT_MAX = sys.float_info.max
