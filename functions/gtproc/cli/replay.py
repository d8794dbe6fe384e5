"""`gtproc replay PATH [--events-out FILE] [--chaos SEED] [--faults SEED]`: run a Ground Truth output tree through
the pipelines on an embedded AWS (moto) and tell what was published.

PATH is a job's own output folder (it holds `manifests/` or `annotations/`; it replays as that job,
named after the folder), a folder of job folders (each file is written at the key of its path relative
to the folder: annotations first, then intermediate manifests by iteration, final manifests last), or a
`.jsonl` plan of `{"key", "file"}` lines in write order, `file` relative to the plan's folder. A plan may
also hold `{"streaming": JOB, "file": F}` (F's content as one message on the streaming job's output
topic) and `{"jobStatus": JOB, "status": S}` (SageMaker's state change; optional `labelCounters`).

Exit 0; 1 when a message ended in a dead-letter queue or no write reached a pipeline (the reason is
printed); 2 for a bad path, plan or usage.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote_plus

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_DEAD_LETTERS = EXIT_FAILED  # the name callers know


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay a Ground Truth output tree through the pipelines on an embedded AWS",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Text, not Path: Path would turn s3://bucket into s3:/bucket before run() could say what it is.
    parser.add_argument("path", metavar="PATH", help="a folder of output files, or a .jsonl plan")
    parser.add_argument(
        "--events-out",
        metavar="FILE",
        type=Path,
        help="write every published event as JSON Lines {source, detail-type, detail}",
    )
    parser.add_argument(
        "--chaos", metavar="SEED", type=int, help="deliver notifications duplicated and reordered, seeded"
    )
    parser.add_argument(
        "--faults",
        metavar="SEED",
        type=int,
        help="inject AWS's faults, seeded: failed calls, partial PutEvents, killed runs, redelivery after the"
        " visibility timeout on a simulated clock, a redrive of the dead-letter queues at the end",
    )
    parser.add_argument("--bucket", default="gt-output-bucket", help="name of the embedded output bucket")
    parser.add_argument("--prefix", default="", help="key prefix the pipelines watch (as the stack's keyPrefix)")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("--quiet", action="store_true", help="print only the summary")
    loudness.add_argument("--verbose", action="store_true", help="also show the handlers' logs and metrics (on stderr)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if str(args.path).startswith("s3://"):
        print(
            f"gtproc replay: {args.path}: replay reads local files and writes them to an embedded AWS;"
            f" copy the job first (aws s3 sync {args.path} ./job) and replay the folder",
            file=sys.stderr,
        )
        return EXIT_USAGE
    args.path = Path(args.path)
    try:
        import moto  # noqa: F401 - the embedded AWS
    except ImportError:
        print("gtproc replay: the embedded AWS needs moto: pip install 'gtproc[local]'", file=sys.stderr)
        return EXIT_USAGE
    from gtproc.local.replay import PlanError, load_writes

    try:
        writes = load_writes(args.path, args.prefix)
    except PlanError as error:
        print(f"gtproc replay: {error}", file=sys.stderr)
        return EXIT_USAGE
    if not writes:
        print(f"gtproc replay: {args.path}: the folder is empty: there is nothing to replay", file=sys.stderr)
        return EXIT_FAILED
    out = sys.stdout
    events_file = None
    if args.events_out is not None:
        try:
            events_file = open(args.events_out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            print(f"gtproc replay: cannot write {args.events_out}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
    try:
        _header(args, writes, out)
        result, labels, account = _replay(args, writes, out, events_file)
    finally:
        if events_file is not None:
            events_file.close()
    if not args.quiet:
        account.print(out)
    _summary(result, labels, account, out)
    for warning in account.warnings:
        print(f"gtproc replay: warning: {warning}", file=sys.stderr)
    if result.deliveries == 0:
        print(f"gtproc replay: {args.path}: {account.why_nothing_routed(args.path)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_FAILED if any(result.dead_letters.values()) else EXIT_OK


def _header(args: argparse.Namespace, writes: list[Any], out: IO[str]) -> None:
    mode = f", chaos seed {args.chaos}" if args.chaos is not None else ""
    mode += f", faults seed {args.faults}" if args.faults is not None else ""
    out.write(
        f"gtproc replay: {_n(len(writes), 'write')} from {args.path} to s3://{args.bucket} on an embedded AWS{mode}\n"
    )
    out.flush()


@contextmanager
def _embedded_engine(args: argparse.Namespace, handlers: dict[str, Any], on_event: Any) -> Iterator[Any]:
    """(replayer, labels so far of a result) on the embedded AWS; `gtproc backfill` brings its own engine."""
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import Replayer

    jobs = tuple(name.removeprefix("streaming-") for name in handlers if name.startswith("streaming-"))
    with embedded_aws(
        output_bucket=args.bucket, key_prefix=args.prefix, streaming_jobs=jobs, job_status="job-status" in handlers
    ) as resources:
        replayer = Replayer(resources, handlers, chaos_seed=args.chaos, on_event=on_event, faults_seed=args.faults)
        yield replayer, lambda result: _labels_so_far(resources, result)


def _replay(
    args: argparse.Namespace, writes: list[Any], out: IO[str], events_file: IO[str] | None, engine: Any = None
) -> Any:
    from gtproc.cli.progress import bar
    from gtproc.handlers import annotations as annotations_handler
    from gtproc.handlers import job_status as job_status_handler
    from gtproc.handlers import manifests as manifests_handler
    from gtproc.handlers import streaming as streaming_handler
    from gtproc.local.replay import Published, has_job_status, streaming_jobs

    account = _Account(writes, args.prefix)
    # The functions' log stream (Powertools logs and EMF metrics), as CloudWatch would hold it: read
    # for the account, and shown only with --verbose.
    log_stream = io.StringIO()
    loggers = [
        manifests_handler.logger,
        annotations_handler.logger,
        streaming_handler.logger,
        job_status_handler.logger,
    ]
    saved = [(lg, lg.registered_handler.stream, lg.log_level) for lg in loggers]

    def on_event(event: Published) -> None:
        if events_file is not None:
            events_file.write(json.dumps(event.as_dict(), ensure_ascii=False) + "\n")
        account.add(event)

    def function(handler: Any) -> Any:
        def invoke(event: dict[str, Any], context: Any) -> Any:
            account.invoking(event.get("Records", []))
            try:
                with redirect_stdout(log_stream), warnings.catch_warnings():
                    # A function's Python warnings go to its log stream, as Lambda's stderr does.
                    warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: (
                        log_stream.write(warnings.formatwarning(message, category, filename, lineno, line))
                    )
                    return handler(event, context)
            finally:
                replayer.collect_events()
                logs = log_stream.getvalue()
                log_stream.seek(0)
                log_stream.truncate()
                account.logged(logs)
                if args.verbose:
                    sys.stderr.write(logs)

        return invoke

    try:
        for lg in loggers:
            lg.registered_handler.stream = log_stream  # not setStream: it flushes the old stream
            lg.setLevel("INFO")
        jobs = streaming_jobs(writes)
        handlers = {
            "manifests": function(manifests_handler.handler),
            "annotations": function(annotations_handler.handler),
            **({"job-status": function(job_status_handler.handler)} if has_job_status(writes) else {}),
            **{f"streaming-{job}": function(streaming_handler.handler) for job in jobs},
        }
        with (engine or _embedded_engine)(args, handlers, on_event) as (replayer, labels_of):
            progress = bar("replay", len(writes), "writes")
            replayer.on_write = lambda _write: progress.advance()
            try:
                result = replayer.run(writes)
            finally:
                progress.close()
            labels = labels_of(result)
    finally:
        for lg, stream, level in saved:
            lg.registered_handler.stream = stream
            lg.setLevel(level)
    return result, labels, account


def _foreign_labels(folder: str, outcome: dict[str, Any]) -> str:
    names = ", ".join(
        f"job-name {job!r} (attribute {', '.join(map(repr, attributes))})"
        for job, attributes in outcome.get("labelJobNames", {}).items()
    )
    return (
        f"the manifest's labels belong to {names}, not to the job folder {folder!r}, so none of them is"
        " published; name the folder after the labeling job"
    )


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


# Layout areas no pipeline reads, and why (the account names them instead of leaving them out).
_UNROUTED = {
    "consolidation-request": ("consolidation request", "only the post-annotation Lambda reads them"),
    "consolidated-output": ("consolidated output file", "Ground Truth's own results: no pipeline reads them"),
    "annotations-intermediate": ("intermediate annotations file", "no pipeline reads them"),
}
_ROUTED_NAMES = {
    "worker-response": "worker response",
    "consolidation-response": "consolidation response",
    "intermediate-manifest": "intermediate manifest",
    "final-manifest": "final manifest",
}


@dataclass
class _Entry:
    """One write and what came of it."""

    key: str
    area: str  # an Area value, "outside-layout" or "outside-prefix"
    job: str = ""
    iteration: int | None = None
    object_index: int | None = None
    rewrite: bool = False
    deliveries: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)  # the handler's log lines about it
    events: list[Any] = field(default_factory=list)


class _Account:
    """Which write caused what: every write, its deliveries, the handler's verdict and the events."""

    GROUPED = ("Annotations Consolidated", "Consolidation Compared")

    def __init__(self, writes: list[Any], prefix: str) -> None:
        from gtproc.domain.keys import is_under_prefix, parse_output_key

        self.prefix = prefix.strip("/")
        self.entries: list[_Entry] = []
        self.by_content: dict[tuple[str, str], list[int]] = {}
        self.by_key: dict[str, list[int]] = {}
        self.batch: list[int] = []  # the write of each record of the invocation running
        self.warnings: list[str] = []
        self.stray_events: list[Any] = []
        for index, write in enumerate(writes):
            if write.kind != "s3":  # a streaming message or a job status: one entry, matched by content
                self.entries.append(_Entry(write.key, write.kind, write.job))
                self.by_key.setdefault(write.key, []).append(index)
                if write.kind == "streaming":
                    etag = hashlib.md5(write.file.read_bytes(), usedforsecurity=False).hexdigest()
                    self.by_content.setdefault((write.key, etag), []).append(index)
                continue
            location = parse_output_key(write.key)
            if location is None:
                entry = _Entry(write.key, "outside-layout")
            elif not is_under_prefix(write.key, self.prefix):
                entry = _Entry(write.key, "outside-prefix", location.job_name)
            else:
                entry = _Entry(
                    write.key, str(location.area), location.job_name, location.iteration, location.object_index
                )
            entry.rewrite = write.key in self.by_key
            self.entries.append(entry)
            self.by_key.setdefault(write.key, []).append(index)
            etag = write.etag
            if etag is None and write.file.is_file():
                etag = hashlib.md5(write.file.read_bytes(), usedforsecurity=False).hexdigest()
            if etag is not None:  # a listed object without an ETag is matched by its key alone
                self.by_content.setdefault((write.key, etag), []).append(index)

    # ---- during the run ----

    def invoking(self, records: list[dict[str, Any]]) -> None:
        self.batch = []
        for record in records:
            step = _step_of(record["body"])
            if step is not None:
                candidates = self.by_content.get(step) or self.by_key.get(step[0]) or [-1]
                index = next((i for i in candidates if i >= 0 and self.entries[i].deliveries == 0), candidates[0])
                if index >= 0:
                    self.entries[index].deliveries += 1
                self.batch.append(index)
                continue
            try:
                obj = json.loads(record["body"])["detail"]["object"]
                key, etag = unquote_plus(obj["key"]), str(obj.get("etag", "")).strip('"')
            except (KeyError, TypeError, ValueError):
                self.batch.append(-1)
                continue
            candidates = self.by_content.get((key, etag)) or self.by_key.get(key) or [-1]
            # A rewrite with other bytes has its own etag; the same bytes again go to the first undelivered.
            index = next((i for i in candidates if i >= 0 and self.entries[i].deliveries == 0), candidates[0])
            if index >= 0:
                self.entries[index].deliveries += 1
            self.batch.append(index)

    def logged(self, logs: str) -> None:
        """Attach each verdict the handler logged (one per record, in record order) to its write."""
        pending = list(self.batch)
        for raw in logs.splitlines():
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(line, dict) or "key" not in line or "message" not in line:
                continue
            index = next((i for i in pending if i >= 0 and self.entries[i].key == line["key"]), None)
            if index is None:
                continue
            if line["message"] == "labels belong to another job":
                self.entries[index].outcomes.append(line)
                warning = f"job folder {self.entries[index].job!r}: {_foreign_labels(self.entries[index].job, line)}"
                if warning not in self.warnings:
                    self.warnings.append(warning)
                continue
            if line["message"] in ("job busy, retrying soon",) or line["message"].endswith(
                ("processed", "skipped", "not usable")
            ):
                self.entries[index].outcomes.append(line)
                pending.remove(index)

    def add(self, event: Any) -> None:
        index = self._cause(event)
        if index is None:
            self.stray_events.append(event)
        else:
            self.entries[index].events.append(event)

    def _cause(self, event: Any) -> int | None:
        detail = event.detail
        batch = [i for i in self.batch if i >= 0]
        if detail.get("topicArn") or event.detail_type == "Labeling Job Status Changed":
            kind = "streaming" if detail.get("topicArn") else "job-status"
            return next((i for i in batch if self.entries[i].area == kind), None)
        if "manifestUri" in detail:
            key = str(detail["manifestUri"]).split("/", 3)[-1]
            matches = [i for i in batch if self.entries[i].key == key]
            published = [i for i in matches if any(o.get("published") for o in self.entries[i].outcomes)]
            return (published or matches or [None])[0]
        job, iteration = detail.get("jobName"), detail.get("iteration")
        same_job = [i for i in batch if self.entries[i].job == job and self.entries[i].iteration == iteration]
        if event.detail_type == "Annotations Consolidated":
            index = str(detail.get("datasetObjectId"))
            exact = [i for i in same_job if str(self.entries[i].object_index) == index]
            return (exact or same_job or batch or [None])[0]
        responses = [i for i in same_job if self.entries[i].area == "consolidation-response"]
        return (responses or same_job or batch or [None])[0]

    # ---- after the run ----

    def print(self, out: IO[str]) -> None:
        position = 0
        while position < len(self.entries):
            entry = self.entries[position]
            if entry.area in ("intermediate-manifest", "final-manifest", "streaming", "job-status"):
                self._print_manifest(entry, out)
                position += 1
                continue
            # Consecutive files of one kind, job and iteration are told as one group.
            group = [entry]
            while position + len(group) < len(self.entries):
                other = self.entries[position + len(group)]
                if (other.area, other.job, other.iteration) != (entry.area, entry.job, entry.iteration):
                    break
                group.append(other)
            position += len(group)
            self._print_group(group, out)
        for event in self.stray_events:
            out.write(f"  {_describe(event)}\n")

    def _print_manifest(self, entry: _Entry, out: IO[str]) -> None:
        if entry.area == "streaming":
            out.write(f"message on {entry.job}'s output topic\n")
        elif entry.area == "job-status":
            out.write(f"SageMaker state change of {entry.job}\n")
        else:
            out.write(f"write {entry.key}{' (rewrite)' if entry.rewrite else ''}\n")
        foreign = [o for o in entry.outcomes if o["message"] == "labels belong to another job"]
        for outcome in foreign:
            out.write(f"  warning: {_foreign_labels(entry.job, outcome)}\n")
        for event in entry.events:
            out.write(f"  {_describe(event)}\n")
        if not entry.events and not foreign:
            out.write(f"  {self._verdict(entry)}\n")

    def _verdict(self, entry: _Entry) -> str:
        """Why a manifest write published nothing: only a processed one has "nothing new"."""
        if entry.area == "outside-prefix" or (entry.deliveries == 0 and entry.area == "outside-layout"):
            return self._unrouted_reason(entry)
        if entry.deliveries == 0:
            return "not delivered: no rule routed its S3 event to a pipeline"
        if entry.area in ("streaming", "job-status"):
            return "nothing new: published before (a redelivery or a duplicate)"
        processed = [o for o in entry.outcomes if o["message"] == "manifest processed"]
        if processed:
            lines = max(int(o.get("lines", 0)) for o in processed)
            if lines == 0:
                return "nothing to publish: the manifest is empty (0 lines)"
            return f"nothing new: its {_n(lines, 'line')} hold no label of this job that was not published before"
        skipped = [
            o for o in entry.outcomes if o["message"].startswith("manifest") and o["message"].endswith("skipped")
        ]
        if skipped:
            return f"skipped: {skipped[-1].get('reason', '')}"
        return "not processed: the handler failed on it (see --verbose)"

    def _unrouted_reason(self, entry: _Entry) -> str:
        if entry.area == "outside-prefix":
            return f"not routed: not under the prefix {self.prefix!r} the rules watch"
        if entry.area == "outside-layout":
            return (
                "not routed: not a key of Ground Truth's output layout (<job>/manifests/... or <job>/annotations/...)"
            )
        return f"not routed: {_UNROUTED[entry.area][1]}"

    def _print_group(self, group: list[_Entry], out: IO[str]) -> None:
        first = group[0]
        if first.area in _ROUTED_NAMES:
            name = _ROUTED_NAMES[first.area]
        elif first.area in _UNROUTED:
            name = _UNROUTED[first.area][0]
        else:
            name = "other file"
        where = f" of {first.job}" if first.job else ""
        where += f" (iteration {first.iteration})" if first.iteration is not None else ""
        out.write(f"{_n(len(group), name)}{where}\n")
        if first.area not in _ROUTED_NAMES:
            out.write(f"  {self._unrouted_reason(first)}\n")
            return
        events = [event for entry in group for event in entry.events]
        by_kind: dict[str, list[Any]] = {}
        for event in events:
            by_kind.setdefault(event.detail_type, []).append(event)
        for kind, of_kind in by_kind.items():
            if kind not in self.GROUPED:
                for event in of_kind:
                    out.write(f"  {_describe(event)}\n")
                continue
            ids = [e.detail["datasetObjectId"] for e in of_kind]
            shown = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
            differs = sum(not e.detail.get("agree", True) for e in of_kind)
            verdict = f"; {differs} differ from Ground Truth" if kind == "Consolidation Compared" else ""
            out.write(f"  {kind:<24} {first.job} (iteration {first.iteration}): {len(ids)} [{shown}]{verdict}\n")
        unusable = [o for e in group for o in e.outcomes if o["message"].endswith("not usable")]
        for outcome in unusable[:3]:
            out.write(f"  not usable: {outcome.get('key')}: {outcome.get('reason', '')}\n")
        if len(unusable) > 3:
            out.write(f"  ... and {len(unusable) - 3} more not usable\n")
        undelivered = sum(e.deliveries == 0 for e in group)
        if undelivered:
            out.write(f"  {_n(undelivered, 'file')} not delivered: no rule routed its S3 event to a pipeline\n")
        if not events and not unusable and not undelivered:
            out.write("  nothing new: published nothing\n")

    def routing(self) -> tuple[int, list[str]]:
        """(writes delivered to a pipeline, what the others are and why no pipeline read them)."""
        routed, unrouted = 0, {}
        for entry in self.entries:
            if entry.deliveries:
                routed += 1
            else:
                unrouted[entry.area] = unrouted.get(entry.area, 0) + 1
        told = []
        for area, count in sorted(unrouted.items()):
            if area in _UNROUTED:
                name, why = _UNROUTED[area]
                told.append(f"{_n(count, name)} ({why})")
            elif area == "outside-prefix":
                told.append(f"{_n(count, 'write')} not under the prefix {self.prefix!r}")
            elif area == "outside-layout":
                told.append(f"{_n(count, 'file')} outside Ground Truth's output layout")
            else:
                told.append(f"{_n(count, _ROUTED_NAMES.get(area, 'file'))} not delivered")
        return routed, told

    def why_nothing_routed(self, path: Path) -> str:
        """The reason no write reached a pipeline (exit 1)."""
        areas = {entry.area for entry in self.entries}
        if areas == {"outside-layout"}:
            hint = ""
            if path.is_dir():
                hint = "; pass a job's own folder (it holds manifests/ or annotations/) or a folder of job folders"
            return f"no write reached a pipeline: no file is at a Ground Truth output key{hint}"
        if "outside-prefix" in areas and not areas & set(_ROUTED_NAMES):
            first = next(e.key for e in self.entries if e.area == "outside-prefix")
            return (
                f"no write reached a pipeline: the prefix {self.prefix!r} matches no key"
                f" (the first key is {first!r}; --prefix must be where the job folders are)"
            )
        return "no write reached a pipeline: none is a manifest, worker response or consolidation response"


