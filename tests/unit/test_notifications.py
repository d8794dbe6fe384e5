"""The handlers' edge reads S3 events with msgspec mirrors of Powertools' parser models: every event
must get the verdict the models give (the object writes, or the same error), field by field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from gtproc.domain.keys import decode_notification_key
from gtproc.handlers import notifications
from gtproc.handlers.notifications import ObjectWrite, UnrecognizedMessage, object_writes

TRIGGERS = Path(__file__).resolve().parents[2] / "events" / "triggers"
EVENTBRIDGE = json.loads((TRIGGERS / "eventbridge-object-created-intermediate-manifest.json").read_text())
NOTIFICATION = json.loads((TRIGGERS / "s3-notification-put.json").read_text())


def reference_object_writes(body: str) -> list[ObjectWrite]:
    """What the handlers did before the mirrors: Powertools' pydantic models on every message."""
    from aws_lambda_powertools.utilities.parser import parse
    from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, S3Model
    from pydantic import ValidationError

    message = json.loads(body)
    if not isinstance(message, dict):
        raise UnrecognizedMessage("message body is not a JSON object")
    try:
        if message.get("Event") == "s3:TestEvent":
            return []
        if message.get("source") == "aws.s3" and "detail" in message:
            event = parse(event=message, model=S3EventNotificationEventBridgeModel)
            detail = event.detail
            key = decode_notification_key(detail.object.key)
            return [ObjectWrite(detail.bucket.name, key, event.time, detail.object.size)]
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


def verdict(read: Any, body: str) -> Any:
    try:
        writes = read(body)
    except Exception as error:  # the type and message are the verdict
        return (type(error).__name__, str(error))
    # Datetimes compare as instants; their offsets and the sizes' types must match too.
    return [
        (w.bucket, w.key, w.time, w.time.utcoffset() if w.time else None, w.size, type(w.size).__name__) for w in writes
    ]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths(child, (*prefix, index))
    return found


REMOVED = object()
REPLACEMENTS = [
    REMOVED,
    None,
    5,
    -1,
    2.5,
    True,
    "5",
    "-1",
    "",
    "x",
    [],
    {},
    ["a"],
    "2024-03-12T09:26:41Z",
    "2024-03-12T09:26:41.123456789+02:00",
    "2024-03-12 09:26:41",
    1710235601,
    "1.2.3.4",
    "1.2.3.0/24",
    "1.2.3.4/24",
    "s3.amazonaws.com",
    "ObjectRemoved:Delete",
    "aws:s3",
]


def mutated(event: dict[str, Any], path: tuple[Any, ...], replacement: Any) -> dict[str, Any]:
    copied = copy.deepcopy(event)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    if replacement is REMOVED:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return copied


CASES = [
    pytest.param(
        mutated(event, path, replacement),
        # A stable id (never the sentinel's repr, whose address differs per process): xdist compares them.
        id=f"{name}:{'.'.join(map(str, path))}={'<removed>' if replacement is REMOVED else repr(replacement)}"[:120],
    )
    for name, event in (("eventbridge", EVENTBRIDGE), ("notification", NOTIFICATION))
    for path in paths(event)
    for replacement in REPLACEMENTS
]


@pytest.mark.parametrize("event", CASES)
def test_every_mutated_event_gets_the_parser_models_verdict(event):
    body = json.dumps(event)
    assert verdict(object_writes, body) == verdict(reference_object_writes, body)


@pytest.mark.parametrize("trigger", sorted(TRIGGERS.glob("*.json")), ids=lambda path: path.name)
def test_every_sample_trigger_gets_the_parser_models_verdict(trigger):
    event = json.loads(trigger.read_text())
    records = event.get("Records") or []
    bodies = [r["body"] for r in records if r.get("eventSource") == "aws:sqs"] or [json.dumps(event)]
    for body in bodies:
        assert verdict(object_writes, body) == verdict(reference_object_writes, body)


def test_several_records_a_deletion_and_a_restore_in_one_notification():
    created = NOTIFICATION["Records"][0]
    deleted = mutated(created, ("eventName",), "ObjectRemoved:Delete")
    del deleted["s3"]["object"]["size"], deleted["s3"]["object"]["eTag"]
    restored = dict(
        mutated(created, ("eventName",), "ObjectRestore:Completed"),
        glacierEventData={
            "restoreEventData": {
                "lifecycleRestorationExpiryTime": "2024-03-20T00:00:00.000Z",
                "lifecycleRestoreStorageClass": "glacier",
            }
        },
    )
    second = mutated(created, ("s3", "object", "key"), "cars-bbox/manifests/output/output.manifest")
    body = json.dumps({"Records": [created, deleted, restored, second]})
    writes = object_writes(body)
    assert [w.key for w in writes] == [created["s3"]["object"]["key"], "cars-bbox/manifests/output/output.manifest"]
    assert verdict(object_writes, body) == verdict(reference_object_writes, body)


def test_an_event_bridge_write_as_the_handlers_read_it():
    (write,) = object_writes(json.dumps(mutated(EVENTBRIDGE, ("detail", "object", "key"), "a+b/c%3Ad.json")))
    assert (write.bucket, write.key, write.size) == ("gt-output-bucket", "a b/c:d.json", 6559.0)
    assert write.time is not None and write.time.utcoffset() == timedelta(0)
    assert (write.time.year, write.time.hour, write.time.second) == (2024, 9, 41)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "message body is not JSON: "),
        ("[1]", "message body is not a JSON object"),
        (json.dumps({"hello": "world"}), "message is not an S3 event"),
        (json.dumps({"source": "aws.s3", "detail": {"object": 1}}), "malformed S3 event: Field required"),
        (
            json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"size": 1, "eTag": "e"}}}]}),
            "malformed S3 event: Field required",
        ),
    ],
)
def test_unusable_messages_are_one_line_errors(body, message):
    with pytest.raises(UnrecognizedMessage) as raised:
        object_writes(body)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_a_lax_value_the_models_accept_still_gives_its_write(monkeypatch):
    """A size as a string: the strict mirror hands the event to the model, which converts it."""
    asked = []
    original = notifications._parse_with_model
    monkeypatch.setattr(notifications, "_parse_with_model", lambda *args: asked.append(args) or original(*args))
    (write,) = object_writes(json.dumps(mutated(EVENTBRIDGE, ("detail", "object", "size"), "12")))
    assert write.size == 12.0 and len(asked) == 1
    object_writes(json.dumps(EVENTBRIDGE))
    assert len(asked) == 1  # a well-formed event never reaches the models


def test_reading_a_well_formed_event_loads_no_pydantic():
    code = (
        "import sys, pathlib; from gtproc.handlers.notifications import object_writes; "
        f"object_writes(pathlib.Path({str(TRIGGERS / 'eventbridge-object-created-intermediate-manifest.json')!r})"
        ".read_text()); "
        f"object_writes(pathlib.Path({str(TRIGGERS / 's3-notification-put.json')!r}).read_text()); "
        "print('pydantic' in sys.modules)"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
