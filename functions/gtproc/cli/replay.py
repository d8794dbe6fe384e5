"""`gtproc replay PATH [--events-out FILE] [--chaos SEED] [--faults SEED]`: run a Ground Truth output tree through
the pipelines on an embedded AWS (moto) and tell what was published.

PATH is a folder (each file is written at the key of its path relative to the folder: annotations
first, then intermediate manifests by iteration, final manifests last) or a `.jsonl` plan of
`{"key", "file"}` lines in write order, `file` relative to the plan's folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

EXIT_OK, EXIT_DEAD_LETTERS, EXIT_USAGE = 0, 1, 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay a Ground Truth output tree through the pipelines on an embedded AWS",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("path", metavar="PATH", type=Path, help="a folder of output files, or a .jsonl plan")
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
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument("--verbose", action="store_true", help="also show the handlers' structured logs")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        import moto  # noqa: F401 - the embedded AWS
    except ImportError:
        print("gtproc replay: the embedded AWS needs moto: pip install 'gtproc[local]'", file=sys.stderr)
        return EXIT_USAGE
    from gtproc.local.replay import PlanError, load_writes

    try:
        writes = load_writes(args.path)
    except PlanError as error:
        print(f"gtproc replay: {error}", file=sys.stderr)
        return EXIT_USAGE
    out = sys.stdout
    events_file = None
    if args.events_out is not None:
        try:
            events_file = open(args.events_out, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as error:
            print(f"gtproc replay: cannot write {args.events_out}: {error.strerror}", file=sys.stderr)
            return EXIT_USAGE
    try:
        result, labels = _replay(args, writes, out, events_file)
    finally:
        if events_file is not None:
            events_file.close()
    _summary(result, labels, out)
    return EXIT_DEAD_LETTERS if any(result.dead_letters.values()) else EXIT_OK


def _replay(args: argparse.Namespace, writes: list[Any], out: IO[str], events_file: IO[str] | None) -> Any:
    from gtproc.domain.keys import parse_output_key
    from gtproc.handlers import annotations as annotations_handler
    from gtproc.handlers import manifests as manifests_handler
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import Published, Replayer, Write

    for module in (manifests_handler, annotations_handler):
        module.logger.setLevel("INFO" if args.verbose else "WARNING")
    mode = f", chaos seed {args.chaos}" if args.chaos is not None else ""
    mode += f", faults seed {args.faults}" if args.faults is not None else ""
    out.write(f"gtproc replay: {len(writes)} writes from {args.path} to s3://{args.bucket} on an embedded AWS{mode}\n")

    account = _Account(out)
    seen_keys: set[str] = set()

    def on_write(write: Write) -> None:
        location = parse_output_key(write.key)
        if not args.quiet and location is not None and location.is_manifest:
            account.manifest_written(write.key, again=write.key in seen_keys)
        seen_keys.add(write.key)

    def on_event(event: Published) -> None:
        if events_file is not None:
            events_file.write(json.dumps(event.as_dict(), ensure_ascii=False) + "\n")
        if not args.quiet:
            account.add(event)

    with embedded_aws(output_bucket=args.bucket, key_prefix=args.prefix) as resources:
        handlers = {"manifests": manifests_handler.handler, "annotations": annotations_handler.handler}
        replayer = Replayer(
            resources,
            handlers,
            chaos_seed=args.chaos,
            on_event=on_event,
            on_write=on_write,
            faults_seed=args.faults,
        )
        result = replayer.run(writes)
        account.flush()
        labels = _labels_so_far(resources, result)
    return result, labels


class _Account:
    """Prints what was published; per-object annotation events are summed up per job and iteration."""

    GROUPED = ("Annotations Consolidated", "Consolidation Compared")

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.group: tuple[str, str, int] | None = None
        self.ids: list[str] = []
        self.differs = 0
        self.quiet_manifest = False  # a manifest was written and has published nothing yet

    def manifest_written(self, key: str, again: bool) -> None:
        self.flush()
        self.out.write(f"write {key}{' (rewrite)' if again else ''}\n")
        self.quiet_manifest = True

    def add(self, event: Any) -> None:
        if event.detail_type not in self.GROUPED:
            self.quiet_manifest = False
            self.flush()
            self.out.write(f"  {_describe(event)}\n")
            return
        detail = event.detail
        group = (event.detail_type, detail["jobName"], detail["iteration"])
        if group != self.group:
            self.flush()
            self.group = group
        self.ids.append(detail["datasetObjectId"])
        self.differs += event.detail_type == "Consolidation Compared" and not detail["agree"]

    def flush(self) -> None:
        if self.quiet_manifest:
            self.out.write("  nothing new: every labeled object of it was published before\n")
            self.quiet_manifest = False
        if self.group is None:
            return
        kind, job, iteration = self.group
        shown = ", ".join(self.ids[:8]) + (", ..." if len(self.ids) > 8 else "")
        verdict = f"; {self.differs} differ from Ground Truth" if kind == "Consolidation Compared" else ""
        self.out.write(f"  {kind:<24} {job} (iteration {iteration}): {len(self.ids)} [{shown}]{verdict}\n")
        self.group, self.ids, self.differs = None, [], 0


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
        ids = [obj["datasetObjectId"] for obj in detail["objects"]]
        shown = ", ".join(ids[:8]) + (", ..." if len(ids) > 8 else "")
        return (
            f"{kind:<24} {detail['jobName']}/{detail['labelAttributeName']} ({iteration}): {detail['count']} [{shown}]"
        )
    if kind == "Validation Failed":
        first = detail["errors"][0]
        return (
            f"{kind:<24} {detail['jobName']}: {detail['invalidCount']} invalid lines,"
            f" first at line {first['line']} [{first['code']}] {first['message']}"
        )
    if kind == "Labeling Job Completed":
        classes = ", ".join(f"{name} {count}" for name, count in detail["classCounts"].items())
        return (
            f"{kind:<24} {detail['jobName']}: {detail['objects']} objects, {detail['labeled']} labeled"
            f" ({detail['humanLabeled']} human, {detail['autoLabeled']} auto), {detail['failed']} failed,"
            f" {detail['unlabeled']} unlabeled, {detail['invalidLines']} invalid lines; classes: {classes or '-'}"
        )
    if kind == "Annotations Consolidated":
        return (
            f"{kind:<24} {detail['jobName']} object {detail['datasetObjectId']} (iteration {detail['iteration']}):"
            f" {detail['method']}, {detail['workers']} workers, agreement {detail['agreement']:.2f}"
        )
    if kind == "Consolidation Compared":
        verdict = "agrees" if detail["agree"] else "DIFFERS"
        return f"{kind:<24} {detail['jobName']} object {detail['datasetObjectId']}: ours {verdict} with Ground Truth"
    return f"{kind:<24} {json.dumps(detail)[:100]}"


def _summary(result: Any, labels: dict[str, tuple[str, int]], out: IO[str]) -> None:
    from gtproc.local.replay import iter_counts

    out.write(
        f"\n{result.writes} writes; the rules routed their S3 events to the pipelines: {result.deliveries} SQS records"
        f" delivered in {result.invocations} Lambda invocations\n"
    )
    out.write("published on the bus:\n")
    counts = list(iter_counts(result.events))
    if not counts:
        out.write("  nothing\n")
    for detail_type, events, total in counts:
        out.write(f"  {detail_type:<24} {events:>4} events {total:>7} facts\n")
    for job, (uri, count) in sorted(labels.items()):
        out.write(f"labels so far of {job}: {uri} ({count} objects)\n")
    dead = sum(result.dead_letters.values())
    out.write(f"dead-letter queues: {dead} messages\n")
    if result.faults is not None:
        _fault_summary(result.faults, out)


def _fault_summary(report: Any, out: IO[str]) -> None:
    kinds = report.kinds()
    shown = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) or "none"
    out.write(f"faults seed {report.seed}: {sum(kinds.values())} injected ({shown})\n")
    out.write(f"  redriven from the dead-letter queues at the end: {report.redriven} messages\n")
    out.write(
        f"  facts published in the documented window (PutEvents accepted, run ended before its record):"
        f" {report.window_facts} (only these may repeat)\n"
    )
