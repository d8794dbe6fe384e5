"""Validate a whole manifest stream: counts per line status and the errors, line by line."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import msgspec

from gtproc.domain.fastpath import FastPath, Shape
from gtproc.domain.groundtruth import LineError
from gtproc.domain.identity import object_id_in, object_id_of
from gtproc.domain.lines import DEFAULT_MAX_LINE_BYTES, iter_line_batches, iter_lines
from gtproc.domain.sniff import HEAD_BYTES, InputRule, sniff
from gtproc.domain.validation import LabelPair, LineResult, LineStatus, validate_line

_generic = msgspec.json.Decoder()
_DECODE_ERRORS = (msgspec.ValidationError, msgspec.DecodeError, RecursionError, UnicodeDecodeError)
_HOT_ERRORS = (*_DECODE_ERRORS, TypeError)


class FileReport(msgspec.Struct):
    path: str
    lines: int = 0  # lines holding a record (blank lines are tolerated and not counted)
    labeled: int = 0
    unlabeled: int = 0
    failed: int = 0
    invalid: int = 0
    errors: list[LineError] = msgspec.field(default_factory=list)
    errors_omitted: int = 0  # errors beyond --max-errors, counted but not kept

    @property
    def ok(self) -> bool:
        return self.invalid == 0 and not self.errors  # a whole-input error (`empty`, `binary`, ...) has no line

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "lines": self.lines,
            "labeled": self.labeled,
            "unlabeled": self.unlabeled,
            "failed": self.failed,
            "invalid": self.invalid,
            "errors": [error.as_dict() for error in self.errors],
            # An extension, present only when --max-errors cut the list: the 7 fields stay as they are.
            **({"errorsOmitted": self.errors_omitted} if self.errors_omitted else {}),
        }


def validate_stream(
    chunks: Iterable[bytes],
    path: str,
    max_errors: int | None = None,
    on_bytes: Callable[[int], None] | None = None,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> FileReport:
    """Validate every line of a manifest read as byte chunks; memory stays flat whatever its size."""
    report = FileReport(path)
    if on_bytes is not None:
        chunks = _counting(chunks, on_bytes)
    head, chunks = _head(chunks)
    whole = sniff(head)
    if whole is not None:  # one error for the input, and the rest of it is never read
        report.errors.append(LineError(line=1, code=whole[0], message=whole[1]))
        return report
    fast = FastPath()
    counts = {LineStatus.LABELED: 0, LineStatus.UNLABELED: 0, LineStatus.FAILED: 0, LineStatus.INVALID: 0}
    errors = report.errors
    # Hot loop state: the shape that matched last usually matches again, so its decoder, check and hit
    # count live in locals; they are refreshed whenever the fast path's first shape changes.
    current: Shape | None = None
    decode: Callable[[bytes], Any] | None = None
    check: Callable[[Any], bool] | None = None
    hits = 0
    number = 0
    for batch in iter_line_batches(chunks, max_line_bytes):
        for data in batch:
            number += 1
            if decode is not None:
                try:
                    line = decode(data)  # type: ignore[arg-type]
                except _HOT_ERRORS:  # TypeError: a TooLong stand-in, not bytes
                    pass
                else:
                    if check is None or check(line):
                        hits += 1
                        continue
            if type(data) is bytes:
                if not data or data.isspace():
                    continue
                accepted = fast.accept(data)
                if accepted is not None:
                    counts[accepted[0].status] += 1
                    if fast.shapes[0] is not current:
                        if current is not None:
                            counts[current.status] += hits
                        current, hits = fast.shapes[0], 0
                        decode, check = current.decoder.decode, current.check
                    continue
            result = validate_line(number, data)
            counts[result.status] += 1
            if result.errors:
                if max_errors is None or len(errors) + len(result.errors) <= max_errors:
                    errors.extend(result.errors)
                else:
                    room = max(0, max_errors - len(errors))
                    errors.extend(result.errors[:room])
                    report.errors_omitted += len(result.errors) - room
            else:
                fast.learn(result)
                if fast.shapes and fast.shapes[0] is not current:
                    if current is not None:
                        counts[current.status] += hits
                    current, hits = fast.shapes[0], 0
                    decode, check = current.decoder.decode, current.check
    if current is not None:
        counts[current.status] += hits
    report.labeled = counts[LineStatus.LABELED]
    report.unlabeled = counts[LineStatus.UNLABELED]
    report.failed = counts[LineStatus.FAILED]
    report.invalid = counts[LineStatus.INVALID]
    report.lines = sum(counts.values())
    if report.lines == 0 and not errors:
        message = "the input is empty: an output manifest holds one JSON object per dataset object"
        errors.append(LineError(line=1, code=InputRule.EMPTY, message=message))
    return report


def _head(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes of the stream, and the whole stream again."""
    iterator = iter(chunks)
    taken: list[bytes] = []
    size = 0
    for chunk in iterator:
        taken.append(chunk)
        size += len(chunk)
        if size >= HEAD_BYTES:
            break
    return b"".join(taken), _chain(taken, iterator)


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _counting(chunks: Iterable[bytes], on_bytes: Callable[[int], None]) -> Iterator[bytes]:
    for chunk in chunks:
        on_bytes(len(chunk))
        yield chunk


