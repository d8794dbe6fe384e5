"""`gtproc backfill s3://BUCKET/[PREFIX] [--local] [--embedded] [--versions] [--stack NAME] [--events-out FILE]
[--rate N] [--dry-run]`: send a bucket's past Ground Truth output through the pipelines, in the order Ground
Truth wrote it (by LastModified, then worker responses, intermediate manifests by iteration, the final
manifest last).

In-account (the default), each write is sent as the S3 "Object Created" event AWS would send to the
queue of its pipeline, found from the stack's outputs; the deployed functions process it like a live
write, and what they published before is not published again. `--local` runs the same handlers here,
on in-memory adapters (or on the replay's embedded AWS with `--embedded`), and prints the replay's account.

Exit 0; 1 when a write could not be read or sent, or (`--local`) ended in a dead-letter queue; 2 for a
bad URI, a bucket that cannot be listed, a missing stack or a bad usage.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_STACK = "Gtproc"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "backfill",
        help="send a bucket's past Ground Truth output through the pipelines (a deployed stack, or --local)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("uri", metavar="s3://BUCKET/[PREFIX]", help="where the jobs' output folders are")
    parser.add_argument("--local", action="store_true", help="run the pipelines here, on in-memory adapters")
    parser.add_argument(
        "--embedded", action="store_true", help="with --local: on the replay's embedded AWS (moto), slower"
    )
    parser.add_argument("--versions", action="store_true", help="every version of each key: the job's whole history")
    parser.add_argument("--stack", default=DEFAULT_STACK, help=f"the deployed stack to feed (default {DEFAULT_STACK})")
    parser.add_argument(
        "--events-out", metavar="FILE", type=Path, help="with --local: write every published event as JSON Lines"
    )
    parser.add_argument("--rate", metavar="N", type=float, help="send at most N writes per second (in-account)")
    parser.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", action="store_true", help="print only the summary")
    loudness.add_argument("--verbose", action="store_true", help="also show the handlers' logs (--local, on stderr)")
    parser.set_defaults(run=run)


def _error(message: str) -> None:
    print(f"gtproc backfill: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from gtproc.adapters.aws import client
    from gtproc.local.backfill import BackfillError, backfill_client, list_writes, parse_uri

    local = args.local or args.embedded
    if args.rate is not None and not args.rate > 0:
        _error(f"--rate must be a positive number of writes per second, not {args.rate:g}")
        return EXIT_USAGE
    if args.events_out is not None and not local:
        _error("--events-out needs --local: in-account, the events go to the stack's bus")
        return EXIT_USAGE
    try:
        bucket, prefix = parse_uri(args.uri)
        s3 = backfill_client(client("s3"))
        listed = list_writes(s3, bucket, prefix, versions=args.versions)
        queues = None if local else _queues(args.stack)
    except BackfillError as error:
        _error(str(error))
        return EXIT_USAGE
    except Exception as error:  # no credentials, no region: one line, never a traceback
        _error(f"{args.uri}: {error}")
        return EXIT_USAGE
    routed = [write for write in listed if write.pipeline is not None]
    skipped = len(listed) - len(routed)
    out = sys.stdout
    what = f"{_n(len(listed), 'version' if args.versions else 'object')} under {args.uri}"
    out.write(f"gtproc backfill: {what}, {len(routed)} routed to the pipelines")
    out.write(f" ({skipped} other files no pipeline reads)\n" if skipped else "\n")
    if not routed:
        _error(f"{args.uri}: nothing to backfill: no worker response, consolidation response or manifest there")
        return EXIT_OK
    if args.dry_run:
        return _dry_run(routed, queues, out)
    if local:
        return _local(args, s3, bucket, routed, out)
    return _in_account(args, bucket, routed, queues or {}, out)


def _n(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def _queues(stack: str) -> dict[str, str]:
    from gtproc.adapters.aws import client
    from gtproc.local.backfill import stack_queues

    return stack_queues(client("cloudformation"), stack)


def _dry_run(routed: list[Any], queues: dict[str, str] | None, out: IO[str]) -> int:
    for write in routed:
        version = f" version {write.version_id}" if write.version_id else ""
        target = queues[write.pipeline] if queues else write.pipeline
        out.write(f"would send {write.key}{version} ({write.last_modified.isoformat()}) to {target}\n")
    counts = {name: sum(w.pipeline == name for w in routed) for name in ("manifests", "annotations")}
    told = ", ".join(f"{_n(count, 'write')} to {name}" for name, count in counts.items())
    out.write(f"dry run: {told}; nothing sent\n")
    return EXIT_OK


def _local(args: argparse.Namespace, s3: Any, bucket: str, routed: list[Any], out: IO[str]) -> int:
    from gtproc.cli import replay as replay_cli
    from gtproc.cli.progress import bar
    from gtproc.local.backfill import download, memory_engine, read_in_order
    from gtproc.local.replay import Write

    if args.embedded:
        try:
            import moto  # noqa: F401 - the embedded AWS
        except ImportError:
            _error("--embedded needs moto: pip install 'gtproc[local]'")
            return EXIT_USAGE
    events_file = None
    if args.events_out is not None:
        try:
            events_file = open(args.events_out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            _error(f"cannot write {args.events_out}: {error.strerror}")
            return EXIT_USAGE
    replay_args = argparse.Namespace(
        bucket=bucket, prefix="", chaos=None, faults=None, verbose=args.verbose, path=Path(args.uri)
    )
    unread: list[tuple[str, str]] = []
    engines: list[Any] = []
    # In memory, the objects are read while the pipelines run: each write waits only for its own read.
    fetched = read_in_order(s3, bucket, routed)

    def read(write: Any) -> bytes | None:
        stored, data, why = next(fetched)
        if stored.key != write.key:  # both follow `routed`: a mismatch is a bug, never a wrong content
            raise RuntimeError(f"read {stored.key} for the write of {write.key}")
        if why is not None:
            unread.append((stored.key, why))
        return data

    @contextmanager
    def in_memory(replay_args: argparse.Namespace, handlers: dict[str, Any], on_event: Any) -> Any:
        with memory_engine(bucket, "", handlers, on_event) as engine:
            engine.read = read
            engines.append(engine)
            yield engine, engine.labels_of

    try:
        with tempfile.TemporaryDirectory(prefix="gtproc-backfill-") as folder:
            engine: Any = None
            if args.embedded:  # the embedded AWS writes files: every object is read first
                progress = bar("read", len(routed), "files")
                writes, unread = download(s3, bucket, routed, Path(folder), on_done=progress.advance)
                progress.close()
            else:
                # `file` only names the object: its bytes come from `read`, its ETag from the listing.
                writes = [Write(w.key, Path(f"s3://{bucket}/{w.key}"), etag=w.etag or None) for w in routed]
                engine = in_memory
            where = "an embedded AWS" if args.embedded else "the in-memory pipelines"
            out.write(f"gtproc backfill: {_n(len(writes), 'write')} to s3://{bucket} on {where}\n")
            out.flush()
            result, labels, account = replay_cli._replay(replay_args, writes, out, events_file, engine=engine)
    finally:
        fetched.close()
        if events_file is not None:
            events_file.close()
    for key, why in unread:
        _error(f"s3://{bucket}/{key}: cannot read: {why}")
    if engines and engines[0].unread:  # reported above, not as writes no rule routed
        dropped = set(engines[0].unread)
        account.entries = [entry for i, entry in enumerate(account.entries) if i not in dropped]
    if not args.quiet:
        account.print(out)
    replay_cli._summary(result, labels, account, out)
    for warning in account.warnings:
        _error(f"warning: {warning}")
    return EXIT_FAILED if unread or any(result.dead_letters.values()) else EXIT_OK


def _in_account(args: argparse.Namespace, bucket: str, routed: list[Any], queues: dict[str, str], out: IO[str]) -> int:
    from gtproc.adapters.aws import client
    from gtproc.cli.progress import bar
    from gtproc.local.backfill import TokenBucket, send

    sqs = client("sqs")
    # The account in a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>) owns the stack.
    account = next(iter(queues.values())).rstrip("/").split("/")[-2]
    region = sqs.meta.region_name
    rate = TokenBucket(args.rate) if args.rate is not None else None
    progress = bar("sent", len(routed), "writes")
    try:
        result = send(sqs, queues, routed, bucket, account, region, rate, on_sent=progress.advance)
    finally:
        progress.close()
    for key, why in result.failed:
        _error(f"s3://{bucket}/{key}: not sent: {why}")
    sent = ", ".join(f"{_n(count, 'write')} to {name} ({queues[name]})" for name, count in result.sent.items())
    out.write(f"sent to stack {args.stack}: {sent}\n")
    if result.failed:
        out.write(f"not sent: {_n(len(result.failed), 'write')}\n")
    return EXIT_FAILED if result.failed else EXIT_OK
