"""Streaming jobs' SNS messages: published once, bad messages reported once, one identity with the manifests."""

from __future__ import annotations

import json

import pytest
from gtproc.adapters.memory import MemoryPublisher
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import PublishFailed
from gtproc.usecases.process_stream import JobNotDescribed, message_line


def test_a_labeled_message_publishes_objects_labeled_with_topic_and_null_manifest(streaming) -> None:
    outcome = streaming.send(streaming.message(streaming.line("pet-1", "a")))

    assert outcome.status is FileStatus.PROCESSED
    [detail] = streaming.details("Objects Labeled")
    assert detail["topicArn"] == streaming.topic
    assert detail["iteration"] is None and detail["manifestUri"] is None
    assert (detail["bucket"], detail["jobPath"], detail["jobName"]) == (
        streaming.bucket,
        f"streams/{streaming.job}",
        streaming.job,
    )
    assert detail["count"] == 1
    [obj] = detail["objects"]
    assert obj["datasetObjectId"] == "pet-1" and obj["sourceRef"] == "s3://inputs/a.jpg"
    assert obj["metadata"]["class-name"] == "cat"


def test_redelivered_messages_publish_nothing_again(streaming) -> None:
    for _ in range(3):
        streaming.send(streaming.message(streaming.line("pet-1", "a")))
        streaming.send(streaming.message(streaming.line("pet-2", "b", "dog")))

    assert sorted(streaming.object_ids("Objects Labeled")) == ["pet-1", "pet-2"]
    assert len(streaming.label_lines()) == 2  # the labels so far hold each object once


def test_a_failed_object_publishes_objects_failed_once(streaming) -> None:
    streaming.send(streaming.message(streaming.line("pet-3", "c", None)))
    streaming.send(streaming.message(streaming.line("pet-3", "c", None)))

    [detail] = streaming.details("Objects Failed")
    assert detail["topicArn"] == streaming.topic and detail["manifestUri"] is None
    assert [o["failureReason"] for o in detail["objects"]] == ["ClientError: Annotation tasks expired"]


def test_ground_truths_own_dedup_key_names_the_object(streaming) -> None:
    record = streaming.line("6c7a4a1e-0f0e-4d6f-9a39-0d39c8a7e8c1", "a", key="$label-attribute-name-object-id")
    streaming.send(streaming.message(record))
    streaming.send(streaming.message(record))

    assert streaming.object_ids("Objects Labeled") == ["6c7a4a1e-0f0e-4d6f-9a39-0d39c8a7e8c1"]


def test_a_message_without_a_dedup_key_is_named_by_its_source(streaming) -> None:
    streaming.send(streaming.message(streaming.line(None, "a")))
    streaming.send(streaming.message(streaming.line(None, "b")))
    streaming.send(streaming.message(streaming.line(None, "a")))

    assert streaming.object_ids("Objects Labeled") == ["s3://inputs/a.jpg", "s3://inputs/b.jpg"]


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"source-ref": "s3://inputs/a.jpg", "pets', "json-invalid"),
        (b"[1, 2]", "not-object"),
        (b"", "empty"),
    ],
)
def test_a_bad_message_is_reported_once_with_its_topic_and_not_raised(streaming, payload: bytes, code: str) -> None:
    first = streaming.send(payload)
    again = streaming.send(payload)

    assert first.status is again.status is FileStatus.INVALID
    [detail] = streaming.details("Validation Failed")
    assert detail["topicArn"] == streaming.topic and detail["manifestUri"] is None
    assert detail["invalidCount"] == 1
    assert [(e["line"], e["code"]) for e in detail["errors"]] == [(1, code)]
    assert streaming.details("Objects Labeled") == []


def test_two_different_bad_messages_are_both_reported_and_good_ones_still_published(streaming) -> None:
    bad_line = streaming.line("pet-9", "z")
    del bad_line[f"{streaming.job}-metadata"]["type"]
    streaming.send(b"not json at all")
    streaming.send(streaming.message(bad_line))
    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    streaming.send(b"not json at all")

    codes = [e["code"] for d in streaming.details("Validation Failed") for e in d["errors"]]
    assert codes == ["json-invalid", "type-missing"]
    assert streaming.object_ids("Objects Labeled") == ["pet-1"]


