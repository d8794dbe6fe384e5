"""The edge: turn an SQS message body into the S3 object writes it announces.

Bodies are EventBridge "Object Created" events (the stack's rules) or, for buckets wired directly to
the queue, S3 event notifications; `s3:TestEvent` messages carry no write. Keys arrive URL-encoded
and are decoded here, once.

The events are checked against msgspec mirrors of Powertools' parser models: loading pydantic and
building the models was a large part of each cold start. The mirrors take exact JSON types only;
whatever they reject goes to the Powertools models, loaded then, so an event is accepted or reported
exactly as those models decide (and the mirrors accept nothing the models reject:
tests/unit/test_notifications.py).
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from gtproc.domain.keys import decode_notification_key


class UnrecognizedMessage(ValueError):
    """A message that is neither an S3 event nor an S3 test event."""


class ObjectWrite(msgspec.Struct, frozen=True):
    bucket: str
    key: str  # decoded
    time: datetime | None
    size: float | None = None  # as the parser models read it


_Size = Annotated[float, msgspec.Meta(ge=0)]
# Past microseconds msgspec rounds and pydantic truncates: such times go to the models.
_SUBMICROSECONDS = re.compile(r"\.[0-9]{7}")


class _Struct(msgspec.Struct):
    pass  # every mirror is kw_only: field order is the models', defaults or not


# --- S3EventNotificationEventBridgeModel -------------------------------------------------------------


class _Bucket(_Struct, kw_only=True):
    name: str


class _EventObject(_Struct, kw_only=True):
    key: str
    size: _Size | None = None
    etag: str = ""
    version_id: str | None = msgspec.field(default=None, name="version-id")
    sequencer: str | None = None


class _EventDetail(_Struct, kw_only=True):
    version: str
    bucket: _Bucket
    object: _EventObject
    request_id: str = msgspec.field(name="request-id")
    requester: str
    source_ip_address: str | None = msgspec.field(default=None, name="source-ip-address")
    reason: str | None = None
    deletion_type: str | None = msgspec.field(default=None, name="deletion-type")
    restore_expiry_time: str | None = msgspec.field(default=None, name="restore-expiry-time")
    source_storage_class: str | None = msgspec.field(default=None, name="source-storage-class")
    destination_storage_class: str | None = msgspec.field(default=None, name="destination-storage-class")
    destination_access_tier: str | None = msgspec.field(default=None, name="destination-access-tier")


class _ObjectEvent(_Struct, kw_only=True):
    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = msgspec.field(name="detail-type")
    detail: _EventDetail
    replay_name: str | None = msgspec.field(default=None, name="replay-name")


# --- S3Model (S3 event notifications) --------------------------------------------------------------


class _PrincipalId(_Struct, kw_only=True):
    principalId: str


class _RequestParameters(_Struct, kw_only=True):
    sourceIPAddress: str

    def __post_init__(self) -> None:
        if self.sourceIPAddress != "s3.amazonaws.com":
            ipaddress.ip_network(self.sourceIPAddress)  # ValueError: IPvAnyNetwork's rule


class _ResponseElements(_Struct, kw_only=True):
    x_amz_request_id: str = msgspec.field(name="x-amz-request-id")
    x_amz_id_2: str = msgspec.field(name="x-amz-id-2")


class _RecordBucket(_Struct, kw_only=True):
    name: str
    ownerIdentity: _PrincipalId
    arn: str


class _RecordObject(_Struct, kw_only=True):
    key: str
    size: _Size | None = None
    eTag: str | None = None
    sequencer: str | None = None
    versionId: str | None = None


class _Message(_Struct, kw_only=True):
    s3SchemaVersion: str
    configurationId: str
    bucket: _RecordBucket
    object: _RecordObject | None = None
    get_object: _RecordObject | None = None


class _RestoreEventData(_Struct, kw_only=True):
    lifecycleRestorationExpiryTime: datetime
    lifecycleRestoreStorageClass: str


class _GlacierEventData(_Struct, kw_only=True):
    restoreEventData: _RestoreEventData


class _TieringEventData(_Struct, kw_only=True):
    destinationAccessTier: str


class _Record(_Struct, kw_only=True):
    eventVersion: str
    eventSource: Literal["aws:s3"] = "aws:s3"
    awsRegion: str
    eventTime: datetime
    eventName: str
    userIdentity: _PrincipalId
    requestParameters: _RequestParameters
    responseElements: _ResponseElements
    s3: _Message
    glacierEventData: _GlacierEventData | None = None
    intelligentTieringEventData: _TieringEventData | None = None

    def __post_init__(self) -> None:
        stored = self.s3.object or self.s3.get_object
        # The model's own rule: a write that is no deletion carries the object's size and ETag.
        if stored is None or (":Delete" not in self.eventName and (stored.size is None or stored.eTag is None)):
            raise ValueError("size and eTag are required for non-delete event types")


class _Notification(_Struct, kw_only=True):
    Records: list[_Record]


def object_writes(body: str) -> list[ObjectWrite]:
    try:
        message: Any = msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise UnrecognizedMessage(f"message body is not JSON: {error}") from None
    if not isinstance(message, dict):
        raise UnrecognizedMessage("message body is not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    if message.get("source") == "aws.s3" and "detail" in message:
        event: Any = _parse(message, _ObjectEvent, "S3EventNotificationEventBridgeModel", [message.get("time")])
        detail = event.detail
        key = decode_notification_key(detail.object.key)
        return [ObjectWrite(detail.bucket.name, key, event.time, detail.object.size)]
    if "Records" in message:
        records = message["Records"] if isinstance(message["Records"], list) else []
        times = [record.get("eventTime") for record in records if isinstance(record, dict)]
        notification: Any = _parse(message, _Notification, "S3Model", times)
        return [
            ObjectWrite(r.s3.bucket.name, decode_notification_key(r.s3.object.key), r.eventTime, r.s3.object.size)
            for r in notification.Records
            if r.eventName.startswith("ObjectCreated")
        ]
    raise UnrecognizedMessage("message is not an S3 event")


def _parse(message: dict[str, Any], mirror: type[_Struct], model: str, times: list[Any]) -> Any:
    if any(isinstance(time, str) and _SUBMICROSECONDS.search(time) for time in times):
        return _parse_with_model(message, model)
    try:
        return msgspec.convert(message, mirror, strict=True)
    except msgspec.ValidationError:
        return _parse_with_model(message, model)


def _parse_with_model(message: dict[str, Any], model: str) -> Any:
    """The Powertools model's verdict, for what the mirror rejects: its error message, or the event
    when only its lax conversions (a size as a string, say) make it valid."""
    from aws_lambda_powertools.utilities.parser import models, parse
    from pydantic import ValidationError

    try:
        return parse(event=message, model=getattr(models, model))
    except ValidationError as error:
        raise UnrecognizedMessage(f"malformed S3 event: {error.errors()[0].get('msg')}") from None
