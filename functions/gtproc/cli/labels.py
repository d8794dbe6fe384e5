"""`gtproc labels LABELS_URI | --stack NAME --job JOB_PATH [-o FILE] [--status labeled|failed|all]`

Writes a job's labels so far (the `labelsUri` of its `Objects Labeled` events) as an augmented
manifest: one line per object in datasetObjectId order, in Ground Truth's output-line shape
(`source` or `source-ref`, then `<attr>` and `<attr>-metadata`; failed objects with `failure-reason`).
Each part line is checked by `gtproc validate`'s rules first, so `gtproc validate` accepts the export, and
a SageMaker training job takes it as an augmented manifest (AttributeNames: [source-ref, <attr>]). Only
the parts directly under the URI are read: a job nested below it has its own labels.

Exit 0 when every part line was exported, 1 when some line could not be (each named on stderr, the
others still written), 2 when the labels cannot be read or the options are wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SOME_FAILED, EXIT_UNREADABLE = 0, 1, 2
PART_PREFIX, PART_SUFFIX = "part-", ".jsonl"
MAX_PART_BYTES = 256 * 1024 * 1024  # parts are cut at a few MB: anything larger is not a part


class InputError(Exception):
    pass


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "labels",
        help="export a job's labels so far as an augmented manifest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "uri",
        nargs="?",
        metavar="LABELS_URI",
        help="s3://LABELS_BUCKET/labels/OUTPUT_BUCKET/JOB_PATH/ (the labelsUri of the job's events)",
    )
    parser.add_argument("--stack", metavar="NAME", help="the gtproc stack: its outputs name the buckets")
    parser.add_argument(
        "--job", metavar="JOB_PATH", help="with --stack: the job's folder in the output bucket (<prefix>/<job>)"
    )
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="write here instead of stdout")
    parser.add_argument(
        "--status",
        choices=("labeled", "failed", "all"),
        default="all",
        help="which objects to write (default: all, failed objects as Ground Truth writes them)",
    )
    parser.set_defaults(run=run)


def labels_uri_from_stack(stack: str, job_path: str) -> str:
    """The job's labelsUri, built by the pipeline's own code from the stack's bucket outputs."""
    from botocore.exceptions import BotoCoreError, ClientError

    from gtproc.adapters.aws import client
    from gtproc.adapters.labels_store import S3LabelStore

    try:
        stacks = client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        message = error.response.get("Error", {}).get("Message") or str(error)
        raise InputError(f"--stack {stack}: {message}") from None
    except BotoCoreError as error:
        raise InputError(f"--stack {stack}: {error}") from None
    outputs = {item["OutputKey"]: item["OutputValue"] for stack_ in stacks for item in stack_.get("Outputs", [])}
    missing = [name for name in ("LabelsBucketName", "OutputBucketName") if name not in outputs]
    if missing:
        raise InputError(f"--stack {stack}: the stack has no output {', '.join(missing)}: is it a gtproc stack?")
    output_bucket = outputs["OutputBucketName"]
    path = job_path
    if path.startswith("s3://"):  # the job's output folder as a URI: its bucket must be the stack's
        bucket, _, path = path[5:].partition("/")
        if bucket != output_bucket:
            raise InputError(f"--job {job_path}: the stack {stack} watches s3://{output_bucket}, not s3://{bucket}")
    path = path.strip("/")
    if not path:
        raise InputError("--job: the job's folder is empty")
    # OutputKey.job_id: the same identity the manifests pipeline keys the labels on.
    return S3LabelStore(outputs["LabelsBucketName"]).labels_uri(f"{output_bucket}/{path}")


