"""Manifest pipeline benchmark: rewrites of a bounding-box job on the embedded AWS, and peak memory.

Part 1 - a 100,000-object bounding-box job (5 boxes per labeled line; unlabeled lines are just
`{"source-ref": ...}`) whose intermediate manifest is rewritten 10 times, each time with 10% more
labeled objects, then rewritten once more unchanged, then the final manifest (twice). Every write
is put on the embedded AWS (moto) and processed by the use case with the real adapters
(`gtproc.handlers.wiring.process_manifest()`); the AWS calls the adapters make are counted with a
botocore `before-call` hook on their clients. The same sequence runs on the in-memory adapters to
separate our CPU cost from moto's.

Part 2 - peak RSS of the use case on a ~1 GiB and a 100 MiB manifest (every line labeled), each in a
fresh subprocess that streams the local file in 1 MiB chunks, publishes to a counting sink and
discards the labels parts; and, for reference, the peak RSS of a bare ledger of as many objects.

    .venv/bin/python benchmarks/bench_manifests.py              # both parts (~6-9 min on 2 vCPUs)
    .venv/bin/python benchmarks/bench_manifests.py --part 1     # or --part 2
    .venv/bin/python benchmarks/bench_manifests.py --profile    # cProfile of the in-memory sequence

Tables go to stdout (markdown), progress to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "functions"))

from generate import bbox_line  # noqa: E402

JOB = "bench-bbox"
OBJECTS = 100_000
STEPS = 10
MIB = 1024 * 1024
CHUNK = MIB


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---:" for _ in headers) + "|"]
    out += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(out)


def fmt_bytes(n: float) -> str:
    if n >= MIB:
        return f"{n / MIB:.2f} MiB"
    if n >= 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{int(n)} B"


# ---------------------------------------------------------------------------------------------------
# Part 1: rewrites on the embedded AWS
# ---------------------------------------------------------------------------------------------------


def build_steps() -> list[tuple[str, str, bytes, int]]:
    """(label, key, manifest, labeled objects) of every write, in order."""
    log(f"generating {OBJECTS:,} labeled and unlabeled lines")
    rng = random.Random(7)
    labeled = [bbox_line(i, rng, boxes=5, job=JOB) for i in range(OBJECTS)]
    unlabeled = [json.dumps({"source-ref": f"s3://bench-bucket/images/{i:08d}.jpg"}).encode() for i in range(OBJECTS)]
    order = list(range(OBJECTS))
    random.Random(11).shuffle(order)  # objects get labeled in no particular order
    rank = [0] * OBJECTS
    for position, index in enumerate(order):
        rank[index] = position

    def manifest(count: int) -> bytes:
        return b"\n".join(labeled[i] if rank[i] < count else unlabeled[i] for i in range(OBJECTS)) + b"\n"

    steps = []
    per_step = OBJECTS // STEPS
    for step in range(1, STEPS + 1):
        count = step * per_step
        steps.append(
            (f"intermediate {step}", f"{JOB}/manifests/intermediate/{step}/output.manifest", manifest(count), count)
        )
    last = steps[-1]
    steps.append((f"intermediate {STEPS} again (same bytes)", last[1], last[2], last[3]))
    final = manifest(OBJECTS)
    final_key = f"{JOB}/manifests/output/output.manifest"
    steps.append(("final", final_key, final, OBJECTS))
    steps.append(("final again (redelivered)", final_key, final, OBJECTS))
    return steps


class CallCounter:
    """Counts the API calls (and the time spent in them) made through some botocore clients."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seconds = 0.0

    def attach(self, service: str, client: Any) -> None:
        def before(model: Any = None, context: Any = None, **_: Any) -> None:
            self.calls[f"{service}:{model.name}"] += 1
            if context is not None:
                context["_bench_t0"] = time.perf_counter()

        def after(context: Any = None, **_: Any) -> None:
            if context is not None and "_bench_t0" in context:
                self.seconds += time.perf_counter() - context.pop("_bench_t0")

        client.meta.events.register("before-call", before, unique_id=f"bench-before-{service}")
        client.meta.events.register("after-call", after, unique_id=f"bench-after-{service}")

    def take(self) -> tuple[Counter[str], float]:
        calls, seconds = self.calls, self.seconds
        self.calls, self.seconds = Counter(), 0.0
        return calls, seconds


