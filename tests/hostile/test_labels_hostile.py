"""`gtproc labels` on hostile label parts (from a moto server): each bad line is named by part and line,
the good lines are still exported, exit 1; never a traceback."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.support import assert_clean

pytestmark = pytest.mark.integration

BUCKET = "gtproc-labels"
BASE = "labels/out/jobs/j/"
META = {"class-name": "a", "type": "groundtruth/image-classification", "job-name": "labeling-job/j"}
META |= {"human-annotated": "yes", "creation-date": "2024-01-01T00:00:00.000000", "confidence": 0.9}


def part_line(oid: Any) -> bytes:
    record = {"datasetObjectId": oid, "sourceRef": f"s3://in/{oid}.jpg", "label": 0, "metadata": META}
    record |= {"labelAttributeName": "j", "status": "labeled", "iteration": 1, "manifestUri": "s3://o/m"}
    return corpus.compact(record)


HOSTILE = {
    "deep-array": corpus.deep_array(),
    "deep-object": corpus.deep_object(),
    "nan": part_line("4").replace(b'"confidence":0.9', b'"confidence":NaN'),
    "huge-integer": part_line("4").replace(b'"label":0', b'"label":' + corpus.huge_integer()),
    "invalid-utf8": part_line("4").replace(b"s3://in/", b"s3://in/\xff"),
    "nul-bytes": b"\x00" * 16,
    **{f"id-{digit}": part_line(digit) for digit in corpus.NON_ASCII_DIGITS},
    "id-past-int-digits": part_line(corpus.huge_integer().decode()),  # int() refuses past 4,300 digits
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_part_line_is_named_and_the_others_exported(moto_server: Any, name: str) -> None:
    s3 = moto_server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    body = part_line("1") + b"\n" + HOSTILE[name] + b"\n" + part_line("2") + b"\n"
    s3.put_object(Bucket=BUCKET, Key=BASE + "part-00000001-r1-0000.jsonl", Body=body)

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}")

    assert result.returncode == 1, result.stderr
    lines = assert_clean(result, "labels")
    named = [line for line in lines if "part-00000001-r1-0000.jsonl:2: " in line]
    assert len(named) == 1, lines
    assert [json.loads(line)["source-ref"] for line in result.stdout.splitlines()] == ["s3://in/1.jpg", "s3://in/2.jpg"]
