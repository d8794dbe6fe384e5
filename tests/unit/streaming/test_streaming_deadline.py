"""A streaming message's run holds its job's lease until the invocation's deadline, as a manifest's does."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryJobState
from gtproc.handlers import streaming as streaming_handler
from gtproc.settings import get_settings
from gtproc.usecases.ports import LeaseHeld
from gtproc.usecases.process_stream import ProcessStream, StreamConfig

from tests.unit.pipeline.pipeline_support import Killed, StateOfAKilledRun
from tests.unit.streaming.conftest import JOB, TOPIC, Streaming

TRIGGERS = Path(__file__).resolve().parents[3] / "events" / "triggers"
TIMEOUT = 300.0  # the function's timeout: the remaining time of a fresh invocation
GRACE = StreamConfig().lease_grace_seconds


def streaming_with(state: MemoryJobState, wait: float = 20.0) -> Streaming:
    s = Streaming(state=state)
    s.stream = ProcessStream(
        s.jobs,
        s.state,
        s.labels,
        s.publisher,
        config=StreamConfig(lease_wait_seconds=wait),
        clock=lambda: s.now,
        sleep=lambda seconds: setattr(s, "now", s.now + seconds),
    )
    return s


def send(s: Streaming, record: dict, deadline: float | None) -> Any:
    return s.stream(JOB, TOPIC, s.message(record), deadline=deadline)


def test_the_lease_ends_at_the_deadline_plus_the_grace_and_without_one_lasts_lease_seconds() -> None:
    state = StateOfAKilledRun()
    state.armed = False
    s = streaming_with(state)
    send(s, s.line("pet-1", "a"), deadline=s.now + TIMEOUT)
    send(s, s.line("pet-2", "b"), deadline=None)  # the CLI and tests: no deadline
    assert state.lease_seconds == [TIMEOUT + GRACE, StreamConfig().lease_seconds]


def test_a_killed_run_holds_its_job_until_its_deadline_and_the_next_publishes_nothing_twice() -> None:
    state = StateOfAKilledRun()  # dies right after its first journal write
    s = streaming_with(state, wait=0)
    started = s.now
    with pytest.raises(Killed):
        send(s, s.line("pet-1", "a"), deadline=started + TIMEOUT)
    assert s.object_ids("Objects Labeled") == ["pet-1"] and s.label_lines() == []

    s.now = started + TIMEOUT + GRACE - 1  # the dead run's lease still holds
    with pytest.raises(LeaseHeld):
        send(s, s.line("pet-1", "a"), deadline=s.now + TIMEOUT)

    s.now = started + TIMEOUT + GRACE  # not 900 s: the lease ended with the invocation
    outcome = send(s, s.line("pet-1", "a"), deadline=s.now + TIMEOUT)
    assert outcome.published == {}
    assert s.object_ids("Objects Labeled") == ["pet-1"]
    assert [line["datasetObjectId"] for line in s.label_lines()] == ["pet-1"]  # the dead run's line, written


def test_the_handler_passes_the_invocations_deadline(monkeypatch: pytest.MonkeyPatch, lambda_context) -> None:
    for name, value in {
        "GTPROC_EVENT_BUS_NAME": "gtproc-bus",
        "GTPROC_TABLE_NAME": "gtproc-state",
        "GTPROC_LABELS_BUCKET": "gtproc-labels",
        "GTPROC_STREAMING_JOBS": json.dumps({TOPIC: JOB}),
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    state = StateOfAKilledRun()
    state.armed = False
    s = Streaming(state=state)
    use_case = ProcessStream(s.jobs, s.state, s.labels, s.publisher)  # the wall clock, as deployed
    monkeypatch.setattr(streaming_handler.wiring, "process_stream", lambda: use_case)
    record = json.loads((TRIGGERS / "sqs-wrapping-eventbridge-manifest.json").read_text())["Records"][0]
    body = {"Type": "Notification", "TopicArn": TOPIC, "Message": json.dumps(s.line("pet-1", "a"))}
    lambda_context.remaining_millis = 120_000
    try:
        before = time.time()
        response = streaming_handler.handler({"Records": [{**record, "body": json.dumps(body)}]}, lambda_context)
        after = time.time()
    finally:
        get_settings.cache_clear()
    assert response == {"batchItemFailures": []}
    assert s.object_ids("Objects Labeled") == ["pet-1"]
    [lease] = state.lease_seconds
    assert 120 + GRACE <= lease <= 120 + GRACE + (after - before) + 1
