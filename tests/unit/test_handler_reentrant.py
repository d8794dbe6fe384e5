"""A handler called while another call of it is mid-batch (a second instance in the local replay, a
test) answers for its own batch, and the outer call still reports exactly its own failures."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest
from gtproc.handlers import annotations, manifests
from gtproc.usecases.outcomes import FileStatus

TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "triggers"


def record(message_id: str, key: str) -> dict:
    template = json.loads((TRIGGERS / "sqs-wrapping-eventbridge-manifest.json").read_text())["Records"][0]
    body = json.loads(template["body"])
    body["detail"]["object"]["key"] = key
    return {**template, "messageId": message_id, "body": json.dumps(body)}


@pytest.mark.parametrize(
    ("module", "use_case"), [(manifests, "process_manifest"), (annotations, "consolidate_annotations")]
)
def test_a_nested_call_and_its_outer_call_each_report_their_own_failures(module, use_case, monkeypatch, lambda_context):
    inner_event = {"Records": [record("inner-fails", "fail/inner"), record("inner-ok", "job/inner")]}
    outer_event = {"Records": [record("outer-ok", "job/outer"), record("outer-fails", "fail/outer")]}
    inner_responses = []

    def run(bucket: str, key: str, **_: object) -> object:
        if key == "job/outer":
            inner_responses.append(module.handler(inner_event, lambda_context))
        if key.startswith("fail/"):
            raise RuntimeError(f"{key} failed")
        return types.SimpleNamespace(status=FileStatus.SKIPPED, job_name="job", reason="test")

    monkeypatch.setattr(module.wiring, use_case, lambda: run)
    outer = module.handler(outer_event, lambda_context)

    assert inner_responses == [{"batchItemFailures": [{"itemIdentifier": "inner-fails"}]}]
    assert outer == {"batchItemFailures": [{"itemIdentifier": "outer-fails"}]}
