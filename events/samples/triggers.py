"""Trigger events as AWS delivers them, pointing at the scenarios' writes."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .core import (
    ACCOUNT,
    ALNUM,
    BUCKET,
    BUCKET_OWNER_PRINCIPAL,
    GT_ROLE_PRINCIPAL,
    GT_SOURCE_IP,
    QUEUE_ARN,
    REGION,
    SPECIAL_PREFIX,
    SQS_SENDER_EVENTBRIDGE,
    SQS_SENDER_S3,
    UPPER_DIGITS,
    Tree,
    Write,
    cj,
    dt,
    encode_key,
    epoch_ms,
    iso_ms_z,
    iso_s_z,
    md5_hex,
    pretty,
    rand_chars,
    rand_uuid,
)


def write_attrs(w: Write, key: str) -> dict[str, str]:
    """Per-write S3 attributes, derived from the write itself so every event of one write agrees."""
    h = hashlib.sha256(f"{key}|{w.time.isoformat()}|{md5_hex(w.data)}".encode()).digest()
    r = random.Random(h)
    return {
        "sequencer": "00" + f"{int(w.time.timestamp()):08X}" + f"{r.getrandbits(32):08X}",
        "version-id": rand_chars(r, ALNUM + "._", 32),
        "request-id": rand_chars(r, UPPER_DIGITS, 16),
        "x-amz-id-2": base64.b64encode(r.randbytes(57)).decode(),
    }


def eb_event(
    rng: random.Random, w: Write, key: str, *, encode: bool = True, version_id: bool = True, delay_s: int = 1
) -> dict:
    a = write_attrs(w, key)
    obj: dict[str, Any] = {"key": encode_key(key) if encode else key, "size": len(w.data), "etag": md5_hex(w.data)}
    if version_id:
        obj["version-id"] = a["version-id"]
    obj["sequencer"] = a["sequencer"]
    return {
        "version": "0",
        "id": rand_uuid(rng),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT,
        "time": iso_s_z(w.time + timedelta(seconds=delay_s)),
        "region": REGION,
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": obj,
            "request-id": a["request-id"],
            "requester": ACCOUNT,
            "source-ip-address": GT_SOURCE_IP,
            "reason": "PutObject",
        },
    }


def s3_record(w: Write, key: str) -> dict:
    a = write_attrs(w, key)
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": iso_ms_z(w.time + timedelta(milliseconds=412)),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": GT_ROLE_PRINCIPAL},
        "requestParameters": {"sourceIPAddress": GT_SOURCE_IP},
        "responseElements": {"x-amz-request-id": a["request-id"], "x-amz-id-2": a["x-amz-id-2"]},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "gtproc-object-created",
            "bucket": {
                "name": BUCKET,
                "ownerIdentity": {"principalId": BUCKET_OWNER_PRINCIPAL},
                "arn": f"arn:aws:s3:::{BUCKET}",
            },
            "object": {
                "key": encode_key(key),
                "size": len(w.data),
                "eTag": md5_hex(w.data),
                "versionId": a["version-id"],
                "sequencer": a["sequencer"],
            },
        },
    }


def sqs_record(rng: random.Random, body_obj: dict, sent: datetime, sender: str) -> dict:
    body = cj(body_obj)
    sent_ms = epoch_ms(sent) + rng.randint(0, 999)
    return {
        "messageId": rand_uuid(rng),
        "receiptHandle": "AQEB" + base64.b64encode(rng.randbytes(150)).decode(),
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent_ms),
            "SenderId": sender,
            "ApproximateFirstReceiveTimestamp": str(sent_ms + rng.randint(3, 400)),
        },
        "messageAttributes": {},
        "md5OfBody": md5_hex(body.encode("utf-8")),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": REGION,
    }


def gen_triggers(out: Path, trees: dict[str, Tree]) -> list[dict]:
    rng = random.Random(83)
    tdir = out / "triggers"
    tdir.mkdir(parents=True, exist_ok=True)
    a, b, d = trees["bbox-three-iterations"], trees["classification-failed-auto"], trees["bad-input"]
    catalog: list[dict] = []

    def add(name: str, event: dict, what: str, objects: list[tuple[str, str, str]]) -> None:
        """objects: (key as sent, decoded key, tree file relative to events/jobs or '')."""
        (tdir / name).write_bytes(pretty(event))
        catalog.append({"file": name, "what": what, "objects": objects})

    def obj_ref(w: Write, key: str, encoded: bool = True) -> tuple[str, str, str]:
        return (encode_key(key) if encoded else key, key, w.file)

    cars_int1 = "cars-bbox/manifests/intermediate/1/output.manifest"
    cars_int2 = "cars-bbox/manifests/intermediate/2/output.manifest"
    cars_int3 = "cars-bbox/manifests/intermediate/3/output.manifest"
    cars_out = "cars-bbox/manifests/output/output.manifest"
    w = a.last_write(cars_int1)
    add(
        "eventbridge-object-created-intermediate-manifest.json",
        eb_event(rng, w, cars_int1),
        "S3 -> EventBridge `Object Created` for an intermediate manifest (iteration 1 of cars-bbox)",
        [obj_ref(w, cars_int1)],
    )
    w = a.last_write(cars_out)
    add(
        "eventbridge-object-created-final-manifest.json",
        eb_event(rng, w, cars_out),
        "`Object Created` for the final manifest of cars-bbox",
        [obj_ref(w, cars_out)],
    )
    wr_key = next(x.key for x in b.writes if x.key.endswith("/2019-04-18_16:13:05.json"))
    w = b.last_write(wr_key)
    add(
        "eventbridge-object-created-worker-response.json",
        eb_event(rng, w, wr_key),
        "`Object Created` for a worker-response file: colons in the file name arrive as `%3A`",
        [obj_ref(w, wr_key)],
    )
    cr_key = next(x.key for x in a.writes if "/consolidation-response/iteration-1/" in x.key)
    w = a.last_write(cr_key)
    add(
        "eventbridge-object-created-consolidation-response.json",
        eb_event(rng, w, cr_key),
        "`Object Created` for a consolidation-response file (iteration 1 of cars-bbox)",
        [obj_ref(w, cr_key)],
    )
    special = SPECIAL_PREFIX + cars_out
    w = a.last_write(cars_out)
    add(
        "eventbridge-object-created-special-key.json",
        eb_event(rng, w, special),
        "key under the prefix `exports/Team A+B/라벨링 é/`: space -> `+`, literal `+` -> `%2B`, Hangul and "
        "`é` percent-encoded UTF-8; object = cars-bbox final manifest replayed under that prefix",
        [obj_ref(w, special)],
    )
    w = a.last_write(cr_key)
    add(
        "eventbridge-object-created-unencoded-key.json",
        eb_event(rng, w, cr_key, encode=False, version_id=False),
        "same object as the consolidation-response trigger but with the key NOT encoded (raw colons, as "
        "moto sends EventBridge events and as one published real capture shows) and no `version-id` "
        "(unversioned bucket); decoding must be harmless",
        [obj_ref(w, cr_key, encoded=False)],
    )
    bad1 = "broken-job/manifests/intermediate/1/output.manifest"
    bad2 = "broken-job/manifests/intermediate/2/output.manifest"
    w = d.last_write(bad1)
    add(
        "eventbridge-object-created-bad-input-manifest.json",
        eb_event(rng, w, bad1),
        "`Object Created` for the broken-job manifest with malformed lines",
        [obj_ref(w, bad1)],
    )
    w = d.last_write(bad2)
    add(
        "eventbridge-object-created-empty-manifest.json",
        eb_event(rng, w, bad2),
        "`Object Created` for a 0-byte manifest (size 0, etag of empty content)",
        [obj_ref(w, bad2)],
    )

    # SQS batches of EventBridge events
    flowers_out = "flowers-classification/manifests/output/output.manifest"
    w1, w2 = a.last_write(cars_int1), b.last_write(flowers_out)
    e1, e2 = eb_event(rng, w1, cars_int1), eb_event(rng, w2, flowers_out)
    add(
        "sqs-wrapping-eventbridge-manifest.json",
        {
            "Records": [
                sqs_record(rng, e1, w1.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE),
                sqs_record(rng, e2, w2.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE),
            ]
        },
        "SQS -> Lambda batch of 2 records whose bodies are EventBridge S3 events (2 jobs)",
        [obj_ref(w1, cars_int1), obj_ref(w2, flowers_out)],
    )
    int2_writes = a.writes_of(cars_int2)
    w3 = a.last_write(cars_int3)
    seq = [(int2_writes[0], cars_int2), (w3, cars_int3), (int2_writes[1], cars_int2)]
    add(
        "sqs-wrapping-eventbridge-rewrites.json",
        {
            "Records": [
                sqs_record(rng, eb_event(rng, ww, k), ww.time + timedelta(seconds=2), SQS_SENDER_EVENTBRIDGE)
                for ww, k in seq
            ]
        },
        "one SQS batch with intermediate/2 (partial), intermediate/3, then intermediate/2 again (full, later "
        "sequencer): same key written twice, an older iteration's snapshot arriving after a newer one",
        [obj_ref(ww, k) for ww, k in seq],
    )

    # S3 event notifications
    w = a.last_write(cars_int1)
    add(
        "s3-notification-put.json",
        {"Records": [s3_record(w, cars_int1)]},
        "S3 event notification (direct S3 -> Lambda shape), `ObjectCreated:Put`",
        [obj_ref(w, cars_int1)],
    )
    wa, wb = b.last_write(wr_key), a.last_write(cars_out)
    add(
        "sqs-wrapping-s3-notification.json",
        {
            "Records": [
                sqs_record(rng, {"Records": [s3_record(wa, wr_key)]}, wa.time + timedelta(seconds=1), SQS_SENDER_S3),
                sqs_record(rng, {"Records": [s3_record(wb, special)]}, wb.time + timedelta(seconds=1), SQS_SENDER_S3),
            ]
        },
        "SQS batch whose bodies are S3 event notifications: a worker-response key (`%3A`) and the special key",
        [obj_ref(wa, wr_key), obj_ref(wb, special)],
    )

    # s3:TestEvent
    test_time = dt("2024-03-12T08:55:03") + timedelta(milliseconds=218)
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso_ms_z(test_time),
        "Bucket": BUCKET,
        "RequestId": rand_chars(rng, UPPER_DIGITS, 16),
        "HostId": base64.b64encode(rng.randbytes(57)).decode(),
    }
    add(
        "s3-test-event.json",
        test_event,
        "the `s3:TestEvent` message S3 sends when a notification configuration is saved (no Records)",
        [],
    )
    add(
        "sqs-wrapping-s3-test-event.json",
        {"Records": [sqs_record(rng, test_event, test_time + timedelta(milliseconds=40), SQS_SENDER_S3)]},
        "SQS record carrying `s3:TestEvent`: must be acknowledged and ignored",
        [],
    )

    # Ground Truth job state change (completion signal)
    add(
        "eventbridge-sagemaker-labeling-job-completed.json",
        {
            "version": "0",
            "id": rand_uuid(rng),
            "detail-type": "SageMaker Ground Truth Labeling Job State Change",
            "source": "aws.sagemaker",
            "account": ACCOUNT,
            "time": iso_s_z(a.last_write(cars_out).time + timedelta(seconds=38)),
            "region": REGION,
            "resources": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/cars-bbox"],
            "detail": {"LabelingJobStatus": "Completed"},
        },
        "SageMaker `Labeling Job State Change` (Completed) for cars-bbox: not an S3 event",
        [],
    )
    return catalog