class ScannedLine(msgspec.Struct):
    """One record of a manifest as the pipeline sees it. `index` is the 0-based object index."""

    index: int
    number: int
    status: LineStatus
    source: str | None
    source_ref: str | None
    attributes: tuple[tuple[str, bool, str], ...]  # (attribute, failed, job-name) per label pair
    errors: list[LineError]
    _data: bytes | None
    _record: dict[str, Any] | None = None
    object_id: str | None = None  # the dedup id the line names (gtproc.domain.identity), if any

    def record(self) -> dict[str, Any]:
        """The decoded line; decoded lazily because most lines of a rewrite are not new."""
        if self._record is None:
            self._record = _generic.decode(self._data) if self._data is not None else {}
        return self._record

    def pair(self, attribute: str) -> LabelPair:
        record = self.record()
        metadata = record.get(attribute + "-metadata") or {}
        if attribute in record:
            return LabelPair(attribute, record[attribute], metadata)
        return LabelPair(attribute, None, metadata, str(metadata.get("failure-reason", "")))


def scan_lines(chunks: Iterable[bytes], max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> Iterator[ScannedLine]:
    """Validate and classify each record of a manifest, in order, for the new-label detection."""
    fast = FastPath()
    index = 0
    for number, data in enumerate(iter_lines(chunks, max_line_bytes), 1):
        if type(data) is bytes and (not data or data.isspace()):
            continue
        accepted = fast.accept(data) if type(data) is bytes else None
        if accepted is not None:
            yield _from_fast(index, number, data, *accepted)  # type: ignore[arg-type]
        else:
            result = validate_line(number, data)
            if not result.errors:
                fast.learn(result)
            yield _from_result(index, result, data if type(data) is bytes else None)
        index += 1


def _from_fast(index: int, number: int, data: bytes, shape: Shape, line: Any) -> ScannedLine:
    attributes = tuple(
        (pair.attribute, pair.failed, "" if pair.failed else getattr(line, pair.metadata_field).job_name)
        for pair in shape.pairs
    )
    source = getattr(line, shape.source_field) if shape.source_field else None
    source_ref = getattr(line, shape.source_ref_field) if shape.source_ref_field else None
    return ScannedLine(index, number, shape.status, source, source_ref, attributes, [], data, None, object_id_in(data))


def _from_result(index: int, result: LineResult, data: bytes | None) -> ScannedLine:
    record = result.record
    source = record.get("source") if record is not None else None
    source_ref = record.get("source-ref") if record is not None else None
    attributes = tuple((pair.attribute, pair.failed, pair.job_name) for pair in result.pairs)
    return ScannedLine(
        index,
        result.number,
        result.status,
        source if isinstance(source, str) else None,
        source_ref if isinstance(source_ref, str) else None,
        attributes,
        result.errors,
        data,
        record,
        object_id_of(record) if not result.errors else None,
    )