def _step_of(body: str) -> tuple[str, str] | None:
    """(entry key, content etag) of a record that is a streaming message or a job status, else None."""
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    if message.get("Type") == "Notification" and "TopicArn" in message:
        job = str(message["TopicArn"]).rsplit(":", 1)[-1].removesuffix("-output")
        etag = hashlib.md5(str(message.get("Message", "")).encode(), usedforsecurity=False).hexdigest()
        return f"sns:{job}", etag
    if message.get("source") == "aws.sagemaker":
        arn = next(iter(message.get("resources") or []), "")
        return f"sagemaker:{str(arn).rsplit('/', 1)[-1]}", ""
    return None


def _labels_so_far(resources: Any, result: Any) -> dict[str, tuple[str, int]]:
    from gtproc.adapters.labels_store import S3LabelStore

    store = S3LabelStore(resources.labels_bucket, "labels")
    labels = {}
    for event in result.events:
        if event.detail_type == "Labeling Job Completed":
            uri = event.detail["labelsUri"]
            job_id = uri.removeprefix(f"s3://{resources.labels_bucket}/labels/").rstrip("/")
            labels[event.detail["jobName"]] = (uri, len(store.read_labels(job_id)))
    return labels


def _describe(event: Any) -> str:
    detail = event.detail
    kind = event.detail_type
    if kind in ("Objects Labeled", "Objects Failed"):
        iteration = "final manifest" if detail["iteration"] is None else f"iteration {detail['iteration']}"
        if detail.get("topicArn"):
            iteration = "output topic"
        ids = [obj["datasetObjectId"] for obj in detail["objects"]]
        shown = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
        return (
            f"{kind:<24} {detail['jobName']}/{detail['labelAttributeName']} ({iteration}): {detail['count']} [{shown}]"
        )
    if kind == "Labeling Job Status Changed":
        counters = detail.get("labelCounters") or {}
        shown = ", ".join(f"{name} {value}" for name, value in counters.items()) or "no counters"
        return f"{kind:<24} {detail['jobName']}: {detail['status']} ({shown})"
    if kind == "Validation Failed":
        first = detail["errors"][0]
        return (
            f"{kind:<24} {detail['jobName']}: {_n(detail['invalidCount'], 'invalid line')},"
            f" first at line {first['line']} [{first['code']}] {first['message']}"
        )
    if kind == "Labeling Job Completed":
        classes = ", ".join(f"{name} {count}" for name, count in detail["classCounts"].items())
        return (
            f"{kind:<24} {detail['jobName']}: {_n(detail['objects'], 'object')}, {detail['labeled']} labeled"
            f" ({detail['humanLabeled']} human, {detail['autoLabeled']} auto), {detail['failed']} failed,"
            f" {detail['unlabeled']} unlabeled, {_n(detail['invalidLines'], 'invalid line')}; classes: {classes or '-'}"
        )
    if kind == "Annotations Consolidated":
        return (
            f"{kind:<24} {detail['jobName']} object {detail['datasetObjectId']} (iteration {detail['iteration']}):"
            f" {detail['method']}, {_n(detail['workers'], 'worker')}, agreement {detail['agreement']:.2f}"
        )
    if kind == "Consolidation Compared":
        verdict = "agrees" if detail["agree"] else "DIFFERS"
        return f"{kind:<24} {detail['jobName']} object {detail['datasetObjectId']}: ours {verdict} with Ground Truth"
    return f"{kind:<24} {json.dumps(detail)[:100]}"


