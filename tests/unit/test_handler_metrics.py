"""Every queue message leaves a metric, so a batch that holds no object write never flushes an empty set."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from gtproc.handlers import annotations, manifests

TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "triggers"


@pytest.mark.parametrize(
    ("module", "metric"),
    [(manifests, "ManifestMessagesReceived"), (annotations, "AnnotationMessagesReceived")],
    ids=["manifests", "annotations"],
)
def test_a_batch_without_object_writes_still_emits_a_metric(module, metric, capsys, lambda_context):
    event = json.loads((TRIGGERS / "sqs-wrapping-s3-test-event.json").read_text())
    module.metrics.clear_metrics()  # Powertools keeps metrics per process: drop what other tests left
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Powertools warns when it flushes no metric
        response = module.handler(event, lambda_context)
    assert response == {"batchItemFailures": []}
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    received = [value for doc in emitted for value in doc.get(metric, [])]
    assert sum(received) == len(event["Records"]) == 1


def test_an_invalid_annotation_file_is_counted_once_and_never_fails_the_batch(monkeypatch, capsys, lambda_context):
    from tests.unit.annotations.annotations_support import Harness

    s3_event = json.loads((TRIGGERS / "eventbridge-object-created-worker-response.json").read_text())
    harness = Harness()
    harness.put(s3_event["detail"]["object"]["key"].replace("%3A", ":"), b"{not json")
    monkeypatch.setattr(annotations.wiring, "consolidate_annotations", lambda: harness.use_case)
    record = json.loads((TRIGGERS / "sqs-wrapping-eventbridge-manifest.json").read_text())["Records"][0]
    event = {"Records": [{**record, "body": json.dumps(s3_event)}]}
    counted = []
    for _ in range(2):  # the second is a redelivery: already reported, counted 0
        annotations.metrics.clear_metrics()
        capsys.readouterr()
        assert annotations.handler(event, lambda_context) == {"batchItemFailures": []}
        emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
        counted.append(sum(value for doc in emitted for value in doc.get("InvalidAnnotationFiles", [])))
    assert counted == [1, 0]
    assert harness.detail_types() == ["Annotation File Invalid"]
