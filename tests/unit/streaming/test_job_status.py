"""Labeling Job Status Changed: once per job and status, with DescribeLabelingJob's counters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gtproc.handlers.job_status import state_change
from gtproc.usecases.ports import PublishFailed
from gtproc.usecases.publish_once import ClaimPending

TRIGGER = Path(__file__).resolve().parents[3] / "events/triggers/eventbridge-sagemaker-labeling-job-completed.json"


def published(streaming) -> list[dict]:
    return streaming.details("Labeling Job Status Changed")


def test_a_status_publishes_the_jobs_counters(streaming) -> None:
    outcome = streaming.status(streaming.job, "Stopped")

    assert outcome.published and outcome.described
    assert published(streaming) == [
        {
            "jobName": streaming.job,
            "status": "Stopped",
            "labelCounters": {
                "totalLabeled": 3,
                "humanLabeled": 3,
                "machineLabeled": 0,
                "failedNonRetryableError": 1,
                "unlabeled": 2,
            },
        }
    ]


def test_sagemakers_duplicates_publish_once_per_status(streaming) -> None:
    for status in ("InProgress", "InProgress", "Stopping", "Stopped", "Stopping", "Stopped"):
        streaming.status(streaming.job, status)
    streaming.status(streaming.job.upper(), "Stopped")  # job names are case-insensitive

    assert [d["status"] for d in published(streaming)] == ["InProgress", "Stopping", "Stopped"]


def test_a_job_sagemaker_cannot_describe_has_null_counters(streaming) -> None:
    outcome = streaming.status("gone-job", "Failed")

    assert outcome.published and not outcome.described
    assert published(streaming) == [{"jobName": "gone-job", "status": "Failed", "labelCounters": None}]


def test_a_refused_publish_frees_the_claim_for_the_retry(streaming) -> None:
    streaming.publisher.fail_next = [{0}]
    with pytest.raises(PublishFailed):
        streaming.status(streaming.job, "Completed")
    streaming.status(streaming.job, "Completed")
    streaming.status(streaming.job, "Completed")

    assert [d["status"] for d in published(streaming)] == ["Completed"]


def test_a_live_claim_is_retried_later_and_a_stale_one_taken_over(streaming) -> None:
    from gtproc.contract.layout import job_status_partition, job_status_record

    partition, record = job_status_partition(streaming.job), job_status_record("Completed")
    assert streaming.store.claim(partition, record, "dead-invocation", streaming.now, {"status": "pending"})
    with pytest.raises(ClaimPending):
        streaming.status(streaming.job, "Completed")
    streaming.now += 3600
    assert streaming.status(streaming.job, "Completed").published
    assert [d["status"] for d in published(streaming)] == ["Completed"]


def test_the_state_change_event_names_the_job_from_its_arn() -> None:
    event = json.loads(TRIGGER.read_text(encoding="utf-8"))
    assert state_change(json.dumps(event)) == ("cars-bbox", "Completed")
    assert state_change(json.dumps({**event, "resources": []})) is None
    assert state_change(json.dumps({**event, "detail-type": "Object Created"})) is None
    assert state_change("not json") is None
