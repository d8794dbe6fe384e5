"""`gtproc replay` of the bundled streaming job: SNS messages, manifests and SageMaker's state changes
give exactly the facts of its expected file, once each, with or without chaos."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
PLAN = JOBS / "streaming-job.plan.jsonl"
EXPECTED = json.loads((JOBS / "streaming-job.expected.json").read_text(encoding="utf-8"))
TOPIC = f"arn:aws:sns:us-east-1:123456789012:{EXPECTED['topicName']}"


def details(run, detail_type: str) -> list[dict]:
    return [line["detail"] for line in run.lines if line["detail-type"] == detail_type]


def test_the_plan_has_every_kind_of_step() -> None:
    steps = [json.loads(raw) for raw in PLAN.read_text(encoding="utf-8").splitlines()]
    kinds = [next(k for k in ("streaming", "jobStatus", "key") if k in step) for step in steps]
    assert {"streaming", "jobStatus", "key"} == set(kinds)
    files = [step["file"] for step in steps if "streaming" in step]
    assert len(files) > len(set(files))  # redelivered messages
    assert len(steps) == EXPECTED["planSteps"]


@pytest.mark.parametrize("chaos", [None, 11])
def test_the_replay_publishes_the_expected_facts_once(replayed, chaos) -> None:
    run = replayed(PLAN, chaos)
    assert run.exit_code == 0
    facts = run.facts()
    assert max(facts.values()) == 1
    labeled = sorted(o["datasetObjectId"] for d in details(run, "Objects Labeled") for o in d["objects"])
    failed = sorted(o["datasetObjectId"] for d in details(run, "Objects Failed") for o in d["objects"])
    assert labeled == EXPECTED["labeledIds"]
    assert failed == EXPECTED["failedIds"]
    codes = sorted(e["code"] for d in details(run, "Validation Failed") for e in d["errors"])
    assert codes == sorted(m["code"] for m in EXPECTED["invalidMessages"])
    statuses = sorted(d["status"] for d in details(run, "Labeling Job Status Changed"))
    assert statuses == sorted(s["status"] for s in EXPECTED["statuses"])


def test_objects_of_the_topic_carry_it_and_objects_of_a_manifest_their_uri(replayed) -> None:
    run = replayed(PLAN)
    by_channel: dict[str, set[str]] = {"topic": set(), "manifest": set()}
    for detail in details(run, "Objects Labeled") + details(run, "Objects Failed"):
        assert (detail["jobName"], detail["bucket"], detail["jobPath"]) == (
            "pets-stream",
            "gt-output-bucket",
            "pets-stream",
        )
        if detail.get("topicArn") is not None:
            assert detail["topicArn"] == TOPIC and detail["manifestUri"] is None and detail["iteration"] is None
            by_channel["topic"] |= {o["datasetObjectId"] for o in detail["objects"]}
        else:
            assert detail["manifestUri"].startswith("s3://gt-output-bucket/pets-stream/manifests/")
            by_channel["manifest"] |= {o["datasetObjectId"] for o in detail["objects"]}
    # pet-004 reached the manifest before its (late) message; every other object came by the topic first.
    assert by_channel["manifest"] == {"pet-004"}
    assert not by_channel["topic"] & by_channel["manifest"]
    for detail in details(run, "Validation Failed"):
        assert detail["topicArn"] == TOPIC and detail["manifestUri"] is None


def test_job_status_events_carry_the_plans_counters(replayed) -> None:
    run = replayed(PLAN)
    got = {d["status"]: d["labelCounters"] for d in details(run, "Labeling Job Status Changed")}
    for expected in EXPECTED["statuses"]:
        want = expected["labelCounters"]
        assert got[expected["status"]] == {
            "totalLabeled": want["TotalLabeled"],
            "humanLabeled": want["HumanLabeled"],
            "machineLabeled": want["MachineLabeled"],
            "failedNonRetryableError": want["FailedNonRetryableError"],
            "unlabeled": want["Unlabeled"],
        }


def test_without_counters_in_the_plan_the_replay_tells_what_it_published(replayed, tmp_path) -> None:
    messages = JOBS / "streaming-job" / "messages"
    steps = [
        {"streaming": "pets-stream", "file": str(messages / "pet-001.json")},
        {"streaming": "pets-stream", "file": str(messages / "pet-003.json")},
        {"jobStatus": "pets-stream", "status": "Stopped"},
    ]
    plan = tmp_path / "p.plan.jsonl"
    plan.write_text("".join(json.dumps(step) + "\n" for step in steps), encoding="utf-8")
    run = replayed(plan)
    assert run.exit_code == 0
    [status] = details(run, "Labeling Job Status Changed")
    assert status["labelCounters"] == {
        "totalLabeled": 1,
        "humanLabeled": 1,
        "machineLabeled": 0,
        "failedNonRetryableError": 1,
        "unlabeled": 0,
    }


def test_a_bad_plan_step_is_a_usage_error_naming_the_line(tmp_path, capsys) -> None:
    from gtproc.cli.main import main

    plan = tmp_path / "bad.plan.jsonl"
    plan.write_text('{"streaming": "pets-stream", "file": "missing.json"}\n{"jobStatus": "pets-stream"}\n')
    assert main(["replay", str(plan), "--quiet"]) == 2
    assert f"{plan}:1: missing.json does not exist" in capsys.readouterr().err
    plan.write_text('{"jobStatus": "pets-stream"}\n')
    assert main(["replay", str(plan), "--quiet"]) == 2
    assert f'{plan}:1: "jobStatus" and "status" must be non-empty strings' in capsys.readouterr().err
