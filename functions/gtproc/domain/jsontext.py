"""One strict JSON reader for the files a user hands the commands (plans, options, worker responses).

The stdlib's `json.loads` takes `NaN` and `Infinity`, which JSON forbids and which no encoder here writes
back as JSON, and ends in a RecursionError on deep nesting. This reader refuses both, reads a leading
UTF-8 byte order mark as the harmless thing it is, and says what is wrong in one line.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

_decoder = msgspec.json.Decoder()
_BOM = b"\xef\xbb\xbf"
_AT_BYTE = re.compile(r"\(byte (\d+)\)")


class JsonProblem(ValueError):
    """Why a text is not JSON, as one line (no exception class names, no traceback)."""


def decode(data: bytes | str) -> Any:
    """The JSON value of `data`; raises JsonProblem."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    raw = raw.removeprefix(_BOM)
    if not raw.strip():
        raise JsonProblem("empty, no JSON value")
    try:
        return _decoder.decode(raw)
    except RecursionError:
        raise JsonProblem("nesting too deep to decode") from None
    except msgspec.DecodeError as error:  # ValidationError too: an integer too long to hold
        raise JsonProblem(_reason(raw, str(error))) from None


def _reason(raw: bytes, message: str) -> str:
    if "out of range" in message:
        return f"a number out of range ({message})"
    at = _AT_BYTE.search(message)
    if at is not None:
        rest = raw[int(at.group(1)) :]
        for word in (b"NaN", b"Infinity"):
            if rest.startswith(word):
                return f"{word.decode()} is not a JSON number ({message})"
    return message