WRITE_OPS = {"s3:PutObject", "dynamodb:PutItem", "events:PutEvents"}


def run_embedded(steps: list[tuple[str, str, bytes, int]]) -> list[dict[str, Any]]:
    from gtproc.adapters import aws
    from gtproc.contract.events import JOB_COMPLETED, OBJECTS_LABELED
    from gtproc.handlers import wiring
    from gtproc.local.embedded import embedded_aws

    results = []
    with embedded_aws() as res:
        counter = CallCounter()
        for service in ("s3", "dynamodb", "events"):
            counter.attach(service, aws.client(service))
        use_case = wiring.process_manifest()
        s3 = res.client("s3")  # a separate client: the test's own calls are not counted
        job_id = f"{res.output_bucket}/{JOB}"
        ledger_key = f"state/{job_id}/ledger.bin"
        labels_prefix = f"labels/{job_id}/"
        seen_parts: set[str] = set()
        for label, key, body, labeled in steps:
            log(f"embedded: {label}: put {fmt_bytes(len(body))}")
            s3.put_object(Bucket=res.output_bucket, Key=key, Body=body)
            counter.take()
            cpu0, t0 = time.process_time(), time.perf_counter()
            outcome = use_case(res.output_bucket, key)
            wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            calls, api_seconds = counter.take()
            try:
                ledger_bytes = s3.head_object(Bucket=res.labels_bucket, Key=ledger_key)["ContentLength"]
            except Exception:  # no ledger yet
                ledger_bytes = 0
            listing = s3.list_objects_v2(Bucket=res.labels_bucket, Prefix=labels_prefix).get("Contents", [])
            new_parts = [item for item in listing if item["Key"] not in seen_parts]
            seen_parts.update(item["Key"] for item in listing)
            results.append(
                {
                    "label": label,
                    "labeled": labeled,
                    "lines": outcome.lines,
                    "invalid": outcome.invalid_lines,
                    "new_objects": outcome.published.get(OBJECTS_LABELED, 0),
                    "completed": outcome.published.get(JOB_COMPLETED, 0),
                    "put_events": outcome.put_events_calls,
                    "wall": wall,
                    "cpu": cpu,
                    "api_seconds": api_seconds,
                    "calls": dict(calls),
                    "ledger_bytes": ledger_bytes,
                    "parts_total": len(listing),
                    "parts_bytes_total": sum(item["Size"] for item in listing),
                    "new_parts": len(new_parts),
                    "new_parts_bytes": sum(item["Size"] for item in new_parts),
                }
            )
            log(
                f"embedded: {label}: {wall:.2f}s, {outcome.published} published, "
                f"{sum(calls.values())} calls ({api_seconds:.2f}s in calls)"
            )
    return results


def memory_use_case() -> Any:
    from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryObjects, MemoryPublisher
    from gtproc.usecases.process_manifest import ProcessManifest

    objects = MemoryObjects(chunk_bytes=CHUNK)
    labels = MemoryLabels()
    use_case = ProcessManifest(objects, MemoryJobState(), labels, MemoryPublisher())
    return use_case, objects, labels


def run_memory(
    steps: list[tuple[str, str, bytes, int]], profile: bool = False, repeats: int = 3
) -> list[dict[str, Any]]:
    """The sequence on the in-memory adapters, `repeats` times from scratch; the best time of each write."""
    import cProfile

    from gtproc.contract.events import OBJECTS_LABELED

    best: list[dict[str, Any]] = []
    per_step_profiles: dict[str, Any] = {}
    for repeat in range(1 if profile else repeats):
        use_case, objects, labels = memory_use_case()
        for position, (label, key, body, _) in enumerate(steps):
            objects.objects[("bench-output", key)] = body
            step_profiler = cProfile.Profile() if profile else None
            if step_profiler is not None:
                step_profiler.enable()
            t0 = time.perf_counter()
            outcome = use_case("bench-output", key)
            wall = time.perf_counter() - t0
            if step_profiler is not None:
                step_profiler.disable()
                per_step_profiles[label] = step_profiler
            result = {"label": label, "wall": wall, "new_objects": outcome.published.get(OBJECTS_LABELED, 0)}
            if repeat == 0:
                best.append(result)
            elif wall < best[position]["wall"]:
                best[position] = result
            log(f"memory (run {repeat + 1}): {label}: {wall:.2f}s")
        ledger = next(iter(labels.ledgers.values()), b"")
        log(f"memory: ledger {fmt_bytes(len(ledger))}")
    if per_step_profiles:
        print_profiles(per_step_profiles)
    return best


