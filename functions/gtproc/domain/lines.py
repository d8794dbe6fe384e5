"""Split a stream of byte chunks into lines, with memory bounded by the longest line kept."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import cast

import msgspec

UTF8_BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_LINE_BYTES = 32 * 1024 * 1024


class TooLong(msgspec.Struct, frozen=True):
    """Stands for a line longer than the limit: it was dropped rather than held in memory."""

    length: int


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line


def iter_lines(chunks: Iterable[bytes], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[bytes | TooLong]:
    """Yield every line, blank ones included, without its `\\n` or `\\r\\n` ending.

    Number them with `enumerate(..., 1)`. A UTF-8 byte order mark at the very start is dropped.
    """
    for batch in iter_line_batches(chunks, max_line_bytes):
        yield from batch


def iter_line_batches(
    chunks: Iterable[bytes], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[list[bytes | TooLong]]:
    """The lines of `iter_lines`, a list per chunk: hot loops iterate plain lists, not a generator."""
    pending: list[bytes] = []  # pieces of the current line, joined once: long lines stay linear
    pending_size = 0
    overflow = False  # the current line passed the limit: its bytes are being skipped
    first = True
    head = b""  # the first bytes, held back while they may still be a BOM split across chunks
    for chunk in chunks:
        if not chunk:
            continue
        if first:
            head += chunk
            if len(head) < len(UTF8_BOM) and UTF8_BOM.startswith(head):
                continue
            first = False
            chunk = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
            head = b""
        batch: list[bytes | TooLong] = []
        start = 0
        if pending or overflow:
            end = chunk.find(b"\n")
            if end < 0:
                pending_size += len(chunk)
                if overflow or pending_size > max_line_bytes:
                    overflow, pending = True, []
                else:
                    pending.append(chunk)
                continue
            size = pending_size + end
            if overflow or size > max_line_bytes:
                batch.append(TooLong(size))
            else:
                batch.append(_strip_cr(b"".join((*pending, chunk[:end]))))
            pending, pending_size, overflow = [], 0, False
            start = end + 1
        lines = chunk[start:].split(b"\n") if start else chunk.split(b"\n")
        tail = lines.pop()
        parts = cast("list[bytes | TooLong]", lines)  # the same list: no copy on the hot path
        # Per-line checks only when the chunk can hold such lines: most chunks need none.
        if len(chunk) > max_line_bytes:
            parts = [line if len(line) <= max_line_bytes else TooLong(len(line)) for line in lines]
        if b"\r" in chunk:
            parts = [_strip_cr(line) if type(line) is bytes else line for line in parts]
        if batch:
            batch.extend(parts)
        else:
            batch = parts
        if batch:
            yield batch
        if tail:
            pending_size = len(tail)
            if pending_size > max_line_bytes:
                overflow = True
            else:
                pending.append(tail)
    if head:  # the whole input was the start of a BOM, and no BOM: it is data
        yield [head if len(head) <= max_line_bytes else TooLong(len(head))]
    elif overflow:
        yield [TooLong(pending_size)]
    elif pending:
        yield [_strip_cr(b"".join(pending))]
