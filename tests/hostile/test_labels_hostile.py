"""`gtproc labels` on hostile label parts (from a moto server): each bad line is named by part and line,
the good lines are still exported, exit 1; never a traceback. What it exports, `gtproc validate` accepts."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.support import assert_clean

pytestmark = pytest.mark.integration

BUCKET = "gtproc-labels"
BASE = "labels/out/jobs/j/"
META = {"class-name": "a", "type": "groundtruth/image-classification", "job-name": "labeling-job/j"}
META |= {"human-annotated": "yes", "creation-date": "2024-01-01T00:00:00.000000", "confidence": 0.9}


def record_of(oid: Any, **changes: Any) -> dict[str, Any]:
    record = {"datasetObjectId": oid, "sourceRef": f"s3://in/{oid}.jpg", "label": 0, "metadata": META}
    record |= {"labelAttributeName": "j", "status": "labeled", "iteration": 1, "manifestUri": "s3://o/m"}
    return record | changes


def part_line(oid: Any, **changes: Any) -> bytes:
    return corpus.compact(record_of(oid, **changes))


def upload(server: Any, parts: dict[str, bytes]) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    for name, body in parts.items():
        s3.put_object(Bucket=BUCKET, Key=BASE + name, Body=body)


HOSTILE = {
    "deep-array": corpus.deep_array(),
    "deep-object": corpus.deep_object(),
    "nan": part_line("4").replace(b'"confidence":0.9', b'"confidence":NaN'),
    "huge-integer": part_line("4").replace(b'"label":0', b'"label":' + corpus.huge_integer()),
    "invalid-utf8": part_line("4").replace(b"s3://in/", b"s3://in/\xff"),
    "nul-bytes": b"\x00" * 16,
    "id-empty": part_line(""),
    "id-number": part_line(4),
    # Lines `gtproc validate` would refuse once exported: each is named, not exported.
    "attribute-ends-with-metadata": part_line("4", labelAttributeName="j-metadata"),  # was a TypeError
    "attribute-source-ref": part_line("4", labelAttributeName="source-ref"),
    "attribute-source": part_line("4", labelAttributeName="source"),
    "source-ref-http": part_line("4", sourceRef="https://in/4.jpg"),
    "confidence-7": part_line("4", metadata=META | {"confidence": 7}),
    "metadata-without-type": part_line("4", metadata={k: v for k, v in META.items() if k != "type"}),
    "failure-reason-number": part_line("4", status="failed", failureReason=5),
    # The same object (1) as the line before, from another source: which one it is cannot be told.
    "source-conflict": part_line("1", sourceRef="s3://elsewhere/1.jpg"),
    "source-conflict-spelled-01": part_line("01", sourceRef="s3://elsewhere/1.jpg"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_part_line_is_named_and_the_others_exported(moto_server: Any, name: str) -> None:
    body = part_line("1") + b"\n" + HOSTILE[name] + b"\n" + part_line("2") + b"\n"
    upload(moto_server, {"part-00000001-r1-0000.jsonl": body})

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}")

    assert result.returncode == 1, result.stderr
    lines = assert_clean(result, "labels")
    named = [line for line in lines if "part-00000001-r1-0000.jsonl:2: " in line]
    assert len(named) == 1, lines
    assert [json.loads(line)["source-ref"] for line in result.stdout.splitlines()] == ["s3://in/1.jpg", "s3://in/2.jpg"]


def test_with_o_a_refused_line_is_exit_1_and_the_file_holds_the_others(moto_server: Any, tmp_path: Path) -> None:
    # An attribute ending in -metadata was a TypeError after the file was written, and exit 0.
    body = part_line("1") + b"\n" + part_line("4", labelAttributeName="j-metadata") + b"\n" + part_line("2") + b"\n"
    upload(moto_server, {"part-00000001-r1-0000.jsonl": body})
    out = tmp_path / "labels.manifest"

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}", "-o", out)

    assert result.returncode == 1, result.stderr
    lines = assert_clean(result, "labels")
    assert any(":2: [label-metadata-suffix] " in line for line in lines), lines
    exported = [json.loads(line)["source-ref"] for line in out.read_text().splitlines()]
    assert exported == ["s3://in/1.jpg", "s3://in/2.jpg"]


def _mutations() -> list[dict[str, Any]]:
    """Part lines, each a good one with one field made hostile; every line its own object and source."""
    box = {"annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}], "image_size": []}
    box_meta = META | {"type": "groundtruth/object-detection", "class-map": {"0": "car"}}
    box_meta["objects"] = [{"confidence": 1}]
    bases = [
        {"label": 0, "metadata": META},
        {"label": box, "metadata": box_meta},
        {"status": "failed", "failureReason": "expired", "label": None, "metadata": None},
    ]
    values: list[Any] = [None, 5, -1, 7, 1e300, "", "x", "s3://", "source-ref", "a-metadata", [], {}, [0], True]
    fields = ["labelAttributeName", "status", "sourceRef", "source", "label", "failureReason", "labelOmitted"]
    meta_keys = ["type", "class-name", "confidence", "job-name", "human-annotated", "creation-date", "class-map"]
    records = []
    for base in bases:
        for value in values:
            for field in fields:
                records.append(base | {field: value})
            for key in meta_keys:
                if isinstance(base["metadata"], dict):
                    records.append(base | {"metadata": base["metadata"] | {key: value}})
    lines = []
    for number, changes in enumerate(records):
        record = record_of(str(number), sourceRef=f"s3://in/{number}.jpg") | {"labelAttributeName": "j"}
        record |= {k: v for k, v in changes.items() if v is not None or k in ("label", "metadata")}
        if record.get("status") == "failed":
            record = {k: v for k, v in record.items() if k not in ("label", "metadata")}
        if changes.get("sourceRef", "") is None:
            del record["sourceRef"]
        if isinstance(record.get("source"), str):  # sourceRef wins; a distinct source keeps one object each
            record["source"] += f"#{number}"
        lines.append(record)
    return lines


def test_every_line_labels_exports_from_hostile_parts_validate_accepts(moto_server: Any, tmp_path: Path) -> None:
    records = _mutations()
    upload(moto_server, {"part-00000001-r1-0000.jsonl": b"".join(corpus.compact(r) + b"\n" for r in records)})
    out = tmp_path / "labels.manifest"

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}", "-o", out)

    assert result.returncode == 1, result.stderr  # the corpus has refused lines
    named = assert_clean(result, "labels")[:-1]  # the last line is the summary
    exported = out.read_text().splitlines()
    # Nothing lost, nothing twice: each line (its own object) is exported or named, never both.
    assert len(exported) + len(named) == len(records), (len(exported), len(named), len(records))
    assert len({line.split(": [", 1)[0] for line in named}) == len(named)
    assert 20 < len(exported) < len(records) - 20  # the corpus holds many of both
    checked = moto_server.gtproc("validate", "--json", out)
    assert checked.returncode == 0, checked.stdout[-3000:]
    report = json.loads(checked.stdout)
    assert report["invalid"] == 0 and report["errors"] == [], report["errors"][:5]


def test_a_dedup_id_is_an_object_of_its_own_after_the_numbered_ones(moto_server: Any) -> None:
    # A streaming job's datasetObjectId is its dedup key's value: the ledger keys it by object_index too.
    ids = ["pet-1", *corpus.NON_ASCII_DIGITS, corpus.huge_integer().decode(), "10", "2"]
    upload(moto_server, {"part-00000001-r1-0000.jsonl": b"".join(part_line(oid) + b"\n" for oid in ids)})

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}")

    assert result.returncode == 0, result.stderr
    assert_clean(result, "labels")
    order = ["2", "10", *sorted(["pet-1", *corpus.NON_ASCII_DIGITS, corpus.huge_integer().decode()])]
    exported = [json.loads(line)["source-ref"] for line in result.stdout.splitlines()]
    assert exported == [f"s3://in/{oid}.jpg" for oid in order]


def test_01_and_1_are_one_object_as_in_the_ledger(moto_server: Any) -> None:
    second = part_line("1", labelAttributeName="k", sourceRef="s3://in/01.jpg")
    upload(moto_server, {"part-00000001-r1-0000.jsonl": part_line("01") + b"\n" + second + b"\n"})

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}")

    assert result.returncode == 0, result.stderr
    [line] = [json.loads(line) for line in result.stdout.splitlines()]
    assert line == {"source-ref": "s3://in/01.jpg", "j": 0, "j-metadata": META, "k": 0, "k-metadata": META}


def test_a_conflicting_source_is_named_and_the_first_kept(moto_server: Any) -> None:
    later = part_line("1", sourceRef="s3://elsewhere/1.jpg", label=1)
    upload(
        moto_server,
        {"part-00000001-r1-0000.jsonl": part_line("1") + b"\n", "part-00000002-r2-0000.jsonl": later + b"\n"},
    )

    result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}")

    assert result.returncode == 1, result.stderr
    [problem, _summary] = assert_clean(result, "labels")
    assert "part-00000002-r2-0000.jsonl:1: [source-conflict] " in problem, problem
    assert "s3://in/1.jpg" in problem and "s3://elsewhere/1.jpg" in problem
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"source-ref": "s3://in/1.jpg", "j": 0, "j-metadata": META}
    ]


def test_o_file_gets_the_mode_a_redirection_would(moto_server: Any, tmp_path: Path) -> None:
    upload(moto_server, {"part-00000001-r1-0000.jsonl": part_line("1") + b"\n"})
    new, existing = tmp_path / "new.manifest", tmp_path / "existing.manifest"
    existing.write_text("old\n")
    existing.chmod(0o660)
    previous = os.umask(0o022)  # the child inherits it
    try:
        for out in (new, existing):
            result = moto_server.gtproc("labels", f"s3://{BUCKET}/{BASE}", "-o", out)
            assert result.returncode == 0, result.stderr
    finally:
        os.umask(previous)

    assert stat.S_IMODE(new.stat().st_mode) == 0o644  # 0666 & ~022, not mkstemp's 0600
    assert stat.S_IMODE(existing.stat().st_mode) == 0o660  # an existing file keeps its own
    assert existing.read_text().startswith('{"source-ref":"s3://in/1.jpg"')