def print_profiles(profiles: dict[str, Any]) -> None:
    import io
    import pstats

    def show(title: str, profs: list[Any], sort: str, limit: int = 22) -> None:
        stream = io.StringIO()
        stats = pstats.Stats(profs[0], stream=stream)
        for prof in profs[1:]:
            stats.add(prof)
        stats.strip_dirs().sort_stats(sort).print_stats(limit)
        print(f"\n#### cProfile: {title} (sorted by {sort})\n\n```")
        text = stream.getvalue()
        print(text[text.find("   ncalls") :].rstrip() if "   ncalls" in text else text)
        print("```")

    labels = list(profiles)
    rewrites = [profiles[label] for label in labels if label.startswith("intermediate") and "again" not in label]
    show("the 10 intermediate rewrites with new objects, in-memory adapters", rewrites, "tottime")
    show("the 10 intermediate rewrites with new objects, in-memory adapters", rewrites, "cumulative", 30)
    show("the unchanged rewrite (0 new objects)", [profiles[f"intermediate {STEPS} again (same bytes)"]], "tottime", 15)
    show("the final manifest (0 new objects + completion)", [profiles["final"]], "tottime", 15)


def part1(profile: bool) -> None:
    steps = build_steps()
    memory = run_memory(steps, profile=profile)
    if profile:
        return
    embedded = run_embedded(steps)

    print("\n## 1. Rewrites of a 100,000-object bounding-box job (embedded AWS, real adapters)\n")
    print(
        f"Manifest: {OBJECTS:,} lines, {fmt_bytes(len(steps[-1][2]))} when all are labeled "
        f"(~{len(steps[-1][2]) // OBJECTS} B a labeled line, 5 boxes). Wall = the use-case call "
        "(`wiring.process_manifest()(bucket, key)`), moto in process; API = time inside botocore calls "
        "(before-call to after-call); memory = the same sequence on `gtproc.adapters.memory`, best of 3 runs "
        f"from scratch. Invalid lines: {sum(r['invalid'] for r in embedded)} in all writes.\n"
    )
    rows = []
    for emb, mem in zip(embedded, memory, strict=True):
        rows.append(
            [
                emb["label"],
                f"{emb['labeled']:,}",
                f"{emb['new_objects']:,}" + (" + completion" if emb["completed"] else ""),
                f"{emb['wall']:.2f}",
                f"{emb['api_seconds']:.2f}",
                f"{emb['lines'] / emb['wall']:,.0f}",
                f"{mem['wall']:.2f}",
                f"{emb['lines'] / mem['wall']:,.0f}",
                emb["put_events"],
            ]
        )
    print(
        table(
            [
                "write",
                "labeled in manifest",
                "new published",
                "wall s (moto)",
                "in API calls s",
                "lines/s (moto)",
                "wall s (memory)",
                "lines/s (memory)",
                "PutEvents",
            ],
            rows,
        )
    )
    total_emb = sum(r["wall"] for r in embedded)
    total_mem = sum(r["wall"] for r in memory)
    print(f"\nTotal: {total_emb:.1f} s on moto, {total_mem:.1f} s in memory.\n")

    ops = sorted({op for r in embedded for op in r["calls"]})
    print("### AWS API calls made during each call (botocore before-call on the adapters' clients)\n")
    rows = []
    for r in embedded:
        writes = sum(n for op, n in r["calls"].items() if op in WRITE_OPS)
        rows.append(
            [r["label"], f"{r['new_objects']:,}"]
            + [r["calls"].get(op, 0) for op in ops]
            + [sum(r["calls"].values()), writes]
        )
    print(table(["write", "new", *ops, "total", "writes (Put*)"], rows))
    print(
        "\n(dynamodb:UpdateItem = lease acquire + commit, or acquire + release when nothing is new; "
        "s3:GetObject = ledger + manifest; dynamodb:PutItem = one journal item per accepted PutEvents.)\n"
    )

    print("### State written\n")
    rows = []
    for r in embedded:
        rows.append(
            [
                r["label"],
                f"{r['new_objects']:,}",
                fmt_bytes(r["ledger_bytes"]),
                f"{r['ledger_bytes'] / max(1, r['labeled']):.1f}",
                r["new_parts"],
                fmt_bytes(r["new_parts_bytes"]),
                r["parts_total"],
                fmt_bytes(r["parts_bytes_total"]),
            ]
        )
    print(
        table(
            [
                "write",
                "new",
                "ledger.bin",
                "ledger B/labeled object",
                "new label parts",
                "new parts size",
                "parts so far",
                "parts size so far",
            ],
            rows,
        )
    )


