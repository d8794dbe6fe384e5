"""The edge: turn an SQS message body into the S3 object writes it announces.

Bodies are EventBridge "Object Created" events (the stack's rules) or, for buckets wired directly to
the queue, S3 event notifications; `s3:TestEvent` messages carry no write. Keys arrive URL-encoded
and are decoded here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model
from pydantic import ValidationError

from gtproc.domain.keys import decode_notification_key


class UnrecognizedMessage(ValueError):
    """A message that is neither an S3 event nor an S3 test event."""


@dataclass(frozen=True, slots=True)
class ObjectWrite:
    bucket: str
    key: str  # decoded
    time: datetime | None
    size: int | None = None


def object_writes(body: str) -> list[ObjectWrite]:
    try:
        message: Any = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise UnrecognizedMessage(f"message body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise UnrecognizedMessage("message body is not a JSON object")
    try:
        if message.get("Event") == "s3:TestEvent":
            return []
        if message.get("source") == "aws.s3" and "detail" in message:
            event = parse(event=message, model=S3EventNotificationEventBridgeModel)
            detail = event.detail
            return [
                ObjectWrite(
                    detail.bucket.name, decode_notification_key(detail.object.key), event.time, detail.object.size
                )
            ]
        if "Records" in message:
            notification = parse(event=message, model=S3Model)
            return [
                ObjectWrite(r.s3.bucket.name, decode_notification_key(r.s3.object.key), r.eventTime, r.s3.object.size)
                for r in notification.Records
                if r.eventName.startswith("ObjectCreated")
            ]
    except ValidationError as error:
        raise UnrecognizedMessage(f"malformed S3 event: {error.errors()[0].get('msg')}") from None
    raise UnrecognizedMessage("message is not an S3 event")
