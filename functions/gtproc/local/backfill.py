"""Backfill: a bucket's past Ground Truth output, listed and ordered as Ground Truth wrote it.

The writes are then sent through the pipelines: to a deployed stack's queues as the S3 events AWS would
send (`send`), or run locally (`MemoryEngine`: the handlers and use cases on the in-memory adapters;
`gtproc backfill --embedded` uses the replay's embedded AWS instead).
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import random
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import msgspec

from gtproc.adapters.memory import MemoryAnnotationStore, MemoryBlobs, MemoryJobState, MemoryLabels, MemoryPublisher
from gtproc.contract import ANNOTATION_KEY_PATTERNS, DEFAULT_EVENT_SOURCE, MANIFEST_KEY_PATTERNS
from gtproc.contract.layout import LABELS_PREFIX, MAX_RECEIVE_COUNT
from gtproc.local.replay import Published, ReplayResult, Write, _write_rank

PIPELINES: dict[str, tuple[str, ...]] = {"manifests": MANIFEST_KEY_PATTERNS, "annotations": ANNOTATION_KEY_PATTERNS}
# The stack's CloudFormation outputs (infra/stack.py) naming each pipeline's queue.
QUEUE_OUTPUTS = {"manifests": "ManifestsQueueUrl", "annotations": "AnnotationsQueueUrl"}
SQS_BATCH = 10  # SendMessageBatch and the Lambda event source both take at most 10
DOWNLOAD_WORKERS = 10  # S3 reads are latency-bound; botocore pools 10 connections: more would reconnect
READ_AHEAD = 256  # objects read ahead of the pipelines: enough to hide a slow read, little memory
READ_AHEAD_BYTES = 256 * 1024 * 1024  # and at most this much held; a larger object is read alone
FREEZE_EVERY = 1000  # writes between two freezes of what the in-memory run keeps (MemoryEngine.freeze_every)


_detail_decoder = msgspec.json.Decoder()  # the details the handlers encoded, 4-5x json.loads' speed
_ids = random.Random()  # seeded from os.urandom once: a call of it per id costs ~70 us here, a file's worth


def _uuid() -> uuid.UUID:
    """A random (version 4) id for an event or a message: unique, not secret."""
    return uuid.UUID(int=_ids.getrandbits(128), version=4)


class BackfillError(Exception):
    """A bad URI, a missing bucket or stack: the message is one line."""


@dataclass(frozen=True)
class StoredWrite:
    """One object (or one version of it) as S3 lists it."""

    key: str
    last_modified: datetime
    size: int
    etag: str
    version_id: str | None = None
    sequence: int = 0  # order among the versions of one key, oldest first

    @property
    def pipeline(self) -> str | None:
        return pipeline_of(self.key)


def parse_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of `s3://BUCKET/[PREFIX]`."""
    if not uri.startswith("s3://"):
        raise BackfillError(f"{uri}: expected s3://BUCKET/[PREFIX]")
    bucket, _, prefix = uri[5:].partition("/")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
        raise BackfillError(f"{uri}: {bucket!r} is not an S3 bucket name")
    return bucket, prefix


