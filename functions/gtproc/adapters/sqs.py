"""Asking SQS to redeliver a message sooner than its visibility timeout."""

from __future__ import annotations

from gtproc.adapters.aws import client


def retry_in(event_source_arn: str, receipt_handle: str, seconds: int) -> None:
    """Make a message that failed visible again after `seconds` (the queue's timeout is much longer).

    Best effort: if this call fails, the message simply comes back after the visibility timeout.
    """
    account, name = event_source_arn.split(":")[4:6]
    sqs = client("sqs")
    try:
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds)
    except Exception:
        return
