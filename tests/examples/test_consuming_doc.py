"""docs/consuming.md shows the contract's patterns and dedup keys; the patterns match what gtproc publishes."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from gtproc.contract.consuming import DEDUP_KEYS, event_pattern, main
from gtproc.contract.events import DETAIL_TYPES, json_schemas
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "consuming.md"


def test_the_doc_shows_the_contract(tmp_path, capsys):
    assert main(["--check", str(DOC)]) == 0
    stale = tmp_path / "consuming.md"
    stale.write_text(DOC.read_text(encoding="utf-8").replace('["Objects Failed"]', '["Object Failed"]'))
    assert main(["--check", str(stale)]) == 1
    assert "differ from gtproc.contract" in capsys.readouterr().err
    assert main(["--write", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == DOC.read_text(encoding="utf-8")


def test_every_dedup_key_is_a_field_of_its_detail_type():
    schemas = json_schemas()
    assert set(DEDUP_KEYS) == set(DETAIL_TYPES)
    for detail_type, keys in DEDUP_KEYS.items():
        schema = schemas[detail_type]
        definitions = schema["$defs"]
        top = definitions[schema["$ref"].rsplit("/", 1)[-1]]
        for key in keys:
            if "[]." in key:
                listed, field = key.split("[].")
                item = top["properties"][listed]["items"]["$ref"].rsplit("/", 1)[-1]
                assert field in definitions[item]["properties"], (detail_type, key)  # `attribute` may be absent
            else:
                assert key in top["required"], (detail_type, key)


def test_unknown_detail_types_are_refused():
    with pytest.raises(ValueError, match="unknown detail type 'Object Labeled'"):
        event_pattern(["Object Labeled"])


@pytest.mark.integration
def test_each_pattern_matches_exactly_its_events_on_eventbridge(published, monkeypatch):
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "t"),
        ("AWS_SECRET_ACCESS_KEY", "t"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    job = published[0]["detail"]["jobName"]
    patterns = {f"type-{i}": event_pattern([t]) for i, t in enumerate(DETAIL_TYPES)}
    patterns |= {
        "job": event_pattern(job=job),
        "other-job": event_pattern(job="other"),
        "two": event_pattern(list(DETAIL_TYPES)[:2]),
    }
    with mock_aws():
        events, sqs = boto3.client("events"), boto3.client("sqs")
        queues = {}
        for name, pattern in patterns.items():
            queues[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queues[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name=name, EventPattern=json.dumps(pattern))
            events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
        lines = [*published, {**published[0], "source": "not-gtproc"}]
        for start in range(0, len(lines), 10):
            entries = [
                {"Source": line["source"], "DetailType": line["detail-type"], "Detail": json.dumps(line["detail"])}
                for line in lines[start : start + 10]
            ]
            assert events.put_events(Entries=entries)["FailedEntryCount"] == 0

        def received(name: str) -> list[str]:
            got = []
            while messages := sqs.receive_message(QueueUrl=queues[name], MaxNumberOfMessages=10).get("Messages"):
                got += [json.loads(m["Body"])["detail-type"] for m in messages]
                sqs.delete_message_batch(
                    QueueUrl=queues[name],
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                )
            return sorted(got)

        published_types = sorted(line["detail-type"] for line in published)
        for i, detail_type in enumerate(DETAIL_TYPES):
            assert received(f"type-{i}") == [t for t in published_types if t == detail_type]
        assert received("job") == published_types
        assert received("other-job") == []
        assert received("two") == [t for t in published_types if t in list(DETAIL_TYPES)[:2]]
