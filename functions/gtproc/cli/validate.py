"""`gtproc validate PATH... [--json] [--max-errors N]`: check output manifests line by line.

Exit 0 when every line is valid, 1 when any line is invalid (or the input is empty, compressed, binary or
not JSON Lines), 2 when an input cannot be read. `-` reads standard input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from typing import IO, Any

import msgspec

from gtproc.cli.progress import ProgressBar, bar, on_terminal
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
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="a local file, s3://bucket/key, s3://bucket/prefix/ (every *.manifest under it), or - for stdin",
    )
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
    from gtproc.adapters.s3source import describe
    from gtproc.usecases.ports import ObjectUnreadable

    try:
        bucket, key = parse_s3_uri(uri)
        size, chunks = S3Objects().open_chunks(bucket, key, CHUNK_BYTES)
    except (ValueError, ObjectMissing) as error:
        raise InputError(str(error)) from None
    except ObjectUnreadable as error:  # a 403: the adapter raises it with the cause attached
        cause = error.__cause__
        if isinstance(cause, ClientError):
            raise InputError(f"cannot read {describe(cause, bucket, key)}") from None
        raise InputError(f"cannot read {uri}: access denied") from None
    except (ClientError, BotoCoreError) as error:
        raise InputError(f"cannot read {describe(error, bucket, key)}") from None
    return size, _guarded(chunks, uri)


def _guarded(chunks: Iterator[bytes], uri: str) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield from chunks
    except (BotoCoreError, ClientError) as error:
        raise InputError(f"cannot read {uri}: {error}") from None


def validate_path(path: str, max_errors: int | None, show_progress: bool) -> FileReport:
    size, chunks = open_input(path)
    meter = ProgressBar(path, size, sys.stderr) if show_progress and size >= PROGRESS_MIN_BYTES else None
    try:
        return validate_stream(chunks, path, max_errors=max_errors, on_bytes=meter.advance if meter else None)
    finally:
        if meter is not None:
            meter.close()


def is_prefix(path: str) -> bool:
    """`s3://bucket/prefix/` or `s3://bucket`: every manifest under it, not one object."""
    return path.startswith("s3://") and (path.endswith("/") or "/" not in path[5:])


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    show_progress = on_terminal()
    exit_code = EXIT_OK

    def unreadable(path: str, error: Exception) -> None:
        nonlocal exit_code
        print(f"gtproc validate: {error}", file=sys.stderr)
        if args.json:
            out.write(msgspec.json.encode({"path": path, "error": str(error)}).decode() + "\n")
        exit_code = EXIT_UNREADABLE

    def reported(report: FileReport) -> None:
        nonlocal exit_code
        if args.json:
            out.write(msgspec.json.encode(report.as_dict()).decode() + "\n")
        else:
            out.write(_summary(report))
        if not report.ok and exit_code == EXIT_OK:
            exit_code = EXIT_INVALID

    for path in args.paths:
        if is_prefix(path):
            try:
                total = validate_prefix(path, args.max_errors, show_progress, reported, unreadable)
            except InputError as error:
                unreadable(path, error)
                continue
            if args.json:
                out.write(msgspec.json.encode(total).decode() + "\n")
            else:
                out.write(_total_summary(total))
            continue
        try:
            report = validate_path(path, args.max_errors, show_progress)
        except InputError as error:
            unreadable(path, error)
            continue
        reported(report)
    out.flush()
    return exit_code


MANIFEST_SUFFIX = ".manifest"  # output.manifest and any *.manifest
PREFIX_WORKERS = 4  # manifests validated at once: the reads overlap, the decoding shares the GIL


def validate_prefix(
    uri: str,
    max_errors: int | None,
    show_progress: bool,
    reported: Any,
    unreadable: Any,
) -> dict[str, Any]:
    """Validate every manifest under an S3 prefix, in key order, several at once; the total over them."""
    from gtproc.adapters.s3source import S3Source, SourceError, parse_location

    try:
        location = parse_location(uri)
        source = S3Source(workers=PREFIX_WORKERS)
        keys = [key for key, _ in source.list(location) if key.rsplit("/", 1)[-1].endswith(MANIFEST_SUFFIX)]
    except SourceError as error:
        raise InputError(str(error)) from None
    if not keys:
        raise InputError(f"{location.uri}: no output.manifest or *.manifest under this prefix")

    def check(key: str) -> FileReport | InputError:
        try:
            return validate_path(f"s3://{location.bucket}/{key}", max_errors, show_progress=False)
        except InputError as error:
            return error

    total = {"path": location.uri, "manifests": len(keys), "lines": 0, "labeled": 0, "unlabeled": 0, "failed": 0}
    total |= {"invalid": 0, "errors": [], "invalidManifests": 0, "unreadableManifests": 0}
    progress = bar(location.uri, len(keys), "manifests", show_progress)
    try:
        for key, result in zip(keys, source.map(check, keys, progress.advance), strict=True):
            progress.clear()  # the report lines go to the terminal too
            if isinstance(result, InputError):
                unreadable(f"s3://{location.bucket}/{key}", result)
                total["unreadableManifests"] += 1
                continue
            reported(result)
            for name in ("lines", "labeled", "unlabeled", "failed", "invalid"):
                total[name] += getattr(result, name)
            total["invalidManifests"] += 0 if result.ok else 1
    finally:
        progress.close()
    return total


def _total_summary(total: dict[str, Any]) -> str:
    verdict = "INVALID" if total["invalidManifests"] else "UNREADABLE" if total["unreadableManifests"] else "OK"
    manifests = f"{total['manifests']} manifest{'' if total['manifests'] == 1 else 's'}"
    return (
        f"{total['path']}: TOTAL {verdict}: {manifests} ({total['invalidManifests']} invalid,"
        f" {total['unreadableManifests']} unreadable): {total['lines']} lines: {total['labeled']} labeled,"
        f" {total['unlabeled']} unlabeled, {total['failed']} failed, {total['invalid']} invalid\n"
    )


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
