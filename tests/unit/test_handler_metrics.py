"""Every queue message leaves a metric, so a batch that holds no object write never flushes an empty set."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from gtproc.handlers import annotations, manifests

TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "triggers"


class Context:
    function_name = "gtproc-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:gtproc-test"
    memory_limit_in_mb = 512
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.mark.parametrize(
    ("module", "metric"),
    [(manifests, "ManifestMessagesReceived"), (annotations, "AnnotationMessagesReceived")],
    ids=["manifests", "annotations"],
)
def test_a_batch_without_object_writes_still_emits_a_metric(module, metric, capsys):
    event = json.loads((TRIGGERS / "sqs-wrapping-s3-test-event.json").read_text())
    module.metrics.clear_metrics()  # Powertools keeps metrics per process: drop what other tests left
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools warns when it flushes no metric
        response = module.handler(event, Context())
    assert response == {"batchItemFailures": []}
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    received = [value for doc in emitted for value in doc.get(metric, [])]
    assert sum(received) == len(event["Records"]) == 1