def test_the_line_may_be_pretty_printed_or_json_encoded_twice(streaming) -> None:
    pretty = json.dumps(streaming.line("pet-1", "a"), indent=2).encode()
    twice = json.dumps(json.dumps(streaming.line("pet-2", "b"))).encode()
    assert b"\n" not in message_line(pretty)

    streaming.send(pretty)
    streaming.send(twice)

    assert streaming.object_ids("Objects Labeled") == ["pet-1", "pet-2"]


def test_an_object_on_both_channels_is_published_once(streaming) -> None:
    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    streaming.send(streaming.message(streaming.line("pet-2", "b", "dog")))
    # The job's periodic manifest carries the same two objects, and one the SNS channel never sent.
    manifest = [streaming.line("pet-2", "b", "dog"), streaming.line("pet-1", "a"), streaming.line("pet-3", "c")]
    outcome = streaming.write_manifest(manifest)
    streaming.send(streaming.message(streaming.line("pet-3", "c")))  # then its message arrives late

    assert outcome.published == {"Objects Labeled": 1}
    assert sorted(streaming.object_ids("Objects Labeled")) == ["pet-1", "pet-2", "pet-3"]
    from_manifest = [d for d in streaming.details("Objects Labeled") if d["manifestUri"] is not None]
    assert [o["datasetObjectId"] for o in from_manifest[0]["objects"]] == ["pet-3"]
    assert "topicArn" not in from_manifest[0]


def test_manifest_lines_without_a_dedup_key_keep_the_line_index(streaming) -> None:
    outcome = streaming.write_manifest([streaming.line(None, "a"), streaming.line(None, "b")])

    assert outcome.published == {"Objects Labeled": 2}
    assert streaming.object_ids("Objects Labeled") == ["0", "1"]


def test_the_labels_so_far_carry_the_topic(streaming) -> None:
    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    streaming.send(streaming.message(streaming.line("pet-3", "c", None)))

    lines = streaming.label_lines()
    assert [(r["datasetObjectId"], r["status"], r["topicArn"], r["manifestUri"]) for r in lines] == [
        ("pet-1", "labeled", streaming.topic, None),
        ("pet-3", "failed", streaming.topic, None),
    ]


def test_a_failed_publish_raises_and_the_retry_publishes_it_once(streaming) -> None:
    streaming.publisher.fail_next = [{0}] * 4  # every attempt of the batch sender refused
    with pytest.raises(PublishFailed):
        streaming.send(streaming.message(streaming.line("pet-1", "a")))
    assert streaming.details("Objects Labeled") == []

    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    assert streaming.object_ids("Objects Labeled") == ["pet-1"]


def test_a_job_sagemaker_cannot_describe_is_an_error_not_a_guess(streaming) -> None:
    streaming.jobs.jobs.clear()
    with pytest.raises(JobNotDescribed, match=streaming.job):
        streaming.send(streaming.message(streaming.line("pet-1", "a")))
    assert streaming.publisher.events == []
    assert isinstance(streaming.publisher, MemoryPublisher)


def test_a_label_line_is_the_events_object_then_its_frame_byte_for_byte(streaming) -> None:
    streaming.send(streaming.message(streaming.line("pet-1", "a")))
    streaming.send(streaming.message(streaming.line("pet-3", "c", None)))

    [labeled] = streaming.details("Objects Labeled")
    [failed] = streaming.details("Objects Failed")
    frame = f',"labelAttributeName":"{streaming.job}","status":"%s","iteration":null,"manifestUri":null,'
    frame += f'"topicArn":"{streaming.topic}"}}\n'
    parts = streaming.labels.parts[f"{streaming.bucket}/streams/{streaming.job}"]
    compact = {"separators": (",", ":")}
    assert [parts[name] for name in sorted(parts)] == [
        (json.dumps(labeled["objects"][0], **compact)[:-1] + frame % "labeled").encode(),
        (json.dumps(failed["objects"][0], **compact)[:-1] + frame % "failed").encode(),
    ]
