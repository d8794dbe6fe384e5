"""`gtproc backfill --local` over a bucket (a moto server) holding hostile objects beside a real job:
the run ends, bad files are reported on the bus, nothing dead-letters, and the job's labels still land."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.support import REPO

pytestmark = pytest.mark.integration

TREE = REPO / "events" / "jobs" / "bbox-three-iterations"
BUCKET = "gt-output-bucket"
RESPONSES = "cars-bbox/annotations/worker-response/iteration-1"


def test_backfill_reports_hostile_objects_and_dead_letters_nothing(moto_server: Any, tmp_path: Path) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for path in sorted(p for p in TREE.rglob("*") if p.is_file()):
        s3.put_object(Bucket=BUCKET, Key=path.relative_to(TREE).as_posix(), Body=path.read_bytes())
    bad_boxes = {"workerId": "w", "answerContent": {"boundingBox": {"boundingBoxes": 5}}}
    hostile = {
        f"{RESPONSES}/98/2024-03-12_09:26:00.json": corpus.compact({"answers": [bad_boxes]}),
        f"{RESPONSES}/99/2024-03-12_09:26:00.json": corpus.deep_array(),
        f"{RESPONSES}/\u0663/2024-03-12_09:26:00.json": corpus.compact({"answers": [bad_boxes]}),
        "cars-bbox/manifests/intermediate/9/output.manifest": b"\n".join(
            [corpus.deep_object(), b"\xff", corpus.NOT_JSON["nan"]]
        ),
    }
    for key, body in hostile.items():
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    events = tmp_path / "events.jsonl"

    result = moto_server.gtproc("backfill", f"s3://{BUCKET}/", "--local", "--quiet", "--events-out", events)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "dead-letter queues: 0 messages" in result.stdout
    published = [json.loads(line) for line in events.read_text().splitlines()]
    invalid = sorted(e["detail"]["datasetObjectId"] for e in published if e["detail-type"] == "Annotation File Invalid")
    assert invalid == ["98", "99"]  # the key of Arabic-Indic digits is no object of the layout
    failed = [e["detail"] for e in published if e["detail-type"] == "Validation Failed"]
    assert sorted(error["line"] for event in failed for error in event["errors"]) == [1, 2, 3]
    labeled = {
        o["datasetObjectId"] for e in published if e["detail-type"] == "Objects Labeled" for o in e["detail"]["objects"]
    }
    assert len(labeled) == 30
