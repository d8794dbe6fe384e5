"""Progress bars: on a real pseudo-terminal `consolidate`, `replay`, `validate` of a prefix and `labels`
draw one on stderr; piped, they draw none (no carriage returns, no bar)."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
BAR = re.compile(r"\r[^\r\n]* \[[#.]{30}\] +\d+% ")
MotoServer = Any  # tests/cli/conftest.py's moto_server fixture


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `gtproc args` with stdout and stderr on a pseudo-terminal; (exit code, all it wrote)."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "gtproc", *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    written = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("no output for 60 s")
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        written += chunk
    os.close(master)
    return process.wait(timeout=60), written.decode("utf-8", "replace")


def piped(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gtproc", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def commands(server: MotoServer, tmp_path: Path) -> dict[str, list[str]]:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="gt-output-bucket")
    tree = JOBS / "bbox-three-iterations"
    for path in sorted(tree.rglob("*.manifest")):
        s3.put_object(Bucket="gt-output-bucket", Key=path.relative_to(tree).as_posix(), Body=path.read_bytes())
    s3.create_bucket(Bucket="gtproc-labels")
    metadata = b'{"class-name":"dog","confidence":0.9,"type":"groundtruth/image-classification",'
    metadata += b'"job-name":"labeling-job/a","human-annotated":"yes","creation-date":"2024-01-01T00:00:00.000000"}'
    line = b'{"datasetObjectId":"0","sourceRef":"s3://in/0.jpg","label":1,"metadata":' + metadata + b","
    line += b'"labelAttributeName":"a","status":"labeled","iteration":1,"manifestUri":"s3://o/m"}\n'
    s3.put_object(Bucket="gtproc-labels", Key="labels/out/job/part-00000001-r-0000.jsonl", Body=line)
    return {
        "consolidate": ["consolidate", str(tree / "cars-bbox")],
        "replay": ["replay", "--quiet", str(JOBS / "bbox-three-iterations.plan.jsonl")],
        "validate": ["validate", "s3://gt-output-bucket/cars-bbox/"],
        "labels": ["labels", "s3://gtproc-labels/labels/out/job/"],
    }


@pytest.mark.parametrize("command", ["consolidate", "replay", "validate", "labels"])
def test_a_bar_on_a_terminal_and_none_when_piped(moto_server: MotoServer, tmp_path: Path, command: str) -> None:
    args = commands(moto_server, tmp_path)[command]
    unit = {"consolidate": "files", "replay": "writes", "validate": "manifests", "labels": "parts"}[command]

    code, shown = on_a_terminal(args, moto_server.env)

    assert code == 0, shown
    bars = BAR.findall(shown)
    assert bars, shown[-2000:]
    assert f" {unit}" in shown and "100%" in shown
    run = piped(args, moto_server.env)
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr and not BAR.search(run.stderr) and "[#" not in run.stderr
    assert "\r" not in run.stdout