def _wildcard(pattern: str) -> re.Pattern[str]:
    """An EventBridge wildcard (`*` matches any run, `/` included) as a regex: the rules' own matching."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z", re.DOTALL)


_ROUTES = [(name, [_wildcard(p) for p in patterns]) for name, patterns in PIPELINES.items()]


def pipeline_of(key: str) -> str | None:
    """The pipeline whose rule routes a write of `key` (the contract's patterns), or None."""
    for name, patterns in _ROUTES:
        if any(p.match(key) for p in patterns):
            return name
    return None


# ---- listing -----------------------------------------------------------------------------------------


def list_writes(s3: Any, bucket: str, prefix: str, versions: bool = False) -> list[StoredWrite]:
    """Every object under the prefix (every version with `versions`, delete markers skipped), in write order."""
    found: list[StoredWrite] = []
    try:
        if versions:
            per_key: dict[str, list[dict[str, Any]]] = {}
            for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Versions", []):
                    per_key.setdefault(item["Key"], []).append(item)
            for key, items in per_key.items():
                # S3 lists a key's versions newest first; a stable sort keeps that for equal times.
                oldest_first = sorted(reversed(items), key=lambda item: item["LastModified"])
                for sequence, item in enumerate(oldest_first):
                    version = item.get("VersionId")
                    found.append(_stored(key, item, None if version in (None, "null") else version, sequence))
        else:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                found.extend(_stored(item["Key"], item) for item in page.get("Contents", []))
    except Exception as error:
        raise BackfillError(f"s3://{bucket}/{prefix}: cannot list: {_reason(error)}") from None
    return order(found)


def _stored(key: str, item: dict[str, Any], version: str | None = None, sequence: int = 0) -> StoredWrite:
    return StoredWrite(
        key, item["LastModified"], int(item.get("Size", 0)), item.get("ETag", "").strip('"'), version, sequence
    )


def order(writes: list[StoredWrite]) -> list[StoredWrite]:
    """By LastModified, then the layout's order (worker responses, intermediate manifests by iteration,
    the final manifest last): S3's times have a resolution of a second, and a job writes many per second."""
    return sorted(writes, key=lambda w: (w.last_modified, _write_rank(w.key), w.sequence))


def _reason(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = response["Error"].get("Code", "")
        message = response["Error"].get("Message", "")
        return f"{code}: {message}" if message else str(code)
    return str(error) or type(error).__name__


# ---- the S3 event AWS sends ---------------------------------------------------------------------------


def object_created_event(
    write: StoredWrite, bucket: str, account: str, region: str, sequencer: int, etag: str | None = None
) -> dict[str, Any]:
    """The EventBridge "Object Created" event S3 sends for the write: the body SQS delivers to the function.

    AWS URL-encodes the key (space as `+`); `time` is when the object was written.
    """
    obj: dict[str, Any] = {
        "key": quote_plus(write.key, safe="/"),
        "size": write.size,
        "etag": etag if etag is not None else write.etag,
    }
    if write.version_id is not None:
        obj["version-id"] = write.version_id
    obj["sequencer"] = f"{sequencer:018X}"
    return {
        "version": "0",
        "id": str(_uuid()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": account,
        "time": write.last_modified.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "version": "0",
            "bucket": {"name": bucket},
            "object": obj,
            "request-id": _uuid().hex[:16].upper(),
            "requester": account,
            "reason": "PutObject",
        },
    }


# ---- in-account: to the stack's queues ------------------------------------------------------------------


def stack_queues(cloudformation: Any, stack: str) -> dict[str, str]:
    """The pipelines' queue URLs from the stack's outputs."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except Exception as error:
        raise BackfillError(f"stack {stack}: {_reason(error)}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs", [])}
    missing = [name for name in QUEUE_OUTPUTS.values() if name not in outputs]
    if missing:
        raise BackfillError(f"stack {stack}: no output {', '.join(missing)}: is it a gtproc stack?")
    return {pipeline: outputs[name] for pipeline, name in QUEUE_OUTPUTS.items()}


class TokenBucket:
    """At most `rate` takes per second, in bursts of at most one batch; `clock` and `sleep` are injectable.

    It keeps the time the bucket is full again (GCRA), not a float count of tokens topped up from clock
    deltas: that loop could wait forever once a deficit of 1e-15 tokens asked for a sleep the clock's float
    cannot add. Here each take sleeps at most once, until a time computed from that schedule.
    """

    def __init__(
        self,
        rate: float,
        burst: int = SQS_BATCH,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate, self.capacity = rate, max(1.0, min(float(burst), rate))
        self.clock, self.sleep = clock, sleep
        self.full_at = clock()  # full from the start: the first burst goes at once

    def take(self, count: int = 1) -> None:
        """Wait until `count` tokens are there, then spend them."""
        if count > self.capacity:
            raise ValueError(f"{count} is over the bucket's capacity of {self.capacity:g}")
        now = self.clock()
        start = max(now, self.full_at - (self.capacity - count) / self.rate)
        if start > now:
            self.sleep(start - now)
            # From when it woke: a late wake-up (a loaded machine) is no credit for a catch-up burst.
            start = max(start, self.clock())
        self.full_at = max(self.full_at, start) + count / self.rate


@dataclass
class SendResult:
    sent: dict[str, int] = field(default_factory=dict)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)


def send(
    sqs: Any,
    queues: dict[str, str],
    writes: list[StoredWrite],
    bucket: str,
    account: str,
    region: str,
    bucket_rate: TokenBucket | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> SendResult:
    """Send each routed write's S3 event to its pipeline's queue, in order, in batches of at most 10.

    A batch holds writes of one pipeline only and is sent before any later write, so the order holds.
    """
    result = SendResult({name: 0 for name in queues})
    batch: list[StoredWrite] = []
    sequencer = int(time.time() * 1000) << 16  # increasing, as S3's sequencers are per key

    def flush() -> None:
        nonlocal sequencer
        if not batch:
            return
        pipeline = batch[0].pipeline
        assert pipeline is not None
        if bucket_rate is not None:
            bucket_rate.take(len(batch))
        entries = []
        for position, write in enumerate(batch):
            sequencer += 1
            body = json.dumps(object_created_event(write, bucket, account, region, sequencer))
            entries.append({"Id": str(position), "MessageBody": body})
        try:
            response = sqs.send_message_batch(QueueUrl=queues[pipeline], Entries=entries)
            failures = {f["Id"]: f.get("Message") or f.get("Code", "") for f in response.get("Failed", [])}
        except Exception as error:
            failures = {entry["Id"]: _reason(error) for entry in entries}
        for position, write in enumerate(batch):
            if str(position) in failures:
                result.failed.append((write.key, failures[str(position)]))
            else:
                result.sent[pipeline] += 1
        if on_sent is not None:
            on_sent(len(batch))
        batch.clear()

    # Under a rate below 10 per second, batches shrink so one never spends more than a second's tokens.
    limit = SQS_BATCH if bucket_rate is None else max(1, min(SQS_BATCH, int(bucket_rate.capacity)))
    for write in writes:
        if write.pipeline is None:
            continue
        if batch and (len(batch) == limit or batch[0].pipeline != write.pipeline):
            flush()
        batch.append(write)
    flush()
    return result


# ---- local: download, then run ---------------------------------------------------------------------------


def download(
    s3: Any,
    bucket: str,
    writes: list[StoredWrite],
    folder: Path,
    workers: int = DOWNLOAD_WORKERS,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[Write], list[tuple[str, str]]]:
    """Read the writes in parallel into `folder` (one file per write, so versions of a key stay apart).

    Returns the writes in order and (key, why) of those that could not be read.
    """

    def fetch(position: int) -> tuple[int, str | None]:
        write = writes[position]
        extra = {"VersionId": write.version_id} if write.version_id else {}
        try:
            body = s3.get_object(Bucket=bucket, Key=write.key, **extra)["Body"]
            with open(folder / f"{position:08d}", "wb") as out:
                for chunk in body.iter_chunks(1024 * 1024):  # not iter_lines: quadratic on long lines
                    out.write(chunk)
        except Exception as error:
            return position, _reason(error)
        return position, None

    done: list[Write] = []
    failed: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for position, error in pool.map(fetch, range(len(writes))):
            if error is not None:
                failed.append((writes[position].key, error))
            else:
                done.append(Write(writes[position].key, folder / f"{position:08d}"))
            if on_done is not None:
                on_done(1)
    return done, failed


class ObjectGetter:
    """GetObject's bytes of a listed write, the cheap way when it can.

    A presigned GET on the urllib3 pool of the client's own HTTP session (its endpoint, credentials,
    proxies, certificates and connections) skips the per-request hooks, signing and parsing of a botocore
    call, and the response objects botocore wraps around urllib3's: a read here costs about half the CPU
    of a `get_object` (the pool taken once per host, as the session's `send` takes it for each request).
    Anything but a 200 of the listed size is read again by `get_object`, so errors, retries and their
    messages stay botocore's. Only a refusal stops the cheap way for the rest of the run: a 3xx or 4xx
    answer (a store that takes no presigned URL, another region) to a read that `get_object` then makes,
    or the cheap way failing in itself (botocore's or urllib3's internals changed).
    A dropped connection, a timeout, a 5xx or throttling is that read's alone (S3 closes idle keep-alive
    connections; a long backfill meets some), and so is a 200 of another size (a rewrite since the
    listing): the next read is cheap again.
    """

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket
        session = getattr(getattr(s3, "_endpoint", None), "http_session", None)
        self.session = session if hasattr(s3, "generate_presigned_url") else None
        self._pools: dict[str, tuple[Any, str | None]] = {}  # scheme://host[:port] -> (pool, proxy)

    def __call__(self, write: StoredWrite) -> bytes:
        params = {"Bucket": self.bucket, "Key": write.key}
        if write.version_id:
            params["VersionId"] = write.version_id
        refused = False
        if self.session is not None:
            from urllib3.exceptions import HTTPError

            try:
                status, data = self._presigned(params)
            except (HTTPError, OSError):  # the connection's or the moment's: this read is told again below
                status, data = 0, b""
            except Exception:  # the cheap way itself fails (botocore's or urllib3's internals changed)
                status, data = -1, b""
            if status == 200 and len(data) == write.size:
                return data
            refused = status < 0 or (300 <= status < 500 and status not in (408, 429))
        body: bytes = self.s3.get_object(**params)["Body"].read()
        if refused:  # get_object reads what the cheap way was refused: it is not tried again
            self.session = None
        return body

    def _presigned(self, params: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) of a presigned GET of the object."""
        from botocore.awsrequest import AWSPreparedRequest
        from botocore.hooks import first_non_none_response

        url = self.s3.generate_presigned_url("get_object", Params=params, ExpiresIn=900)
        request = AWSPreparedRequest("GET", url, {}, None, False)
        # As botocore's endpoint does: a handler of this event (moto's mock, a stub) may answer instead.
        answered = first_non_none_response(self.s3.meta.events.emit("before-send.s3.GetObject", request=request))
        if answered is not None:
            return answered.status_code, answered.content
        return self._get(url)

    def _get(self, url: str) -> tuple[int, bytes]:
        """(status, body) of a GET of `url`, on the pool the session's `send` would use."""
        origin = "/".join(url.split("/", 3)[:3])
        found = self._pools.get(origin)
        if found is None:  # the session's own steps (private, stable for years): any change falls back
            session = self.session
            proxy = session._proxy_config.proxy_url_for(url)
            pool = session._get_connection_manager(url, proxy).connection_from_url(url)
            session._setup_ssl_cert(pool, url, session._verify)
            found = self._pools[origin] = (pool, proxy)
        pool, proxy = found
        target = self.session._get_request_target(url, proxy)
        response = pool.urlopen(
            "GET", target, retries=False, redirect=False, assert_same_host=False, decode_content=False
        )
        return response.status, response.data


def backfill_client(s3: Any) -> Any:
    """A client like `s3` (its session's credentials and endpoint, its config) for the listing and the reads.

    It presigns with SigV4: botocore presigns with SigV2 in us-east-1, which S3 refuses for buckets made
    since mid-2020. And it parses the listing's ISO 8601 times with `datetime.fromisoformat`: dateutil's
    parser was two thirds of the listing's CPU (0.27 against 0.09 s for 2,527 keys here).
    """
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=_timestamp)
    config = s3.meta.config.merge(Config(signature_version="s3v4"))
    return session.create_client("s3", region_name=s3.meta.region_name, config=config)