def export(uri: str, status: str, show_progress: bool) -> tuple[list[dict[str, Any]], int, int, list[str]]:
    """(lines, parts read, part lines read, problems) for the labels under `uri`."""
    from gtproc.adapters.s3source import S3Source, SourceError, parse_location
    from gtproc.cli.progress import bar
    from gtproc.domain.export import Export, PartLineError
    from gtproc.domain.jsontext import JsonProblem, decode

    try:
        location = parse_location(uri)
        source = S3Source()
        listed = source.list(location, delimiter="/")
    except SourceError as error:
        raise InputError(str(error)) from None
    keys = [
        key for key, _ in listed if key[len(location.prefix) :].startswith(PART_PREFIX) and key.endswith(PART_SUFFIX)
    ]
    if not keys:
        raise InputError(
            f"{location.uri}: no labels here (no part-*.jsonl directly under it): is it a labelsUri,"
            " and has the job published a label yet?"
        )
    result = Export()
    problems: list[str] = []
    unread: list[str] = []
    records = 0
    progress = bar("labels", len(keys), "parts", show_progress)
    try:
        for key, body in source.read_many(location.bucket, keys, MAX_PART_BYTES, progress.advance):
            name = f"s3://{location.bucket}/{key}"
            if isinstance(body, SourceError):
                unread.append(str(body))
                continue
            for number, raw in enumerate(body.split(b"\n"), start=1):
                if not raw.strip():
                    continue
                records += 1
                try:
                    result.add(decode(raw))
                except JsonProblem as error:  # deep nesting too: it was a traceback
                    problems.append(f"{name}:{number}: [json] not a JSON line: {error}")
                except PartLineError as error:
                    problems.append(f"{name}:{number}: [{error.rule}] {error}")
    finally:
        progress.close()
    if len(unread) == len(keys):  # e.g. no s3:GetObject: nothing could be exported
        raise InputError(f"none of the {len(keys)} label parts could be read: {unread[0]}")
    problems = unread + problems
    return result.lines(status), len(keys), records, problems


def run(args: argparse.Namespace) -> int:
    from gtproc.cli.progress import on_terminal

    try:
        if args.stack:
            if args.uri or not args.job:
                raise InputError("give either LABELS_URI, or --stack NAME with --job JOB_PATH")
            uri = labels_uri_from_stack(args.stack, args.job)
        elif args.uri:
            if args.job:
                raise InputError("--job needs --stack (or give LABELS_URI alone)")
            uri = args.uri
        else:
            raise InputError("give LABELS_URI, or --stack NAME --job JOB_PATH")
        # With -o the data goes to a file: the bar only needs stderr on a terminal.
        show = on_terminal() if args.output is None else sys.stderr.isatty()
        lines, parts, records, problems = export(uri, args.status, show)
    except InputError as error:
        print(f"gtproc labels: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    for problem in problems:
        print(f"gtproc labels: {problem}", file=sys.stderr)
    text = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n" for line in lines)
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        try:
            _write_atomically(args.output, text)
        except OSError as error:
            print(f"gtproc labels: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return EXIT_UNREADABLE
    failed = sum(1 for line in lines if any(_is_failure(k, v) for k, v in line.items()))
    print(
        f"gtproc labels: {len(lines)} object{'' if len(lines) == 1 else 's'} ({len(lines) - failed} labeled,"
        f" {failed} failed) from {records} label line{'' if records == 1 else 's'} in {parts}"
        f" part{'' if parts == 1 else 's'} of {uri}",
        file=sys.stderr,
    )
    return EXIT_SOME_FAILED if problems else EXIT_OK


def _is_failure(key: str, value: Any) -> bool:
    return key.endswith("-metadata") and isinstance(value, dict) and "failure-reason" in value


def _write_atomically(path: Path, text: str) -> None:
    """A reader of FILE never sees half an export: write beside it, then rename."""
    folder = path.parent if str(path.parent) else Path(".")
    mode = _mode_of(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), mode)  # mkstemp's is 0600: give it the mode `> FILE` would
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _mode_of(path: Path) -> int:
    """The mode `> FILE` leaves: an existing file's own, else 0666 less the umask."""
    try:
        found = path.stat()
    except OSError:
        found = None
    if found is not None and stat.S_ISREG(found.st_mode):
        return stat.S_IMODE(found.st_mode) & 0o777
    umask = os.umask(0o022)  # the only way to read it; set straight back
    os.umask(umask)
    return 0o666 & ~umask
