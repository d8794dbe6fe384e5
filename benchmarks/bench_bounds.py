"""Peak RSS and time of the worst worker-response files found, through the annotations use case.

Each case runs in a fresh interpreter (its ru_maxrss is its own; this parent imports nothing heavy),
on the in-memory adapters with the default bounds, next to a reference run in the same table:
what the same input cost without the bound (where that is safe to run) or a well-formed file of the
usual size. The hostile files come from tests/unit/annotations/hostile_inputs.py.

    .venv/bin/python benchmarks/bench_bounds.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
sys.path[:0] = [sys.argv[1] + "/functions", sys.argv[1] + "/tests/unit/annotations"]
import numpy as np
import hostile_inputs as h
from gtproc.adapters.memory import MemoryAnnotationStore, MemoryBlobs, MemoryJobs, MemoryPublisher
from gtproc.domain.consolidation import encode_png, png
from gtproc.usecases.consolidate_annotations import ConsolidateAnnotations

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def mask_file(side_w, side_h, workers=3, row_filter=4):
    rng = np.random.default_rng(0)
    answers = []
    for k in range(workers):
        pixels = np.zeros((side_h, side_w, 4), np.uint8)
        pixels[..., 3] = 255
        pixels[: side_h // 2, :, :3] = (44, 160, 44)  # half bird
        noise = rng.random((side_h, side_w)) < 0.01
        pixels[noise, :3] = 255
        encoded = encode_png(pixels, row_filter=row_filter, level=1)
        answers.append(h.segmentation_answer(f"w{k}", encoded, side_w, side_h))
    return h.worker_file(*answers)

def classification_file(target_bytes):
    one = {"workerId": "w", "answerContent": {"crowd-image-classifier": {"label": "a"}}}
    n = target_bytes // len(json.dumps(one))
    return h.worker_file(*({**one, "workerId": f"w{i}"} for i in range(n)))

case = sys.argv[2]
build = {
    "bomb": lambda: h.worker_file(
        *(h.segmentation_answer(f"w{k}", h.png_bomb(64, 64, 512 << 20), 64, 64) for k in range(3))
    ),
    "mask-cap": lambda: mask_file(2048, 2048),
    "mask-1mpx": lambda: mask_file(1024, 1024),
    "thin-mask": lambda: mask_file(1024 * 1024, 4, workers=3),
    "boxes-cap": lambda: h.many_boxes(3, 500),
    "boxes-usual": lambda: h.many_boxes(3, 30),
    "nesting": lambda: h.deep_nesting(100_000),
    "classes": lambda: h.many_classes(100_000),
    "file-cap": lambda: classification_file(15 << 20),
    "file-1mb": lambda: classification_file(1 << 20),
}
if case in ("inflate-bomb", "diagonals-thin", "bytes-thin"):
    if case == "inflate-bomb":  # what the decoder did before the bound: inflate it all
        import zlib
        data = h.png_bomb(64, 64, 512 << 20)
        idat = data[33 + 8 : -12 - 4]
        start_rss = rss(); t = time.perf_counter()
        zlib.decompress(idat)
    else:
        pixels = np.random.default_rng(0).integers(0, 256, (4, 262_144, 4), dtype=np.uint8)
        raw = png._filter(pixels, np.full(4, 4, np.int16))
        start_rss = rss(); t = time.perf_counter()
        if case == "diagonals-thin":  # the anti-diagonal sweep alone, as before: one numpy step per column
            png._unfilter_diagonals(np.full(4, 4), raw, np.zeros((262_144, 4), np.uint8))
        else:
            png._unfilter(np.full(4, 4), raw)
    seconds = time.perf_counter() - t
    print(json.dumps({"mb": 0, "seconds": seconds, "input_rss": start_rss, "peak_rss": rss(), "outcome": "-"}))
    sys.exit()
if len(sys.argv) > 4 and sys.argv[4] == "build":  # built in another process: its memory is not measured
    Path(sys.argv[3]).write_bytes(build[case]())
    sys.exit()
data = Path(sys.argv[3]).read_bytes()
blobs = MemoryBlobs(); key = "job/annotations/worker-response/iteration-1/3/2024.json"
blobs.write("b", key, data)
use_case = ConsolidateAnnotations(blobs, MemoryJobs({}), MemoryAnnotationStore(), MemoryPublisher())
start_rss = rss(); t = time.perf_counter()
outcome = use_case("b", key)
seconds = time.perf_counter() - t
print(json.dumps({"mb": len(data) / 2**20, "seconds": seconds, "input_rss": start_rss, "peak_rss": rss(),
                  "outcome": outcome.code or ",".join(outcome.published) or outcome.status}))
"""

CASES = [
    (
        "PNG bomb: 3 masks of 64x64 inflating to 512 MiB each",
        "bomb",
        "zlib.decompress of one of them (before)",
        "inflate-bomb",
    ),
    ("3 RGBA masks at the 4 Mpx cap (2048x2048, Paeth)", "mask-cap", "3 masks of 1 Mpx", "mask-1mpx"),
    ("3 masks of 4 x 1,048,576 px (Paeth)", "thin-mask", "-", None),
    ("unfilter 4 x 262,144 Paeth rows: per-row bytes", "bytes-thin", "anti-diagonal sweep (before)", "diagonals-thin"),
    ("boxes: 3 answers x 500 (the cap)", "boxes-cap", "3 answers x 30", "boxes-usual"),
    ("100,000-deep nesting", "nesting", "-", None),
    ("multi-label answer of 100,000 classes", "classes", "-", None),
    ("15 MiB of classification answers (under the 16 MiB cap)", "file-cap", "1 MiB of them", "file-1mb"),
]


def run(case: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "input.json")
        subprocess.run([sys.executable, "-c", CHILD, str(ROOT), case, path, "build"], check=True)
        command = [sys.executable, "-c", CHILD, str(ROOT), case, path]
        return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def main() -> None:
    print(
        "| input | file MiB | outcome | seconds | peak RSS MB (before the call) | reference | seconds | peak RSS MB |"
    )
    print("| --- | ---: | --- | ---: | ---: | --- | ---: | ---: |")
    for title, case, ref_title, ref in CASES:
        print(f"running {case}", file=sys.stderr)
        r = run(case)
        row = f"| {title} | {r['mb']:.1f} | {r['outcome']} | {r['seconds']:.2f} |"
        row += f" {r['peak_rss']:.0f} ({r['input_rss']:.0f}) |"
        if ref:
            q = run(ref)
            row += f" {ref_title} | {q['seconds']:.2f} | {q['peak_rss']:.0f} |"
        else:
            row += " - | - | - |"
        print(row, flush=True)


if __name__ == "__main__":
    main()
