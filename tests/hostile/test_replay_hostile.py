"""`gtproc replay` on hostile plans and trees. A plan that cannot be used is one line naming the plan,
the line and the rule, exit 2, before anything runs. A tree of hostile files runs to the end: the
handlers report bad content (`Validation Failed`, `Annotation File Invalid`) and nothing dead-letters."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.hostile import corpus
from tests.hostile.support import REPO, assert_clean, gtproc

STREAMING = REPO / "events" / "jobs" / "streaming-job"
CARS = REPO / "events" / "jobs" / "bbox-three-iterations" / "cars-bbox"
GOOD = '{"streaming":"pets-stream","file":"streaming-job/messages/pet-001.json"}'


@pytest.fixture
def plans(tmp_path: Path) -> Path:
    shutil.copytree(STREAMING, tmp_path / "streaming-job")
    return tmp_path


def plan_error(folder: Path, content: bytes) -> str:
    plan = folder / "plan.jsonl"
    plan.write_bytes(content)
    result = gtproc("replay", "--quiet", plan)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = assert_clean(result, "replay")
    return line


@pytest.mark.parametrize(
    ("second", "why"),
    [
        (corpus.deep_array(), "nesting too deep"),
        (corpus.deep_object(), "nesting too deep"),
        (b'{"key":"a\xff","file":"x"}', "UTF-8"),
        (b'{"jobStatus":"j","status":"Completed","labelCounters":{"a":NaN}}', "NaN is not a JSON number"),
        (b'{"jobStatus":"j","status":"Done","labelCounters":{"a":' + corpus.huge_integer() + b"}}", "out of range"),
        (b"\x00\x00\x00", "not a JSON line"),
    ],
)
def test_a_bad_plan_line_is_named_by_line_and_rule(plans: Path, second: bytes, why: str) -> None:
    line = plan_error(plans, GOOD.encode() + b"\n" + second + b"\n")
    assert f"{plans / 'plan.jsonl'}:2: " in line and why in line, line


@pytest.mark.parametrize("step", [{"streaming": "a b/c"}, {"streaming": "-x"}, {"jobStatus": "j_1", "status": "X"}])
def test_a_job_name_sagemaker_would_refuse_is_a_plan_error(plans: Path, step: dict[str, Any]) -> None:
    """Such a name became a topic moto (and SNS) refuse: a traceback after the replay had started."""
    if "streaming" in step:
        step = {**step, "file": "streaming-job/messages/pet-001.json"}
    line = plan_error(plans, json.dumps(step).encode() + b"\n")
    assert ":1: " in line and "is not a labeling job name" in line, line


def test_a_plan_file_that_is_a_symlink_loop_says_so(plans: Path) -> None:
    (plans / "a").symlink_to(plans / "b")
    (plans / "b").symlink_to(plans / "a")
    line = plan_error(plans, b'{"key":"j/manifests/output/output.manifest","file":"a"}\n')
    assert ":1: a is a symbolic link to nothing" in line, line


@pytest.mark.parametrize("content", [b"", b"  \n\r\n\t\n"])
def test_an_empty_plan_is_a_plan_error(plans: Path, content: bytes) -> None:
    assert "the plan has no writes" in plan_error(plans, content)


@pytest.mark.integration
def test_a_plan_with_a_bom_and_crlf_line_ends_replays(plans: Path) -> None:
    plan = plans / "plan.jsonl"
    plan.write_bytes(corpus.BOM + (GOOD + "\r\n").encode() * 2)

    result = gtproc("replay", "--quiet", plan)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Objects Labeled" in result.stdout and "dead-letter queues: 0 messages" in result.stdout


@pytest.mark.integration
def test_a_tree_of_hostile_files_runs_to_the_end_without_dead_letters(tmp_path: Path) -> None:
    job = tmp_path / "cars-bbox"
    shutil.copytree(CARS, job)
    responses = job / "annotations" / "worker-response" / "iteration-1"
    bad_boxes, deep, nan = (next(folder.glob("*.json")) for folder in sorted(responses.iterdir())[:3])
    document = json.loads(bad_boxes.read_bytes())
    for answer in document["answers"]:
        answer["answerContent"]["boundingBox"]["boundingBoxes"] = 5
    bad_boxes.write_text(json.dumps(document))
    deep.write_bytes(corpus.deep_array())
    nan.write_bytes(nan.read_bytes().replace(b'"left":', b'"left":NaN,"x":', 1))
    manifest = job / "manifests" / "output" / "output.manifest"
    good = manifest.read_bytes().splitlines()
    hostile = [corpus.deep_object(), b"\xff\xfe", b'{"source-ref":NaN}', b"\x00" * 8, b"9" * 5000]
    manifest.write_bytes(b"\r\n".join(good[:2] + hostile + good[2:]) + b"\r\n")
    events = tmp_path / "events.jsonl"

    result = gtproc("replay", "--quiet", "--events-out", events, job)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "dead-letter queues: 0 messages" in result.stdout
    published = [json.loads(line) for line in events.read_text().splitlines()]
    invalid = [e["detail"] for e in published if e["detail-type"] == "Annotation File Invalid"]
    invalid_files = {detail["datasetObjectId"] for detail in invalid}
    assert invalid_files == {bad_boxes.parent.name, deep.parent.name, nan.parent.name}
    failed = [e["detail"] for e in published if e["detail-type"] == "Validation Failed"]
    lines = sorted(error["line"] for event in failed for error in event["errors"])
    assert sum(event["invalidCount"] for event in failed) == len(hostile)
    assert sorted(set(lines)) == list(range(3, 3 + len(hostile)))
    (completed,) = [e["detail"] for e in published if e["detail-type"] == "Labeling Job Completed"]
    assert completed["invalidLines"] == len(hostile) and completed["objects"] == len(good) + len(hostile)


@pytest.mark.parametrize(("content", "why"), [(b"", "is empty"), (b"[" * 300_000, "over SNS's limit")])
def test_a_streaming_message_sns_would_refuse_is_a_plan_error(plans: Path, content: bytes, why: str) -> None:
    """SNS refuses an empty message and one over 256 KiB: it was a traceback after the replay had started."""
    (plans / "message.json").write_bytes(content)
    line = plan_error(plans, b'{"streaming":"pets-stream","file":"message.json"}\n')
    assert ":1: message.json " in line and why in line, line


def test_a_key_over_s3s_limit_is_a_plan_error(plans: Path) -> None:
    step = {"key": "j/manifests/output/" + "a" * 1100, "file": "streaming-job/messages/pet-001.json"}
    line = plan_error(plans, json.dumps(step).encode() + b"\n")
    assert ":1: " in line and "over S3's limit of 1024 bytes" in line, line


@pytest.mark.integration
def test_hostile_streaming_messages_are_validation_failed_never_dead_letters(plans: Path) -> None:
    messages = plans / "m"
    messages.mkdir()
    hostile = [content for content in corpus.NOT_JSON.values() if content.strip() and len(content) < 200_000]
    hostile += [b'{"source-ref":"s3://in/a.jpg","pets-stream":0,"pets-stream-metadata":5}']
    steps = []
    for number, content in enumerate(hostile):
        (messages / f"{number}.json").write_bytes(content)
        steps.append(json.dumps({"streaming": "pets-stream", "file": f"m/{number}.json"}))
    plan = plans / "plan.jsonl"
    plan.write_text("\n".join([*steps, GOOD]) + "\n")
    events = plans / "events.jsonl"

    result = gtproc("replay", "--quiet", "--events-out", events, plan)

    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "dead-letter queues: 0 messages" in result.stdout
    published = [json.loads(line)["detail-type"] for line in events.read_text().splitlines()]
    assert published.count("Validation Failed") == len(hostile)
    assert published.count("Objects Labeled") == 1
