"""Whole-input checks that come before the line rules: an input that is not JSON Lines at all is one
error with a hint, never one error per line."""

from __future__ import annotations

from enum import StrEnum

import msgspec


class InputRule(StrEnum):
    """Stable codes of the whole-input rules (the line rules are validation.Rule). Extend, never rename."""

    EMPTY = "empty"
    COMPRESSED = "compressed"
    BINARY = "binary"
    NOT_JSON_LINES = "not-json-lines"
    CR_LINE_ENDINGS = "cr-line-endings"


# (magic bytes, format, how to get the manifest out of it)
_COMPRESSED = (
    (b"\x1f\x8b", "gzip", "gunzip it"),
    (b"PK\x03\x04", "zip", "unzip it"),
    (b"BZh", "bzip2", "bunzip2 it"),
    (b"\xfd7zXZ\x00", "xz", "unxz it"),
    (b"\x28\xb5\x2f\xfd", "zstd", "unzstd it"),
)
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1b")
HEAD_BYTES = 64 * 1024  # enough to tell; the rest of a large input is never read when this fails
_decoder = msgspec.json.Decoder()


def sniff(head: bytes) -> tuple[str, str] | None:
    """(code, message) when the start of an input shows it is not JSON Lines, else None."""
    head = head[:HEAD_BYTES]
    for magic, name, fix in _COMPRESSED:
        if head.startswith(magic):
            return (
                InputRule.COMPRESSED,
                f"the input is {name}-compressed, not JSON Lines; hint: {fix} and validate the result",
            )
    # A bad first line followed by a JSON object line is that line's error: the input is JSON Lines.
    cut = len(head) >= HEAD_BYTES  # the input goes on past what is seen here
    if _looks_binary(head) and not _next_line_is_object(head, cut):
        return (
            InputRule.BINARY,
            "the input is binary data, not JSON Lines text; hint: pass the output.manifest file itself",
        )
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    first, _, rest = text.partition(b"\n")
    # `[1,2]` whole on line 1, with object lines after it, is that line's error; an array opened on
    # line 1 and closed further down is a JSON document.
    if text.startswith(b"[") and not (_decodes(first.rstrip(b"\r")) and _next_line_is_object(text, cut)):
        return (
            InputRule.NOT_JSON_LINES,
            "the input is a JSON array, not JSON Lines; hint: an output manifest holds one JSON object per line"
            " (`jq -c '.[]' FILE` writes an array's items one per line)",
        )
    if _cr_separated(first):
        return (
            InputRule.CR_LINE_ENDINGS,
            "the input's lines end in a lone CR (classic Mac), not LF, so it reads as one line; hint:"
            " `tr '\\r' '\\n' < FILE > FIXED` gives it LF endings",
        )
    # Pretty-printed: the first line opens a document it does not close, and the next line is indented.
    # A truncated or broken first line of a manifest is followed by another unindented object line.
    if text.startswith(b"{") and rest[:1] in (b" ", b"\t") and not _decodes(first.rstrip(b"\r")):
        return (
            InputRule.NOT_JSON_LINES,
            "the input is one JSON document spread over lines (pretty-printed), not JSON Lines; hint: an output"
            " manifest holds one compact JSON object per line (`jq -c . FILE` compacts a document)",
        )
    return None


def _next_line_is_object(head: bytes, cut: bool) -> bool:
    """Whether the first non-blank line after the first decodes as a JSON object."""
    lines = head.lstrip(b"\r\n").split(b"\n")[1:]
    if cut:
        lines = lines[:-1]  # the last piece may be part of a line
    following = next((line for line in lines if line.strip()), None)
    if following is None:
        return False
    try:
        return isinstance(_decoder.decode(following.rstrip(b"\r")), dict)
    except (msgspec.DecodeError, RecursionError):
        return False


def _cr_separated(first: bytes) -> bool:
    """The first line is objects joined by lone CRs: what comes before the first CR is a whole object,
    and another object follows it (JSON allows a CR between tokens, but not between two documents)."""
    body = first.rstrip(b"\r")
    before, cr, after = body.partition(b"\r")
    if not cr or not after.lstrip(b" \t\r").startswith(b"{"):
        return False
    try:
        return isinstance(_decoder.decode(before), dict)
    except (msgspec.DecodeError, RecursionError):
        return False


def _decodes(line: bytes) -> bool:
    try:
        _decoder.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True


def _looks_binary(head: bytes) -> bool:
    """Judged on the first line only: a manifest whose first line is text is JSON Lines, and a bad
    line further down is that line's error (the good lines around it are still validated)."""
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    if not first:
        return False
    if b"\x00" in first:
        return True
    controls = sum(1 for byte in first if byte < 0x20 and byte not in _TEXT_CONTROLS)
    if controls * 20 > len(first):  # over 5% control bytes: no text looks like that
        return True
    undecodable = first.decode("utf-8", errors="replace").count("\ufffd")
    return undecodable * 10 > len(first)
