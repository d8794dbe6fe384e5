"""The streaming handler's reading of an SQS body: the SNS envelope, a raw delivery, an unknown queue."""

from __future__ import annotations

import json

import pytest
from gtproc.handlers.streaming import UnknownTopic, topic_message

TOPIC = "arn:aws:sns:us-east-1:123456789012:pets-stream-output"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:gtproc-streaming-0"
LINE = '{"source-ref":"s3://inputs/a.jpg","dataset-objectid-attribute-name":"pet-id","pet-id":"pet-1"}'


def envelope(message: str, kind: str = "Notification") -> str:
    return json.dumps(
        {"Type": kind, "MessageId": "6a1f", "TopicArn": TOPIC, "Message": message, "Timestamp": "2024-03-12T10:13:07Z"}
    )


def test_the_envelope_gives_the_topic_and_the_message_text() -> None:
    found = topic_message(envelope(LINE), QUEUE, {})
    assert (found.topic_arn, found.message, found.kind) == (TOPIC, LINE.encode(), "Notification")


def test_a_raw_delivery_is_the_message_and_its_queue_names_the_topic() -> None:
    found = topic_message(LINE, QUEUE, {QUEUE: TOPIC})
    assert (found.topic_arn, found.message) == (TOPIC, LINE.encode())
    bad = topic_message("{not json", QUEUE, {QUEUE: TOPIC})  # still a message: the use case reports it
    assert bad.message == b"{not json"


def test_a_raw_delivery_on_an_unknown_queue_is_an_error_naming_it() -> None:
    with pytest.raises(UnknownTopic, match=QUEUE):
        topic_message(LINE, QUEUE, {})


def test_a_subscription_confirmation_is_not_a_notification() -> None:
    assert topic_message(envelope("You have chosen to subscribe", "SubscriptionConfirmation"), QUEUE, {}).kind == (
        "SubscriptionConfirmation"
    )