# ---------------------------------------------------------------------------------------------------
# Part 2: peak RSS on a large manifest, each run in a fresh subprocess
# ---------------------------------------------------------------------------------------------------


def rss_now_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def vmhwm_mib() -> float:
    """The peak RSS of this process image (reset by exec, unlike ru_maxrss): a cross-check."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child_use_case(path: str, journal: bool) -> dict[str, Any]:
    """Runs in a fresh interpreter: ProcessManifest over a local file, everything else discarded."""
    from gtproc.adapters.memory import MemoryJobState
    from gtproc.domain.ledger import FactKey
    from gtproc.usecases.ports import EventEntry, JobLease, ObjectMissing
    from gtproc.usecases.process_manifest import ProcessManifest

    samples: list[tuple[int, float]] = []

    class LocalFileReader:
        """The object reader port over a local file, streamed in 1 MiB chunks."""

        def __init__(self, file: str) -> None:
            self.file = file
            self.bytes = 0
            self.scan_peak = 0.0

        def read_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
            if not os.path.exists(self.file):
                raise ObjectMissing(self.file)
            return self._chunks()

        def _chunks(self) -> Iterator[bytes]:
            next_sample = 0
            with open(self.file, "rb") as stream:
                while chunk := stream.read(CHUNK):
                    self.bytes += len(chunk)
                    if self.bytes >= next_sample:
                        samples.append((self.bytes, rss_now_mib()))
                        next_sample += 64 * MIB
                    yield chunk
            samples.append((self.bytes, rss_now_mib()))
            self.scan_peak = maxrss_mib()  # the whole manifest scanned; the commit is still to come

    class CountingPublisher:
        def __init__(self) -> None:
            self.calls = self.entries = self.facts = self.bytes = 0

        def put(self, entries: Sequence[EventEntry]) -> list[int]:
            self.calls += 1
            self.entries += len(entries)
            self.facts += sum(len(entry.facts) for entry in entries)
            self.bytes += sum(len(entry.detail) for entry in entries)
            return []

    class DiscardingLabels:
        def __init__(self) -> None:
            self.parts = self.part_bytes = self.ledger_bytes = 0

        def load_ledger(self, job_id: str) -> bytes | None:
            return None

        def save_ledger(self, job_id: str, data: bytes) -> None:
            self.ledger_bytes = len(data)

        def append_labels(self, job_id: str, part: str, lines: bytes) -> None:
            self.parts += 1
            self.part_bytes += len(lines)

        def labels_uri(self, job_id: str) -> str:
            return "discard://"

    class NoJournalState(MemoryJobState):
        """MemoryJobState that does not keep the journal in process (as DynamoDB would not)."""

        def record_published(self, lease: JobLease, facts: Sequence[FactKey], now: float) -> None:
            self.calls += 1

    baseline = maxrss_mib()
    reader, publisher, labels = LocalFileReader(path), CountingPublisher(), DiscardingLabels()
    state = MemoryJobState() if journal else NoJournalState()
    use_case = ProcessManifest(reader, state, labels, publisher)
    t0 = time.perf_counter()
    outcome = use_case("local", f"{JOB}/manifests/intermediate/1/output.manifest")
    wall = time.perf_counter() - t0
    return {
        "baseline_mib": baseline,
        "maxrss_mib": maxrss_mib(),
        "vmhwm_mib": vmhwm_mib(),
        "scan_peak_mib": reader.scan_peak,
        "wall": wall,
        "bytes": reader.bytes,
        "lines": outcome.lines,
        "invalid": outcome.invalid_lines,
        "published": outcome.published,
        "put_events": publisher.calls,
        "events": publisher.entries,
        "facts": publisher.facts,
        "event_bytes": publisher.bytes,
        "label_parts": labels.parts,
        "label_bytes": labels.part_bytes,
        "ledger_bytes": labels.ledger_bytes,
        "samples": samples,
    }


def child_ledger(objects: int) -> dict[str, Any]:
    """Peak RSS of a bare ledger of `objects` labeled objects, and of serializing it."""
    from gtproc.domain.ledger import FactKey, FactKind, Ledger, fingerprint

    baseline = maxrss_mib()
    ledger = Ledger()
    for index in range(objects):
        ledger.add(FactKey(FactKind.LABELED, JOB, index, fingerprint(f"s3://bench-bucket/images/{index:08d}.jpg")))
    built = maxrss_mib()
    data = ledger.to_bytes()
    return {
        "baseline_mib": baseline,
        "built_mib": built,
        "maxrss_mib": maxrss_mib(),
        "vmhwm_mib": vmhwm_mib(),
        "ledger_bytes": len(data),
    }


# Linux carries the parent's RSS high-water mark into a child's ru_maxrss (fork copies it, exec folds it
# into the process's maxrss), and part 1 leaves this process at ~1 GiB. So the measured interpreter is
# started by a tiny launcher interpreter, whose own high-water mark is a few MiB.
_LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def run_child(args: list[str]) -> dict[str, Any]:
    script = str(Path(__file__).resolve())
    command = [sys.executable, "-I", "-S", "-c", _LAUNCHER, sys.executable, script, "--child", *args]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if abs(result["maxrss_mib"] - result["vmhwm_mib"]) > 0.05 * result["vmhwm_mib"]:
        log(f"warning: ru_maxrss {result['maxrss_mib']:.0f} MiB but VmHWM {result['vmhwm_mib']:.0f} MiB")
    return result


def generate_files(directory: Path, sizes: dict[str, int]) -> dict[str, tuple[Path, int]]:
    """Stream every line into each file until it reaches its size: the smaller ones are prefixes."""
    rng = random.Random(7)
    files = {name: (directory / f"{name}.manifest", target) for name, target in sizes.items()}
    handles = {name: open(path, "wb", buffering=4 * MIB) for name, (path, _) in files.items()}  # noqa: SIM115
    written = dict.fromkeys(files, 0)
    lines = dict.fromkeys(files, 0)
    index = 0
    t0 = time.perf_counter()
    try:
        batch: list[bytes] = []
        while handles:
            batch.clear()
            for _ in range(10_000):
                batch.append(bbox_line(index, rng, boxes=5, job=JOB) + b"\n")
                index += 1
            for name in list(handles):
                for line in batch:
                    handles[name].write(line)
                    written[name] += len(line)
                    lines[name] += 1
                    if written[name] >= files[name][1]:
                        handles.pop(name).close()
                        log(f"generated {name}: {lines[name]:,} lines, {fmt_bytes(written[name])}")
                        break
            if index % 200_000 == 0:
                log(f"generating: {index:,} lines, {time.perf_counter() - t0:.0f}s")
    finally:
        for handle in handles.values():
            handle.close()
    return {name: (path, lines[name]) for name, (path, _) in files.items()}


def part2() -> None:
    sizes = {"100MiB": 100 * MIB, "1GiB": 1024 * MIB}
    base = Path(tempfile.gettempdir())
    df = subprocess.run(["df", "-h", str(base)], capture_output=True, text=True).stdout.strip()
    log(f"disk space:\n{df}")
    free = shutil.disk_usage(base).free
    if free < 3 * sum(sizes.values()):
        raise SystemExit(f"not enough free space in {base}: {fmt_bytes(free)}")
    directory = Path(tempfile.mkdtemp(prefix="gtproc-bench-", dir=base))
    runs: list[tuple[str, str, dict[str, Any]]] = []
    ledgers: dict[str, dict[str, Any]] = {}
    try:
        files = generate_files(directory, sizes)
        for name, (path, lines) in files.items():
            for mode in ("journal", "no-journal"):
                log(f"use case on {name} ({mode}) in a fresh subprocess")
                result = run_child(["use-case", str(path), mode])
                log(f"  {result['wall']:.1f}s, max RSS {result['maxrss_mib']:.0f} MiB")
                runs.append((name, mode, result))
            log(f"bare ledger of {lines:,} objects in a fresh subprocess")
            ledgers[name] = run_child(["ledger", str(lines)])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        log(f"removed {directory}")

    print("\n## 2. Peak RSS on large manifests (fresh subprocess each; every line labeled and new)\n")
    print(
        "Reader: local file in 1 MiB chunks; publisher: counts and discards; labels: discards parts, "
        "counts bytes; state: `MemoryJobState` (journal = it keeps every published fact in process) "
        "or the same without the journal (as with DynamoDB, where the journal is remote). "
        "RSS in MiB from `ru_maxrss`; after imports = peak before the call.\n"
    )
    rows = []
    for name, mode, r in runs:
        rows.append(
            [
                name,
                mode,
                fmt_bytes(r["bytes"]),
                f"{r['lines']:,}",
                f"{r['published'].get('Objects Labeled', 0):,}",
                f"{r['wall']:.1f}",
                f"{r['bytes'] / MIB / r['wall']:.1f}",
                f"{r['lines'] / r['wall']:,.0f}",
                f"{r['baseline_mib']:.0f}",
                f"{r['scan_peak_mib']:.0f}",
                f"{r['maxrss_mib']:.0f}",
                f"{(r['maxrss_mib'] - r['baseline_mib']) * MIB / max(1, r['lines']):.0f}",
            ]
        )
    print(
        table(
            [
                "manifest",
                "state",
                "size",
                "lines",
                "published",
                "wall s",
                "MiB/s",
                "lines/s",
                "RSS after imports",
                "peak RSS after scan",
                "peak RSS (ru_maxrss)",
                "B/object above imports",
            ],
            rows,
        )
    )
    print()
    rows = []
    for name, mode, r in runs:
        if mode != "no-journal":
            continue
        rows.append(
            [
                name,
                r["put_events"],
                r["events"],
                fmt_bytes(r["event_bytes"]),
                r["label_parts"],
                fmt_bytes(r["label_bytes"]),
                fmt_bytes(r["ledger_bytes"]),
            ]
        )
    print(
        table(
            ["manifest", "PutEvents", "events", "event detail bytes", "label parts", "labels bytes", "ledger.bin"], rows
        )
    )

    print("\n### Bare ledger of as many objects (fresh subprocess: build `Ledger`, then `to_bytes()`)\n")
    rows = []
    use_case = {(name, mode): r for name, mode, r in runs}
    for name, r in ledgers.items():
        uc = use_case[(name, "no-journal")]
        uc_j = use_case[(name, "journal")]
        ledger_peak = r["maxrss_mib"] - r["baseline_mib"]
        rows.append(
            [
                name,
                f"{r['baseline_mib']:.0f}",
                f"{r['built_mib']:.0f}",
                f"{r['maxrss_mib']:.0f}",
                f"{ledger_peak:.0f}",
                f"{uc['maxrss_mib'] - uc['baseline_mib'] - ledger_peak:.0f}",
                f"{uc_j['maxrss_mib'] - uc_j['baseline_mib'] - ledger_peak:.0f}",
            ]
        )
    print(
        table(
            [
                "objects of",
                "RSS after imports",
                "ledger built",
                "peak after to_bytes",
                "ledger peak above imports",
                "use case (no journal) minus ledger",
                "use case (journal) minus ledger",
            ],
            rows,
        )
    )

    print("\n### Current RSS while scanning the 1 GiB manifest (sampled every 64 MiB read)\n")
    for name, mode, r in runs:
        if name != "1GiB":
            continue
        points = r["samples"][:: max(1, len(r["samples"]) // 8)] + r["samples"][-1:]
        print(f"- {mode}: " + ", ".join(f"{b / MIB:.0f} MiB read → {rss:.0f}" for b, rss in points))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["1", "2", "all"], default="all")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-memory sequence of part 1 only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "use-case":
            result = child_use_case(rest[0], journal=rest[1] == "journal")
        else:
            result = child_ledger(int(rest[0]))
        print(json.dumps(result))
        return
    t0 = time.perf_counter()
    print(
        f"Host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start; "
        f"Python {sys.version.split()[0]}. Times are wall-clock and sensitive to other load."
    )
    if args.profile:
        part1(profile=True)
    else:
        if args.part in ("1", "all"):
            part1(profile=False)
        if args.part in ("2", "all"):
            part2()
    log(f"done in {time.perf_counter() - t0:.0f}s (load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
