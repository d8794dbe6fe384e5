"""`gtproc backfill --local` on a generated ~10k-file bounding-box job served by a moto server (its own
process), side by side with `gtproc replay` (the embedded AWS) of the same job's files, in one run.

    .venv/bin/python benchmarks/bench_backfill.py                  # ~12k objects, replay reference on 600 files
    .venv/bin/python benchmarks/bench_backfill.py --objects 2000 --replay-files 0   # the whole job replayed too

Both commands run in a fresh interpreter each; the times are wall-clock and include listing, reading
and processing. Target: backfill --local >= 200 files/s (the replay does ~20). The machine may be shared:
the table also gives each command's own CPU time (user + system, its reader threads included, the moto
server's not) and the load average, so that runs on a busy machine can be compared.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "functions"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_report import make_job  # noqa: E402 - a generated job tree (worker responses, consolidation, manifests)
from gtproc.local.replay import load_writes  # noqa: E402

BUCKET = "gt-output-bucket"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return server, endpoint
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("moto server did not start")


def env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def upload(endpoint: str, folder: Path) -> int:
    import boto3

    s3 = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    s3.create_bucket(Bucket=BUCKET)
    writes = load_writes(folder)  # in the replay's write order
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda w: s3.put_object(Bucket=BUCKET, Key=w.key, Body=w.file.read_bytes()), writes))
    return len(writes)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(command: list[str], environment: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the command, exit code)."""
    start, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, env=environment, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
    return seconds, _children_cpu() - cpu, done.returncode


def subset(job: Path, target: Path, files: int) -> Path:
    """The job's first `files` worker responses (by object) and its manifests: the replay reference."""
    out = target / job.name
    responses = sorted((job / "annotations" / "worker-response").rglob("*.json"))[:files]
    for path in [*responses, *(job / "manifests").rglob("*.manifest")]:
        copy = out / path.relative_to(job)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=12_000, help="objects of the job (~84%% get a worker response)")
    parser.add_argument("--replay-files", type=int, default=600, help="files of the replay reference (0: all)")
    args = parser.parse_args()
    gtproc = [sys.executable, "-m", "gtproc"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        job = make_job(root / "jobs", args.objects, "boxes")
        files = sum(1 for p in job.rglob("*") if p.is_file())
        server, endpoint = start_moto()
        try:
            print(f"uploading {files} files to a moto server ...", file=sys.stderr)
            upload(endpoint, root / "jobs")
            load_before = os.getloadavg()[0]
            command = [*gtproc, "backfill", f"s3://{BUCKET}/", "--local", "--quiet"]
            server_cpu = process_cpu(server.pid)
            backfill_s, backfill_cpu, code = timed(command, env(endpoint))
            server_cpu = process_cpu(server.pid) - server_cpu
            assert code == 0, f"backfill exited {code}"
        finally:
            server.kill()
            server.wait()
        reference = job if args.replay_files == 0 else subset(job, root / "subset", args.replay_files)
        replay_files = sum(1 for p in reference.rglob("*") if p.is_file())
        print(f"replaying {replay_files} files on the embedded AWS ...", file=sys.stderr)
        replay_s, replay_cpu, code = timed([*gtproc, "replay", str(reference), "--quiet"], dict(os.environ))
        assert code == 0, f"replay exited {code}"
        load_after = os.getloadavg()[0]
    print(f"\n### gtproc backfill --local vs gtproc replay ({os.cpu_count()} CPUs)\n")
    print("| run | files | seconds | files/s | CPU s | files per CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    name = "`backfill --local` (moto server, in-memory pipelines)"
    print(
        f"| {name} | {files} | {backfill_s:.1f} | {files / backfill_s:.0f} | {backfill_cpu:.1f}"
        f" | {files / backfill_cpu:.0f} |"
    )
    print(
        f"| `replay` (embedded AWS) | {replay_files} | {replay_s:.1f} | {replay_files / replay_s:.1f}"
        f" | {replay_cpu:.1f} | {replay_files / replay_cpu:.1f} |"
    )
    # The emulated S3 shares the machine: its CPU per file bounds the wall rate, which S3 itself would not.
    print(
        f"\nmoto server (the emulated S3) during the backfill: {server_cpu:.1f} CPU s,"
        f" {server_cpu / files * 1000:.1f} ms a file (alone, one core would serve {files / server_cpu:.0f} files/s)"
    )
    print(f"speed-up: {(files / backfill_s) / (replay_files / replay_s):.1f}x; target >= 200 files/s")
    print(f"load average (1 min): {load_before:.2f} before the backfill, {load_after:.2f} after the replay")


if __name__ == "__main__":
    main()
