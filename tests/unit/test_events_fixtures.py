"""The sample fixtures under events/ are well-formed, internally consistent and reproducible.

Independent of gtproc's code: counts are re-derived from the bytes on disk and compared with the
`<tree>.expected.json` files, so the expectations other tests rely on are trustworthy.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest

EVENTS = Path(__file__).resolve().parents[2] / "events"
JOBS = EVENTS / "jobs"
TRIGGERS = EVENTS / "triggers"
TREES = ["bbox-three-iterations", "classification-failed-auto", "adjustment-chained", "bad-input"]
WELL_FORMED = ["bbox-three-iterations", "classification-failed-auto", "adjustment-chained"]
FILE_TS = re.compile(r"^\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d\.json$")


def load_expected(tree: str) -> dict[str, Any]:
    return json.loads((JOBS / f"{tree}.expected.json").read_text(encoding="utf-8"))


def physical_lines(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    if not text:
        return []
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def count_manifest(data: bytes, lan: str, kind: str) -> dict[str, Any]:
    """Re-derive the counts of a well-formed manifest (every line a valid object line)."""
    out = {"lines": 0, "objects": 0, "labeled": 0, "humanLabeled": 0, "autoLabeled": 0, "failed": 0, "unlabeled": 0}
    class_counts: dict[str, int] = {}
    for raw in physical_lines(data):
        out["lines"] += 1
        line = json.loads(raw)
        out["objects"] += 1
        meta = line.get(f"{lan}-metadata")
        if lan in line:
            out["labeled"] += 1
            out["humanLabeled" if meta["human-annotated"] == "yes" else "autoLabeled"] += 1
            names = (
                [meta["class-name"]]
                if kind == "classification"
                else [meta["class-map"][str(a["class_id"])] for a in line[lan]["annotations"]]
            )
            for name in names:
                class_counts[name] = class_counts.get(name, 0) + 1
        elif isinstance(meta, dict) and "failure-reason" in meta:
            out["failed"] += 1
        else:
            out["unlabeled"] += 1
    out["classCounts"] = dict(sorted(class_counts.items()))
    return out


def task_kind(expected: dict[str, Any]) -> str:
    return "classification" if expected["taskType"] == "groundtruth/image-classification" else "bbox"


# ------------------------------------------------------------------------------------------ generator


def test_generator_reproduces_the_committed_files() -> None:
    proc = subprocess.run(
        [sys.executable, str(EVENTS / "generate_samples.py"), "--check"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr


def test_generator_writes_under_out_and_check_sees_a_changed_file(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        script = str(EVENTS / "generate_samples.py")
        return subprocess.run([sys.executable, script, *args], capture_output=True, text=True, timeout=120)

    assert run("--out", str(tmp_path)).returncode == 0
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(EVENTS).as_posix()
        for p in EVENTS.rglob("*")
        if p.is_file() and p.parts[len(EVENTS.parts)] in ("jobs", "triggers", "README.md")
    )
    assert (
        written == committed
        and (tmp_path / "jobs" / "README.md").read_bytes() == (EVENTS / "jobs/README.md").read_bytes()
    )
    assert run("--check", "--out", str(tmp_path)).returncode == 0
    with (tmp_path / "triggers" / "README.md").open("a", encoding="utf-8") as readme:
        readme.write("edited by hand\n")
    changed = run("--check", "--out", str(tmp_path))
    assert changed.returncode == 1 and "differs: triggers/README.md" in changed.stderr


def test_events_folder_is_small() -> None:
    total = sum(p.stat().st_size for p in EVENTS.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 2 * 1024 * 1024


# ------------------------------------------------------------------------------------------ manifests


@pytest.mark.parametrize("tree", WELL_FORMED)
def test_manifest_counts_match_expected(tree: str) -> None:
    exp = load_expected(tree)
    for m in exp["manifests"]:
        data = (JOBS / m["file"]).read_bytes()
        got = count_manifest(data, exp["labelAttributeName"], task_kind(exp))
        for k, v in got.items():
            assert v == m[k], (m["file"], k)
        assert m["invalidLines"] == 0 and m["blankLines"] == 0


@pytest.mark.parametrize("tree", WELL_FORMED)
def test_manifests_are_compact_full_snapshots_of_the_input(tree: str) -> None:
    exp = load_expected(tree)
    lan = exp["labelAttributeName"]
    inputs = physical_lines((JOBS / exp["inputManifest"]).read_bytes())
    for m in exp["manifests"]:
        data = (JOBS / m["file"]).read_bytes()
        assert data.endswith(b"\n") and b"\r" not in data
        lines = physical_lines(data)
        assert len(lines) == len(inputs)
        for raw, raw_in in zip(lines, inputs, strict=True):
            line, line_in = json.loads(raw), json.loads(raw_in)
            assert raw == json.dumps(line, separators=(",", ":"), ensure_ascii=False)
            assert list(line)[: len(line_in)] == list(line_in)
            assert all(line[k] == v for k, v in line_in.items())
            if lan not in line and f"{lan}-metadata" not in line:
                assert raw == raw_in
            extra = [k for k in line if k not in line_in]
            assert extra in ([], [lan, f"{lan}-metadata"], [f"{lan}-metadata"])


@pytest.mark.parametrize("tree", WELL_FORMED)
def test_label_metadata_shape(tree: str) -> None:
    exp = load_expected(tree)
    lan = exp["labelAttributeName"]
    final = physical_lines((JOBS / exp["final"]["file"]).read_bytes())
    for raw in final:
        line = json.loads(raw)
        meta = line[f"{lan}-metadata"]
        assert meta["job-name"] == exp["metadataJobName"] == f"labeling-job/{exp['jobName'].lower()}"
        if lan not in line:
            assert isinstance(meta["failure-reason"], str)
            continue
        assert meta["type"] == exp["taskType"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", meta["creation-date"])
        if task_kind(exp) == "classification":
            assert exp["labelCategories"][line[lan]] == meta["class-name"]
            assert 0 <= meta["confidence"] <= 1
        else:
            anns = line[lan]["annotations"]
            assert len(meta["objects"]) == len(anns)
            assert set(meta["class-map"]) == {str(a["class_id"]) for a in anns}
            for a in anns:
                assert exp["labelCategories"][a["class_id"]] == meta["class-map"][str(a["class_id"])]
                assert a["width"] > 0 and a["height"] > 0


def test_bbox_special_objects() -> None:
    exp = load_expected("bbox-three-iterations")
    final = [json.loads(x) for x in physical_lines((JOBS / exp["final"]["file"]).read_bytes())]
    zero = final[exp["specialObjects"]["zeroBoxes"]]
    assert zero["cars-bbox"]["annotations"] == []
    assert zero["cars-bbox-metadata"]["class-map"] == {} and zero["cars-bbox-metadata"]["objects"] == []
    assert " " in final[6]["source-ref"] and not final[17]["source-ref"].isascii()
    assert all("camera-id" in final[i] for i in exp["specialObjects"]["extraInputAttribute"])


def test_classification_failed_and_auto_lines() -> None:
    exp = load_expected("classification-failed-auto")
    final = [json.loads(x) for x in physical_lines((JOBS / exp["final"]["file"]).read_bytes())]
    for i in exp["sentToHumansButFailed"]:
        assert "flowers-classification" not in final[i]
        assert final[i]["flowers-classification-metadata"]["failure-reason"] == exp["failureReasons"][str(i)]
    assert any("type" not in final[i]["flowers-classification-metadata"] for i in exp["sentToHumansButFailed"])
    for i in exp["autoLabeled"]:
        assert final[i]["flowers-classification-metadata"]["human-annotated"] == "no"
    int2 = next(m for m in exp["manifests"] if m["iteration"] == 2)
    assert int2["unlabeledIds"] == exp["iterations"]["3"] and int2["failed"] == 3


def test_adjustment_chain() -> None:
    exp = load_expected("adjustment-chained")
    first, adj = exp["chainedOn"]["labelAttributeName"], exp["labelAttributeName"]
    final = [json.loads(x) for x in physical_lines((JOBS / exp["final"]["file"]).read_bytes())]
    statuses = {}
    for i, line in enumerate(final):
        assert line[f"{first}-metadata"]["job-name"] == exp["chainedOn"]["metadataJobName"]
        statuses[i] = line[f"{adj}-metadata"]["adjustment-status"]
        if statuses[i] == "unadjusted":
            assert line[adj]["annotations"] == line[first]["annotations"]
        else:
            assert line[adj]["annotations"] != line[first]["annotations"]
    assert sorted(i for i, s in statuses.items() if s == "unadjusted") == exp["unadjustedIds"]
    assert sorted(str(i) for i, s in statuses.items() if s == "adjusted") == sorted(exp["adjustments"])
    by_attr = exp["final"]["classCountsByAttribute"]
    assert count_manifest((JOBS / exp["final"]["file"]).read_bytes(), first, "bbox")["classCounts"] == by_attr[first]


def test_bad_input_lines_have_the_documented_problems() -> None:
    exp = load_expected("bad-input")
    m1, m2 = exp["manifests"]
    data = (JOBS / m1["file"]).read_bytes()
    assert len(data) == m1["bytes"] and (JOBS / m2["file"]).read_bytes() == b""
    raw_lines = physical_lines(data)
    assert len(raw_lines) == m1["lines"] == len(m1["lineTable"])
    lan = exp["labelAttributeName"]
    for row, raw in zip(m1["lineTable"], raw_lines, strict=True):
        assert raw.endswith("\r") == (row["ending"] == "CRLF")
        text = raw.rstrip("\r")
        problem = row["expected"]
        if problem == "blank":
            assert text.strip() == ""
            continue
        if problem == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(text)
            continue
        obj = json.loads(text)
        if problem == "not_an_object":
            assert not isinstance(obj, dict)
            continue
        has_source = "source" in obj or "source-ref" in obj
        meta = obj.get(f"{lan}-metadata", {})
        anns = obj.get(lan, {}).get("annotations", [])
        problems = set()
        if not has_source:
            problems.add("missing_source")
        if lan in obj and "type" not in meta:
            problems.add("metadata_missing_type")
        if any(a["width"] < 0 or a["height"] < 0 for a in anns):
            problems.add("negative_box_size")
        if any(str(a["class_id"]) not in meta.get("class-map", {}) for a in anns):
            problems.add("class_id_not_in_class_map")
        assert problems == ({problem} if problem != "valid" else set()), row
    valid = [json.loads(raw) for raw, row in zip(raw_lines, m1["lineTable"], strict=True) if row["expected"] == "valid"]
    assert len(valid) == m1["objects"]
    assert sum(lan in v for v in valid) == m1["labeled"]
    assert sum(lan not in v and "failure-reason" in v.get(f"{lan}-metadata", {}) for v in valid) == m1["failed"]


# ------------------------------------------------------------------------------------------ annotations


@pytest.mark.parametrize("tree", ["bbox-three-iterations", "classification-failed-auto"])
def test_worker_responses_and_consolidation_are_consistent(tree: str) -> None:
    exp = load_expected(tree)
    job, lan = exp["jobName"], exp["labelAttributeName"]
    root = JOBS / tree / job / "annotations"
    final = [json.loads(x) for x in physical_lines((JOBS / exp["final"]["file"]).read_bytes())]
    answers: dict[tuple[int, str], dict[str, Any]] = {}
    seen: dict[int, int] = {}
    for it, ids in exp["iterations"].items():
        it_dir = root / "worker-response" / f"iteration-{it}"
        assert sorted(int(p.name) for p in it_dir.iterdir()) == sorted(ids)
        for i in ids:
            (f,) = list((it_dir / str(i)).iterdir())
            assert FILE_TS.match(f.name)
            doc = json.loads(f.read_bytes())
            assert len(doc["answers"]) == exp["workersPerObject"]
            for a in doc["answers"]:
                assert a["submissionTime"][:19].replace("T", "_") <= f.name[:-5]
                answers[(i, a["workerId"])] = a["answerContent"]
            seen[i] = seen.get(i, 0) + 1
    assert all(v == 1 for v in seen.values())
    for it in exp["iterations"]:
        reqs = sorted((root / "consolidated-annotation" / "consolidation-request" / f"iteration-{it}").iterdir())
        resps = sorted((root / "consolidated-annotation" / "consolidation-response" / f"iteration-{it}").iterdir())
        assert len(reqs) == len(resps) >= 1
        for req_f, resp_f in zip(reqs, resps, strict=True):
            assert FILE_TS.match(req_f.name) and FILE_TS.match(resp_f.name)
            req, resp = json.loads(req_f.read_bytes()), json.loads(resp_f.read_bytes())
            assert [r["datasetObjectId"] for r in req] == [r["datasetObjectId"] for r in resp]
            for r in req:
                i = int(r["datasetObjectId"])
                assert r["dataObject"] == {"s3Uri": final[i]["source-ref"]}
                for ann in r["annotations"]:
                    assert json.loads(ann["annotationData"]["content"]) == answers[(i, ann["workerId"])]
            for r in resp:
                i = int(r["datasetObjectId"])
                content = r["consolidatedAnnotation"]["content"]
                assert content == {lan: final[i][lan], f"{lan}-metadata": final[i][f"{lan}-metadata"]}


# ------------------------------------------------------------------------------------------ plans


@pytest.mark.parametrize("tree", TREES)
def test_plan_covers_the_tree(tree: str) -> None:
    entries = [json.loads(x) for x in (JOBS / f"{tree}.plan.jsonl").read_text(encoding="utf-8").splitlines()]
    assert all(set(e) == {"key", "file"} for e in entries)
    assert all((JOBS / e["file"]).is_file() for e in entries)
    tree_files = {p.relative_to(JOBS).as_posix() for p in (JOBS / tree).rglob("*") if p.is_file()}
    assert {e["file"] for e in entries if e["file"].startswith(f"{tree}/")} == tree_files
    last: dict[str, str] = {}
    for e in entries:
        if e["file"].startswith(f"{tree}/"):
            assert e["file"] == f"{tree}/{e['key']}"
        last[e["key"]] = e["file"]
    assert all(f == f"{tree}/{k}" for k, f in last.items())


def test_bbox_plan_rewrites_and_order() -> None:
    entries = [json.loads(x) for x in (JOBS / "bbox-three-iterations.plan.jsonl").read_text().splitlines()]
    keys = [e["key"] for e in entries]
    int2 = "cars-bbox/manifests/intermediate/2/output.manifest"
    int3 = "cars-bbox/manifests/intermediate/3/output.manifest"
    pos2 = [k for k, key in enumerate(keys) if key == int2]
    assert len(pos2) == 2
    assert entries[pos2[0]]["file"] == "bbox-three-iterations-rewrites/intermediate-2-partial.manifest"
    assert keys.index(int3) < pos2[1]
    assert keys[-1] == "cars-bbox/manifests/output/output.manifest"
    exp = load_expected("bbox-three-iterations")
    partial, full = (m for m in exp["manifests"] if m["key"] == int2)
    assert partial["labeled"] < full["labeled"]


# ------------------------------------------------------------------------------------------ triggers


def trigger_files() -> list[Path]:
    return sorted(TRIGGERS.glob("*.json"))


def catalog() -> dict[str, list[dict[str, str]]]:
    lines = (TRIGGERS / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    return {c["file"]: c["objects"] for c in map(json.loads, lines)}


def s3_objects(event: dict[str, Any]) -> list[dict[str, Any]]:
    """(key, size, etag, sequencer) of every S3 object an event refers to, SQS bodies unwrapped."""
    if event.get("source") == "aws.s3":
        o = event["detail"]["object"]
        return [{"key": o["key"], "size": o["size"], "etag": o["etag"], "sequencer": o["sequencer"]}]
    out = []
    for rec in event.get("Records", []):
        if rec.get("eventSource") == "aws:sqs":
            out += s3_objects(json.loads(rec["body"]))
        elif rec.get("eventSource") == "aws:s3":
            o = rec["s3"]["object"]
            out.append({"key": o["key"], "size": o["size"], "etag": o["eTag"], "sequencer": o["sequencer"]})
    return out


def test_catalog_lists_every_trigger() -> None:
    assert sorted(catalog()) == [p.name for p in trigger_files()]
    assert (TRIGGERS / "README.md").is_file()


@pytest.mark.parametrize("path", trigger_files(), ids=lambda p: p.name)
def test_trigger_shape(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    if "Records" in event:
        for rec in event["Records"]:
            if rec["eventSource"] == "aws:sqs":
                assert set(rec) >= {
                    "messageId",
                    "receiptHandle",
                    "body",
                    "attributes",
                    "messageAttributes",
                    "md5OfBody",
                    "eventSourceARN",
                    "awsRegion",
                }
                assert rec["md5OfBody"] == hashlib.md5(rec["body"].encode()).hexdigest()
                assert set(rec["attributes"]) >= {
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "SenderId",
                    "ApproximateFirstReceiveTimestamp",
                }
                json.loads(rec["body"])
            else:
                assert rec["eventVersion"] == "2.1" and rec["eventName"] == "ObjectCreated:Put"
                assert rec["s3"]["bucket"]["name"] == "gt-output-bucket"
    elif event.get("Event") == "s3:TestEvent":
        assert set(event) == {"Service", "Event", "Time", "Bucket", "RequestId", "HostId"}
    else:
        assert set(event) == {
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail",
        }
        assert event["account"] == "123456789012" and event["region"] == "us-east-1"
        if event["source"] == "aws.s3":
            assert event["detail-type"] == "Object Created" and event["detail"]["reason"] == "PutObject"
            assert event["resources"] == ["arn:aws:s3:::gt-output-bucket"]
            assert event["detail"]["bucket"] == {"name": "gt-output-bucket"}


@pytest.mark.parametrize("path", trigger_files(), ids=lambda p: p.name)
def test_trigger_objects_match_sample_files(path: Path) -> None:
    objects = s3_objects(json.loads(path.read_text(encoding="utf-8")))
    listed = catalog()[path.name]
    assert [o["key"] for o in objects] == [c["sent"] for c in listed]
    for o, c in zip(objects, listed, strict=True):
        assert unquote_plus(o["key"]) == c["decoded"]
        assert c["decoded"].endswith(c["file"].split("/", 1)[1]) or "rewrites" in c["file"]
        data = (JOBS / c["file"]).read_bytes()
        assert o["size"] == len(data) and o["etag"] == hashlib.md5(data).hexdigest()
        assert re.fullmatch(r"[0-9A-F]{18}", o["sequencer"])


def test_special_keys_are_url_encoded() -> None:
    key = json.loads((TRIGGERS / "eventbridge-object-created-special-key.json").read_text())["detail"]["object"]["key"]
    assert key.startswith("exports/Team+A%2BB/%EB%9D%BC%EB%B2%A8%EB%A7%81+%C3%A9/")
    assert unquote_plus(key) == "exports/Team A+B/라벨링 é/cars-bbox/manifests/output/output.manifest"
    wr = json.loads((TRIGGERS / "eventbridge-object-created-worker-response.json").read_text())
    assert wr["detail"]["object"]["key"].endswith("/2019-04-18_16%3A13%3A05.json")


def test_rewrites_batch_sequencers_grow_per_key() -> None:
    objects = s3_objects(json.loads((TRIGGERS / "sqs-wrapping-eventbridge-rewrites.json").read_text()))
    int2 = [o for o in objects if o["key"].endswith("intermediate/2/output.manifest")]
    assert len(int2) == 2 and int2[0]["sequencer"] < int2[1]["sequencer"] and int2[0]["etag"] != int2[1]["etag"]
