"""Sending a busy job's message back to its queue, to be delivered again after a delay."""

from __future__ import annotations

from typing import Any

from gtproc.adapters.aws import client

# SQS's own cap on DelaySeconds.
MAX_DELAY_SECONDS = 900
REQUEUES_ATTRIBUTE = "gtprocRequeues"


def queue_url(event_source_arn: str) -> str:
    account, name = event_source_arn.split(":")[4:6]
    return client("sqs").get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def requeues(record: Any) -> int:
    """How many times this message was sent back already (0 for S3's own message)."""
    attribute = (record.get("messageAttributes") or {}).get(REQUEUES_ATTRIBUTE) or {}
    value = attribute.get("stringValue") or attribute.get("StringValue") or "0"
    return int(value) if value.isdigit() else 0


def requeue(record: Any, seconds: int) -> None:
    """Send a copy of the record's message to its queue, visible in `seconds`.

    A copy starts with a receive count of 0, so waiting for a busy job never moves a message toward
    the DLQ. The caller acknowledges the original only after this returns: if the send fails, the
    error fails the record and SQS redelivers the original, so the message is never lost.
    """
    count = requeues(record) + 1
    client("sqs").send_message(
        QueueUrl=queue_url(record["eventSourceARN"]),
        MessageBody=record["body"],
        DelaySeconds=max(0, min(seconds, MAX_DELAY_SECONDS)),
        MessageAttributes={REQUEUES_ATTRIBUTE: {"DataType": "Number", "StringValue": str(count)}},
    )
