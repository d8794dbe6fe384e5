"""Benchmark of `validate_stream`: throughput against a bare `orjson.loads`, and peak RSS flatness.

1. Throughput: 200k generated bounding-box lines (5 boxes each) and 200k classification lines, written
   to a temp file and validated as a stream of 1 MiB chunks, against `orjson.loads` of the same lines
   (held in memory: the parser alone) in the same run. Target: validation/parse >= 0.5.
2. Memory: `validate_stream` in a fresh subprocess on generated files of 10k and 1M bounding-box lines
   (streamed from disk, never held in memory); max RSS as the child sees it. Target: <= +50 MB.

Usage: .venv/bin/python benchmarks/bench_validate.py [--lines 200000] [--rss-lines 10000 1000000]
Prints markdown tables.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import lines as generated_lines
from gtproc.domain.lines import iter_lines
from gtproc.domain.scan import validate_stream
from gtproc.domain.validation import validate_line

CHUNK = 1024 * 1024
MB = 1_000_000
RATIO_TARGET = 0.5
RSS_TARGET_MB = 50

# On Linux ru_maxrss survives fork and exec: a process started from this (large) one would report our own
# peak. The child therefore forks first and the grandchild, whose counters start from its own small
# image, does the measured work. VmHWM (/proc, per address space) is printed as a cross-check.
CHILD = r"""
import os, sys
pid = os.fork()
if pid:
    sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
import json, resource
from gtproc.domain.scan import validate_stream

def chunks(path):
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            yield chunk

report = validate_stream(chunks(sys.argv[1]), sys.argv[1])
usage = resource.getrusage(resource.RUSAGE_SELF)
hwm = next((int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")), 0)
print(json.dumps({"lines": report.lines, "invalid": report.invalid, "labeled": report.labeled,
                  "maxrss_kb": usage.ru_maxrss, "vmhwm_kb": hwm}), flush=True)
os._exit(0)
"""


def write_manifest(path: Path, kind: str, count: int, seed: int = 7) -> int:
    """Generate `count` lines straight to disk, in batches; returns the file size."""
    batch: list[bytes] = []
    with path.open("wb") as handle:
        for line in generated_lines(kind, count, seed):
            batch.append(line)
            if len(batch) == 10_000:
                handle.write(b"\n".join(batch) + b"\n")
                batch.clear()
        if batch:
            handle.write(b"\n".join(batch) + b"\n")
    return path.stat().st_size


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return best, result


def parse_all(lines: list[bytes]) -> int:
    loads = orjson.loads
    for line in lines:
        loads(line)
    return len(lines)


def parse_streamed(path: Path) -> int:
    loads = orjson.loads
    count = 0
    for line in iter_lines(file_chunks(path)):
        loads(line)
        count += 1
    return count


def reference_only(path: Path) -> int:
    count = 0
    for number, line in enumerate(iter_lines(file_chunks(path)), 1):
        validate_line(number, line)
        count += 1
    return count


def throughput(kind: str, count: int, workdir: Path, repeat: int) -> list[dict[str, Any]]:
    path = workdir / f"{kind}.manifest"
    size = write_manifest(path, kind, count)
    lines = path.read_bytes().split(b"\n")[:-1]
    runs: dict[str, Callable[[], int]] = {
        "validate_stream (file, 1 MiB chunks)": lambda: validate_stream(file_chunks(path), str(path)).labeled,
        "orjson.loads (same lines, in memory)": lambda: parse_all(lines),
        "orjson.loads (file, same splitter)": lambda: parse_streamed(path),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(repeat):  # interleaved, so that both sides see the same machine load
        for name, run in runs.items():
            seconds, result = best_of(1, run)
            assert result == count, (name, result)
            best[name] = min(best[name], seconds)
    lines.clear()  # free the memory before the next measurements
    best["reference validator only (no fast path)"], checked = best_of(1, lambda: reference_only(path))
    assert checked == count
    validation, parse = best["validate_stream (file, 1 MiB chunks)"], best["orjson.loads (same lines, in memory)"]
    return [
        {
            "what": f"{kind}: {name}",
            "lines": count,
            "mb": size / MB,
            "seconds": elapsed,
            "lines_s": count / elapsed,
            "mb_s": size / MB / elapsed,
            "ratio": parse / validation if index == 0 else None,
        }
        for index, (name, elapsed) in enumerate(best.items())
    ]


def peak_rss(count: int, workdir: Path) -> dict[str, Any]:
    path = workdir / f"rss-{count}.manifest"
    size = write_manifest(path, "bbox", count, seed=11)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["lines"] == count and result["invalid"] == 0, result
    path.unlink()
    return {
        "lines": count,
        "mb": size / MB,
        "maxrss_mb": result["maxrss_kb"] / 1024,
        "vmhwm_mb": result["vmhwm_kb"] / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines per throughput file")
    parser.add_argument("--rss-lines", type=int, nargs=2, default=[10_000, 1_000_000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-validate-") as tmp:
        workdir = Path(tmp)
        rows = [
            row for kind in ("bbox", "classification") for row in throughput(kind, args.lines, workdir, args.repeat)
        ]
        print(f"## validate_stream throughput (Python {sys.version.split()[0]}, best of {args.repeat})\n")
        print("| measurement | lines | MB | s | lines/s | MB/s | validation/parse |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for row in rows:
            ratio = "" if row["ratio"] is None else f"**{row['ratio']:.3f}** (target >= {RATIO_TARGET})"
            print(
                f"| {row['what']} | {row['lines']:,} | {row['mb']:.1f} | {row['seconds']:.3f} |"
                f" {row['lines_s']:,.0f} | {row['mb_s']:.1f} | {ratio} |"
            )

        small, large = (peak_rss(count, workdir) for count in args.rss_lines)
        print("\n## Peak RSS of validate_stream in a fresh process (ru_maxrss of the child)\n")
        print("| file | lines | MB on disk | max RSS MB (ru_maxrss) | VmHWM MB |")
        print("|---|---:|---:|---:|---:|")
        for row in (small, large):
            print(
                f"| bbox, 5 boxes/line | {row['lines']:,} | {row['mb']:.1f} | {row['maxrss_mb']:.1f} |"
                f" {row['vmhwm_mb']:.1f} |"
            )
        growth = large["maxrss_mb"] - small["maxrss_mb"]
        verdict = "ok" if growth <= RSS_TARGET_MB else "OVER TARGET"
        print(
            f"| **difference** | | | **{growth:+.1f}** (target <= +{RSS_TARGET_MB}: {verdict}) |"
            f" {large['vmhwm_mb'] - small['vmhwm_mb']:+.1f} |"
        )
        ratios = [row["ratio"] for row in rows if row["ratio"] is not None]
        print(f"\nthroughput ratio target: {'ok' if min(ratios) >= RATIO_TARGET else 'BELOW TARGET'}")


if __name__ == "__main__":
    main()