def _summary(result: Any, labels: dict[str, tuple[str, int]], account: _Account, out: IO[str]) -> None:
    from gtproc.local.replay import iter_counts

    routed, unrouted = account.routing()
    others = f"; not routed: {', '.join(unrouted)}" if unrouted else ""
    out.write(
        f"\n{_n(result.writes, 'write')}: {routed} routed by the rules to the pipelines{others}\n"
        f"{_n(result.deliveries, 'SQS record')} delivered in {_n(result.invocations, 'Lambda invocation')}\n"
    )
    out.write("published on the bus:\n")
    counts = list(iter_counts(result.events))
    if not counts:
        out.write("  nothing\n")
    for detail_type, events, total in counts:
        out.write(f"  {detail_type:<24} {_n(events, 'event'):>10} {_n(total, 'fact'):>12}\n")
    for job, (uri, count) in sorted(labels.items()):
        out.write(f"labels so far of {job}: {uri} ({_n(count, 'object')})\n")
    dead = sum(result.dead_letters.values())
    out.write(f"dead-letter queues: {_n(dead, 'message')}\n")
    if result.faults is not None:
        _fault_summary(result.faults, out)


def _fault_summary(report: Any, out: IO[str]) -> None:
    kinds = report.kinds()
    shown = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) or "none"
    out.write(f"faults seed {report.seed}: {sum(kinds.values())} injected ({shown})\n")
    out.write(f"  redriven from the dead-letter queues at the end: {_n(report.redriven, 'message')}\n")
    out.write(
        f"  facts published in the documented window (PutEvents accepted, run ended before its record):"
        f" {report.window_facts} (only these may repeat)\n"
    )