def _timestamp(value: str) -> datetime:
    """An S3 time (`2024-03-12T09:00:00.000Z`); any other form as botocore parses it."""
    from botocore.utils import parse_timestamp

    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        return parse_timestamp(value)
    return parsed


def read_in_order(
    s3: Any,
    bucket: str,
    writes: list[StoredWrite],
    workers: int = DOWNLOAD_WORKERS,
    ahead: int = READ_AHEAD,
    ahead_bytes: int = READ_AHEAD_BYTES,
) -> Iterator[tuple[StoredWrite, bytes | None, str | None]]:
    """(write, content, None) or (write, None, why not readable) for each write, in order, read in parallel.

    At most `ahead` reads, of at most `ahead_bytes` by the listing's sizes, are under way or waiting to
    be taken, so the pipelines run while S3 is read and the reads waiting for them stay few and small,
    however many and however large the objects are. An object larger than the budget is read alone.
    """

    get = ObjectGetter(s3, bucket)

    def fetch(write: StoredWrite) -> tuple[bytes | None, str | None]:
        try:
            return get(write), None
        except Exception as error:
            return None, _reason(error)

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="backfill-read")
    try:
        following = 0  # the next write to read
        held = 0  # bytes under way or waiting, by the listing
        under_way: deque[tuple[StoredWrite, Future[tuple[bytes | None, str | None]]]] = deque()

        def fill() -> None:
            nonlocal following, held
            while following < len(writes) and len(under_way) < ahead:
                size = max(writes[following].size, 0)
                if under_way and held + size > ahead_bytes:
                    return
                under_way.append((writes[following], pool.submit(fetch, writes[following])))
                held += size
                following += 1

        fill()
        while under_way:
            write, future = under_way.popleft()
            data, why = future.result()
            held -= max(write.size, 0)
            fill()
            yield write, data, why
    finally:  # also when the consumer stops early: no read left running
        pool.shutdown(wait=True, cancel_futures=True)


