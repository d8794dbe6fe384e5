"""`gtproc validate PATH... [--json] [--max-errors N]`: check output manifests line by line.

Exit 0 when every line is valid, 1 when any line is invalid (or the input is empty, compressed, binary or
not JSON Lines), 2 when an input cannot be read. `-` reads standard input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import nullcontext
from typing import IO, Any

import msgspec

from gtproc.domain.scan import FileReport, validate_stream

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
CHUNK_BYTES = 1024 * 1024
PROGRESS_MIN_BYTES = 8 * 1024 * 1024  # smaller inputs finish before a bar is worth drawing


class InputError(Exception):
    """An input that cannot be read; its message is shown as one line."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="validate Ground Truth output manifests (local files or s3:// URIs)",
        description="Validate every line of Ground Truth output manifests against the real format.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="a local file, s3://bucket/key, or - for stdin")
    parser.add_argument("--json", action="store_true", help="print one JSON object per input, one per line")
    parser.add_argument(
        "--max-errors",
        type=_non_negative,
        default=None,
        metavar="N",
        help="keep at most N errors per input (counts stay exact)",
    )
    parser.set_defaults(run=run)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def open_input(path: str) -> tuple[int, Iterator[bytes]]:
    """(size, chunks) of a local file, an S3 object or standard input (`-`, size 0: unknown)."""
    if path.startswith("s3://"):
        return _open_s3(path)
    if path == "-":
        return 0, _file_chunks(sys.stdin.buffer, "standard input", close=False)
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the generator below
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        size = _size(handle)
    except OSError as error:
        handle.close()
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    return size, _file_chunks(handle, path)


def _size(handle: IO[bytes]) -> int:
    return os.fstat(handle.fileno()).st_size


def _file_chunks(handle: IO[bytes], path: str, close: bool = True) -> Iterator[bytes]:
    with handle if close else nullcontext():
        while True:
            try:
                chunk = handle.read(CHUNK_BYTES)
            except OSError as error:  # e.g. a directory, or a read error mid-file
                raise InputError(f"cannot read {path}: {error.strerror or error}") from None
            if not chunk:
                return
            yield chunk


def _open_s3(uri: str) -> tuple[int, Iterator[bytes]]:
    from botocore.exceptions import BotoCoreError, ClientError

    from gtproc.adapters.s3 import ObjectMissing, S3Objects, parse_s3_uri

    try:
        bucket, key = parse_s3_uri(uri)
        size, chunks = S3Objects().open_chunks(bucket, key, CHUNK_BYTES)
    except (ValueError, ObjectMissing) as error:
        raise InputError(str(error)) from None
    except ClientError as error:
        raise InputError(f"cannot read {uri}: {error.response.get('Error', {}).get('Message', error)}") from None
    except BotoCoreError as error:
        raise InputError(f"cannot read {uri}: {error}") from None
    return size, _guarded(chunks, uri)


def _guarded(chunks: Iterator[bytes], uri: str) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield from chunks
    except (BotoCoreError, ClientError) as error:
        raise InputError(f"cannot read {uri}: {error}") from None


class ProgressBar:
    """A one-line bar on stderr, redrawn at most 10 times a second."""

    def __init__(self, label: str, total: int, stream: IO[str]) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.done = 0
        self.started = self.last = time.monotonic()

    def advance(self, size: int) -> None:
        self.done += size
        now = time.monotonic()
        if now - self.last >= 0.1:
            self.last = now
            self.draw(now)

    def draw(self, now: float) -> None:
        share = min(1.0, self.done / self.total) if self.total else 0.0
        filled = int(share * 30)
        rate = self.done / max(now - self.started, 1e-6) / 1e6
        self.stream.write(f"\r{self.label[-40:]} [{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} {rate:6.1f} MB/s")
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r" + " " * 100 + "\r")
        self.stream.flush()


def validate_path(path: str, max_errors: int | None, show_progress: bool) -> FileReport:
    size, chunks = open_input(path)
    bar = ProgressBar(path, size, sys.stderr) if show_progress and size >= PROGRESS_MIN_BYTES else None
    try:
        return validate_stream(chunks, path, max_errors=max_errors, on_bytes=bar.advance if bar else None)
    finally:
        if bar is not None:
            bar.close()


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    show_progress = sys.stderr.isatty()
    exit_code = EXIT_OK
    for path in args.paths:
        try:
            report = validate_path(path, args.max_errors, show_progress)
        except InputError as error:
            print(f"gtproc validate: {error}", file=sys.stderr)
            if args.json:
                out.write(msgspec.json.encode({"path": path, "error": str(error)}).decode() + "\n")
            exit_code = EXIT_UNREADABLE
            continue
        if args.json:
            out.write(msgspec.json.encode(report.as_dict()).decode() + "\n")
        else:
            out.write(_summary(report))
        if not report.ok and exit_code == EXIT_OK:
            exit_code = EXIT_INVALID
    out.flush()
    return exit_code


def _summary(report: FileReport) -> str:
    lines = []
    for error in report.errors:
        where = f" {error.attribute}:" if error.attribute else ""
        lines.append(f"{report.path}:{error.line}: [{error.code}]{where} {error.message}")
    if report.errors_omitted:
        more = f"{report.errors_omitted} more error{'' if report.errors_omitted == 1 else 's'}"
        lines.append(f"{report.path}: ... {more} not shown (--max-errors)")
    verdict = "OK" if report.ok else "INVALID"
    counted = f"{report.lines} line{'' if report.lines == 1 else 's'}"
    lines.append(
        f"{report.path}: {verdict}: {counted}: {report.labeled} labeled, {report.unlabeled} unlabeled,"
        f" {report.failed} failed, {report.invalid} invalid"
    )
    return "\n".join(lines) + "\n"