class _Objects:
    """The object reader and blob store of both use cases, over one dict: what has been written so far."""

    def __init__(self, chunk_bytes: int = 1024 * 1024) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.chunk_bytes = chunk_bytes

    def read_chunks(self, bucket: str, key: str) -> Iterator[bytes]:
        from gtproc.usecases.ports import ObjectMissing

        data = self.objects.get((bucket, key))
        if data is None:
            raise ObjectMissing(f"s3://{bucket}/{key}")
        return (data[i : i + self.chunk_bytes] for i in range(0, len(data), self.chunk_bytes))

    def read(self, bucket: str, key: str, max_bytes: int | None = None) -> bytes | None:
        return MemoryBlobs(self.objects).read(bucket, key, max_bytes)

    def list_keys(self, bucket: str, prefix: str) -> list[str]:
        return sorted(key for b, key in self.objects if b == bucket and key.startswith(prefix))

    def write(self, bucket: str, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[(bucket, key)] = body


class MemoryEngine:
    """The replay's handlers and use cases on the in-memory adapters: no moto, no HTTP, same facts.

    Records reach the handlers as SQS delivers them (the S3 event AWS sends, at most 10 per invocation, a
    failed record retried and dead-lettered after 5 receives). Worker responses are batched; any other
    write runs alone after what came before it, so a rewrite is read before the next one replaces it.
    """

    LABELS_BUCKET = "gtproc-labels"  # the embedded AWS's names: the events read the same

    def __init__(self, bucket: str, key_prefix: str, handlers: dict[str, Any], on_event: Any) -> None:
        self.bucket, self.key_prefix = bucket, key_prefix
        self.handlers, self.on_event = handlers, on_event
        self.objects = _Objects()
        self.job_state = MemoryJobState()
        self.annotation_store = MemoryAnnotationStore()
        self.labels = _Labels(bucket=self.LABELS_BUCKET)
        self.publisher = MemoryPublisher()
        self.result = ReplayResult(dead_letters={name: 0 for name in PIPELINES})
        self.collected = 0
        self.sequencer = 0
        # Each write's content: its file, or (backfill) the next object read from S3; None if unreadable.
        self.read: Callable[[Write], bytes | None] = lambda write: write.file.read_bytes()
        self.on_write: Callable[[Write], None] | None = None
        self.unread: list[int] = []  # positions of the writes whose content could not be read
        # Every this many writes, collect and freeze what the run keeps (None: never; memory_engine
        # unfreezes at the end). The claims, events and account grow with the job, and each of the
        # collector's full passes scanned them all: 4.2 s of a 10k-file run, 1.8 s with this.
        self.freeze_every: int | None = None

    def port(self, port: Any, name: str) -> Any:
        from gtproc.adapters.dynamodb import DynamoJobState

        if name == "s3":
            return self.objects
        if name == "dynamodb":
            return self.job_state if isinstance(port, DynamoJobState) else self.annotation_store
        if name == "labels-s3":
            return self.labels
        if name == "eventbridge":
            return self.publisher
        return port

    def run(self, writes: list[Write]) -> ReplayResult:
        pending: dict[str, list[tuple[Write, dict[str, Any]]]] = {name: [] for name in PIPELINES}
        for position, write in enumerate(writes):
            pipeline = pipeline_of(write.key)
            alone = pipeline != "annotations" or "/annotations/worker-response/" not in write.key
            if alone or any(w.key == write.key for w, _ in pending.get(pipeline or "", [])):
                self._flush(pending)
            data = self.read(write)
            if self.on_write is not None:
                self.on_write(write)
            if data is None:
                self.unread.append(position)
                continue
            self.objects.write(self.bucket, write.key, data)
            self.result.writes += 1
            if pipeline is None:
                continue
            digest = write.etag or hashlib.md5(data, usedforsecurity=False).hexdigest()
            pending[pipeline].append((write, self._record(write, len(data), digest, pipeline)))
            if alone or len(pending[pipeline]) == SQS_BATCH:
                self._flush(pending)
            if self.freeze_every and position % self.freeze_every == self.freeze_every - 1:
                gc.collect()  # over what came since the last freeze only: its garbage is not kept
                gc.freeze()
        self._flush(pending)
        return self.result

    def collect_events(self) -> None:
        source = os.environ.get("GTPROC_EVENT_SOURCE") or DEFAULT_EVENT_SOURCE
        for entry in self.publisher.events[self.collected :]:
            event = Published(source, entry.detail_type, _detail_decoder.decode(entry.detail))
            self.result.events.append(event)
            if self.on_event is not None:
                self.on_event(event)
        self.collected = len(self.publisher.events)

    def labels_of(self, result: ReplayResult) -> dict[str, tuple[str, int]]:
        labels = {}
        for event in result.events:
            if event.detail_type == "Labeling Job Completed":
                uri = event.detail["labelsUri"]
                job_id = uri.removeprefix(f"s3://{self.LABELS_BUCKET}/{LABELS_PREFIX}/").rstrip("/")
                parts = self.labels.parts.get(job_id, {}).values()
                labels[event.detail["jobName"]] = (uri, sum(len(p.splitlines()) for p in parts))
        return labels

    def _record(self, write: Write, size: int, digest: str, pipeline: str) -> dict[str, Any]:
        from gtproc.local.embedded import REGION

        self.sequencer += 1
        stored = StoredWrite(write.key, datetime.now(UTC), size, digest)
        body = object_created_event(stored, self.bucket, "123456789012", REGION, self.sequencer)
        return {
            "messageId": str(_uuid()),
            "receiptHandle": _uuid().hex,
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:gtproc-{pipeline}",
            "awsRegion": REGION,
        }

    def _flush(self, pending: dict[str, list[tuple[Write, dict[str, Any]]]]) -> None:
        from gtproc.local.replay import _Context

        for pipeline, batch in pending.items():
            records = [record for _, record in batch]
            batch.clear()
            receives = 0
            while records and receives < MAX_RECEIVE_COUNT:
                receives += 1
                self.result.invocations += 1
                self.result.deliveries += len(records)
                try:
                    context = _Context(pipeline, request_id=str(_uuid()))
                    response = self.handlers[pipeline]({"Records": records}, context) or {}
                    failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                except Exception:  # a failed invocation: the whole batch comes back
                    failed = {record["messageId"] for record in records}
                records = [r for r in records if r["messageId"] in failed]
                for record in records:
                    record["attributes"]["ApproximateReceiveCount"] = str(receives + 1)
            self.result.dead_letters[pipeline] += len(records)


@dataclass
class _Labels(MemoryLabels):
    """MemoryLabels with the embedded AWS's labels URI (the `Labeling Job Completed` events read the same)."""

    bucket: str = ""

    def labels_uri(self, job_id: str) -> str:
        return f"s3://{self.bucket}/{LABELS_PREFIX}/{job_id}/"


class _NoTrace:
    """The handlers' tracer provider while they run here. Tracing is off (outside Lambda, and
    POWERTOOLS_TRACE_DISABLED), yet X-Ray's disabled recorder still makes a dummy subsegment for each
    traced call, two a record, each with an id from os.urandom: a syscall that hands the GIL to the readers."""

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[_NoTrace]:
        yield self

    def put_annotation(self, key: str, value: Any) -> None:
        pass

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        pass


@contextmanager
def memory_engine(bucket: str, key_prefix: str, handlers: dict[str, Any], on_event: Any) -> Iterator[MemoryEngine]:
    """The handlers' settings as the replay sets them, and their ports swapped for in-memory ones."""
    from gtproc.handlers import annotations, job_status, manifests, streaming, wiring
    from gtproc.local.embedded import _ENV, EmbeddedResources, _settings_env

    engine = MemoryEngine(bucket, key_prefix, handlers, on_event)
    names = EmbeddedResources(
        bucket, engine.LABELS_BUCKET, "gtproc-state", "gtproc", DEFAULT_EVENT_SOURCE, key_prefix, {}, ""
    )
    env = {**_ENV, **_settings_env(names)}
    saved = {name: os.environ.get(name) for name in [*env, "AWS_ENDPOINT_URL"]}
    os.environ.pop("AWS_ENDPOINT_URL", None)  # nothing may reach a real endpoint
    os.environ.update(env)
    wiring.reset()
    wiring.local = wiring.LocalRun(clock=time.time, sleep=time.sleep, port=engine.port)
    tracers = [module.tracer for module in (annotations, job_status, manifests, streaming)]
    providers = [tracer.provider for tracer in tracers]
    for tracer in tracers:
        tracer.provider = _NoTrace()
    # What is loaded by now (botocore's models, numpy, Powertools) lives as long as the run: out of the
    # collector's scans, whose full passes grow with the run's events (~6 a 2,527-file job, 1.2 s).
    gc.freeze()
    engine.freeze_every = FREEZE_EVERY
    try:
        yield engine
    finally:
        gc.unfreeze()
        for tracer, provider in zip(tracers, providers, strict=True):
            tracer.provider = provider
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()
