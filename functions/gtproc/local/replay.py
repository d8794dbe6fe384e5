"""Replay a Ground Truth output tree through the pipelines on the embedded AWS.

Files are written as S3 objects; S3 events flow through the EventBridge rules to the queues; the
Lambda handlers run on SQS batches as Lambda would run them (at most 10 records, partial batch
failures retried, a record failing 5 times moved to the dead-letter queue); what they publish is
collected from the bus by an observer rule.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from gtproc.contract.layout import FUNCTION_MEMORY_MB, MANIFESTS_MEMORY_MB, MAX_RECEIVE_COUNT
from gtproc.domain.groundtruth import job_arn, normalize_job_name
from gtproc.domain.jsontext import JsonProblem, decode
from gtproc.domain.keys import Area, parse_output_key
from gtproc.domain.lines import UTF8_BOM
from gtproc.local.embedded import REGION, EmbeddedResources

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


# SageMaker's LabelingJobName: a plan's streaming topic and job status events are named after it.
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
MAX_MESSAGE_BYTES = 256 * 1024  # SNS's limit on one message
MAX_KEY_BYTES = 1024  # S3's limit on a key


class PlanError(ValueError):
    """The replay input cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class Write:
    """One step of a replay: an S3 write (`kind` "s3"), a message on a streaming job's output topic
    ("streaming", `key` "sns:<job>"), or SageMaker's state-change event ("job-status", `key` "sagemaker:<job>")."""

    key: str
    file: Path
    kind: str = "s3"
    job: str = ""
    status: str = ""
    label_counters: dict[str, int] | None = None  # what DescribeLabelingJob says at a job-status step
    etag: str | None = None  # the content's ETag when a listing gave it (backfill): the file is not read for it


STREAMING, JOB_STATUS = "streaming", "job-status"


def has_job_status(writes: list[Write]) -> bool:
    return any(w.kind == JOB_STATUS for w in writes)


def streaming_jobs(writes: list[Write]) -> tuple[str, ...]:
    """The streaming jobs a plan sends messages for, in order of first use: each gets its output topic."""
    return tuple(dict.fromkeys(w.job for w in writes if w.kind == STREAMING))


@dataclass
class Published:
    source: str
    detail_type: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "detail-type": self.detail_type, "detail": self.detail}


@dataclass
class ReplayResult:
    writes: int = 0
    deliveries: int = 0
    invocations: int = 0
    events: list[Published] = field(default_factory=list)
    dead_letters: dict[str, int] = field(default_factory=dict)
    faults: Any = None  # a faulty_replay.FaultReport under --faults


# ---- what to write ---------------------------------------------------------------------------------


def is_job_folder(path: Path) -> bool:
    """A labeling job's own output folder (`<S3OutputPath>/<job>/`): it holds `manifests/` or `annotations/`."""
    return path.is_dir() and any((path / area).is_dir() for area in ("manifests", "annotations"))


def load_writes(path: Path, key_prefix: str = "") -> list[Write]:
    """The writes of a plan or a folder; a job's own folder is written under `<key_prefix>/<folder name>/`."""
    if is_job_folder(path):
        root = "/".join(part for part in (key_prefix.strip("/"), path.resolve().name) if part)
        return [Write(f"{root}/{w.key}", w.file) for w in _folder_writes(path, root)]
    if path.is_dir():
        return _folder_writes(path)
    if path.is_file() and path.suffix == ".jsonl":
        return _plan_writes(path)
    if not path.exists():
        raise PlanError(f"{path}: no such file or folder")
    raise PlanError(f"{path}: expected a folder or a .jsonl plan")


def _write_rank(key: str) -> tuple[int, int, int, str]:
    """Annotations first (by iteration: worker responses, then consolidation), then intermediate
    manifests by iteration, final manifests last: the order Ground Truth writes them in."""
    location = parse_output_key(key)
    if location is None:
        return (0, 0, 0, key)
    if location.area is Area.INTERMEDIATE_MANIFEST:
        return (2, location.iteration or 0, 0, key)
    if location.area is Area.FINAL_MANIFEST:
        return (3, 0, 0, key)
    return (1, location.iteration or 0, 0 if location.area is Area.WORKER_RESPONSE else 1, key)


def _folder_writes(folder: Path, root: str = "") -> list[Write]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")]
    writes = [Write(p.relative_to(folder).as_posix(), p) for p in files]
    return sorted(writes, key=lambda w: _write_rank(f"{root}/{w.key}" if root else w.key))


def _plan_writes(plan: Path) -> list[Write]:
    writes = []
    try:
        data = plan.read_bytes()
    except OSError as error:
        raise PlanError(f"{plan}: cannot read the plan: {error.strerror or error}") from None
    for number, raw in enumerate(data.removeprefix(UTF8_BOM).split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            step = decode(raw)
        except JsonProblem as problem:
            raise PlanError(f"{plan}:{number}: not a JSON line: {problem}") from None
        if isinstance(step, dict) and "jobStatus" in step:
            writes.append(_status_step(plan, number, step))
            continue
        if isinstance(step, dict) and "streaming" in step:
            kind, key = STREAMING, step["streaming"]
        elif isinstance(step, dict) and "key" in step:
            kind, key = "s3", step["key"]
        else:
            raise PlanError(
                f'{plan}:{number}: expected a JSON object with "key" and "file"'
                ' (or "streaming" and "file", or "jobStatus" and "status")'
            )
        file = step.get("file")
        if not isinstance(key, str) or not key or not isinstance(file, str) or not file:
            name = "streaming" if kind == STREAMING else "key"
            raise PlanError(f'{plan}:{number}: "{name}" and "file" must be non-empty strings')
        if kind == STREAMING and not JOB_NAME.fullmatch(key):
            raise PlanError(f'{plan}:{number}: "streaming" {key!r} is not a labeling job name ({JOB_NAME.pattern})')
        target = plan.parent / file
        if not target.is_file():
            raise PlanError(f"{plan}:{number}: {file} {_not_a_file(target)}")
        if kind == STREAMING:
            problem = _message_problem(target)
            if problem is not None:
                raise PlanError(f"{plan}:{number}: {file} {problem}")
            writes.append(Write(f"sns:{key}", target, STREAMING, job=key))
        else:
            if len(key.encode()) > MAX_KEY_BYTES:
                raise PlanError(f'{plan}:{number}: "key" is over S3\'s limit of {MAX_KEY_BYTES} bytes')
            writes.append(Write(key, target))
    if not writes:
        raise PlanError(f"{plan}: the plan has no writes")
    return writes


def _message_problem(target: Path) -> str | None:
    """Why SNS would refuse the file's text as one message (it was a traceback mid-replay), or None."""
    if target.stat().st_size > 4 * MAX_MESSAGE_BYTES:
        return f"is over SNS's limit of {MAX_MESSAGE_BYTES} bytes a message"
    size = len(target.read_bytes().decode("utf-8", errors="replace").encode())  # as _write sends it
    if size == 0:
        return "is empty: SNS publishes no empty message"
    if size > MAX_MESSAGE_BYTES:
        return f"is {size} bytes as text, over SNS's limit of {MAX_MESSAGE_BYTES} bytes a message"
    return None


def _not_a_file(target: Path) -> str:
    if target.is_dir():
        return "is a folder, not a file"
    if target.is_symlink():
        return "is a symbolic link to nothing (a loop or a missing target)"
    return "is not a regular file" if target.exists() else "does not exist"


def _status_step(plan: Path, number: int, step: dict[str, Any]) -> Write:
    job, status, counters = step.get("jobStatus"), step.get("status"), step.get("labelCounters")
    if not isinstance(job, str) or not job or not isinstance(status, str) or not status:
        raise PlanError(f'{plan}:{number}: "jobStatus" and "status" must be non-empty strings')
    if not JOB_NAME.fullmatch(job):
        raise PlanError(f'{plan}:{number}: "jobStatus" {job!r} is not a labeling job name ({JOB_NAME.pattern})')
    if counters is not None and not (
        isinstance(counters, dict) and all(isinstance(v, int) and not isinstance(v, bool) for v in counters.values())
    ):
        raise PlanError(f'{plan}:{number}: "labelCounters" must map counter names to integers')
    return Write(f"sagemaker:{job}", plan, JOB_STATUS, job=job, status=status, label_counters=counters)


class ReplayLabelingJobs:
    """DescribeLabelingJob in the replay: the jobs write under the replay's bucket and prefix, and their
    LabelCounters are what the plan says, else what the replay published for them so far."""

    def __init__(self, resources: EmbeddedResources, events: list[Published]) -> None:
        self.resources, self.events = resources, events
        self.counters: dict[str, dict[str, int]] = {}

    def status(self, job_name: str) -> Any:
        from gtproc.usecases.ports import JobStatusInfo

        prefix = self.resources.key_prefix.strip("/")
        output_path = f"s3://{self.resources.output_bucket}/{prefix + '/' if prefix else ''}"
        counters = self.counters.get(normalize_job_name(job_name)) or self._published_counters(job_name)
        return JobStatusInfo(output_path, counters)

    def _published_counters(self, job_name: str) -> dict[str, int]:
        human = machine = failed = 0
        for event in self.events:
            if normalize_job_name(event.detail.get("jobName", "")) != normalize_job_name(job_name):
                continue
            if event.detail_type == "Objects Labeled":
                for obj in event.detail["objects"]:
                    human, machine = (human + 1, machine) if obj.get("humanAnnotated") else (human, machine + 1)
            elif event.detail_type == "Objects Failed":
                failed += len(event.detail["objects"])
        return {
            "TotalLabeled": human + machine,
            "HumanLabeled": human,
            "MachineLabeled": machine,
            "FailedNonRetryableError": failed,
            "Unlabeled": 0,
        }


# ---- delivery ---------------------------------------------------------------------------------------


class Lambda:
    """Runs a handler on SQS batches of one pipeline's queue, as the SQS event source mapping would."""

    def __init__(self, resources: EmbeddedResources, pipeline: str, handler: Handler) -> None:
        self.resources = resources
        self.pipeline = resources.pipelines[pipeline]
        self.handler = handler
        self.sqs = resources.client("sqs")
        self.sequencer = 0
        self.receives: dict[str, int] = {}

    def receive_all(self) -> list[dict[str, Any]]:
        messages = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.pipeline.queue_url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = response.get("Messages", [])
            if not batch:
                return messages
            messages.extend(batch)

    def to_record(self, message: dict[str, Any], duplicate: bool = False) -> dict[str, Any]:
        body = self._as_aws_sends(message["Body"])
        return {
            "messageId": str(uuid.uuid4()) if duplicate else message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": body,
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {
                name: {"stringValue": value.get("StringValue"), "dataType": value.get("DataType")}
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.pipeline.queue_arn,
            "awsRegion": REGION,
        }

    def _as_aws_sends(self, body: str) -> str:
        """moto's S3 events carry the raw key, a constant id and `eTag`; AWS URL-encodes the key."""
        event = json.loads(body)
        detail = event.get("detail", {})
        obj = detail.get("object")
        if event.get("source") == "aws.s3" and isinstance(obj, dict):
            event["id"] = str(uuid.uuid4())
            obj["key"] = quote_plus(obj["key"], safe="/")
            if "eTag" in obj:
                obj["etag"] = obj.pop("eTag")
            self.sequencer += 1
            obj["sequencer"] = f"{self.sequencer:016X}"
            detail["reason"] = "PutObject"
        return json.dumps(event)

    def invoke(self, records: list[dict[str, Any]]) -> set[str]:
        """One invocation; returns the ids of the records that failed."""
        try:
            response = self.handler({"Records": records}, _Context(self.pipeline.name)) or {}
        except Exception:  # a failed invocation: Lambda retries the whole batch
            return {record["messageId"] for record in records}
        return {failure["itemIdentifier"] for failure in response.get("batchItemFailures", [])}

    def settle(self, message: dict[str, Any], failed: bool) -> bool:
        """Delete a processed message; make a failed one visible again or dead-letter it. True if retried."""
        handle = message["ReceiptHandle"]
        if not failed:
            self.sqs.delete_message(QueueUrl=self.pipeline.queue_url, ReceiptHandle=handle)
            return False
        count = self.receives[message["MessageId"]] = self.receives.get(message["MessageId"], 0) + 1
        if count >= MAX_RECEIVE_COUNT:
            self.sqs.send_message(QueueUrl=self.pipeline.dlq_url, MessageBody=message["Body"])
            self.sqs.delete_message(QueueUrl=self.pipeline.queue_url, ReceiptHandle=handle)
            return False
        self.sqs.change_message_visibility(QueueUrl=self.pipeline.queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
        return True


class _Context:
    def __init__(self, pipeline: str, request_id: str | None = None) -> None:
        self.function_name = f"gtproc-{pipeline}"
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:gtproc-{pipeline}"
        self.memory_limit_in_mb = MANIFESTS_MEMORY_MB if pipeline == "manifests" else FUNCTION_MEMORY_MB
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/gtproc-{pipeline}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


class Replayer:
    def __init__(
        self,
        resources: EmbeddedResources,
        handlers: dict[str, Handler],
        chaos_seed: int | None = None,
        on_event: Callable[[Published], None] | None = None,
        on_write: Callable[[Write], None] | None = None,
        faults_seed: int | None = None,
    ) -> None:
        self.resources = resources
        self.lambdas = {name: Lambda(resources, name, handler) for name, handler in handlers.items()}
        self.rng = random.Random(chaos_seed) if chaos_seed is not None else None
        self.held: dict[str, list[dict[str, Any]]] = {name: [] for name in self.lambdas}
        self.on_event = on_event
        self.on_write = on_write
        self.result = ReplayResult()
        self.s3 = resources.client("s3")
        self.sqs = resources.client("sqs")
        self.events_client = resources.client("events")
        from gtproc.handlers import wiring

        self.jobs = wiring.local_jobs = ReplayLabelingJobs(resources, self.result.events)
        self.faults = None
        if faults_seed is not None:
            from gtproc.local.faulty_replay import FaultyAWS

            self.faults = FaultyAWS(faults_seed, resources)
            self.result.faults = self.faults.report

    def run(self, writes: list[Write]) -> ReplayResult:
        for write in writes:
            self._write(write)
            self.result.writes += 1
            if self.on_write is not None:
                self.on_write(write)
            if self.rng is None or self.rng.random() < 0.3:
                self.deliver()
        self.deliver(final=True)
        if self.faults is not None:
            self.faults.redrive(self)
        for name, pipeline in self.resources.pipelines.items():
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=pipeline.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            self.result.dead_letters[name] = int(attributes["ApproximateNumberOfMessages"])
        return self.result

    def _write(self, write: Write) -> None:
        if write.kind == STREAMING:
            # What Ground Truth publishes: the output line as the message's text.
            topic = self.resources.streaming_topics[write.job]
            text = write.file.read_bytes().decode("utf-8", errors="replace")
            self.resources.client("sns").publish(TopicArn=topic, Message=text)
        elif write.kind == JOB_STATUS:
            if write.label_counters is not None:
                self.jobs.counters[normalize_job_name(write.job)] = write.label_counters
            self.events_client.put_events(Entries=[_state_change(write.job, write.status)])
        else:
            self.s3.put_object(Bucket=self.resources.output_bucket, Key=write.key, Body=write.file.read_bytes())

    def deliver(self, final: bool = False) -> None:
        """Run the handlers on what the queues hold; in chaos mode duplicated, reordered, held back."""
        while True:
            progressed = self.faults is not None and self.faults.release(final=False)
            for name, function in self.lambdas.items():
                messages = self.held[name] + function.receive_all()
                self.held[name] = []
                if not messages:
                    continue
                progressed = True
                if self.rng is not None:
                    messages = self._chaos(name, messages, final)
                self._run_batches(function, messages)
            self._collect_events()
            if not progressed and final and self.faults is not None and self.faults.release(final=True):
                continue  # the simulated clock moved on to a record's redelivery
            if not progressed or not final:
                return

    def _chaos(self, name: str, messages: list[dict[str, Any]], final: bool) -> list[dict[str, Any]]:
        assert self.rng is not None
        rng = self.rng
        self.rng.shuffle(messages)
        if not final:
            keep = [m for m in messages if rng.random() < 0.7]
            self.held[name] = [m for m in messages if m not in keep]
            messages = keep
        duplicates = [dict(m, duplicate=True) for m in messages if rng.random() < 0.4]
        messages = messages + duplicates
        rng.shuffle(messages)
        return messages

    def _run_batches(self, function: Lambda, messages: list[dict[str, Any]]) -> None:
        position = 0
        while position < len(messages):
            size = self.rng.randint(1, 10) if self.rng is not None else 10
            batch = messages[position : position + size]
            position += size
            records = [function.to_record(m, duplicate=bool(m.get("duplicate"))) for m in batch]
            self.result.invocations += 1
            self.result.deliveries += len(records)
            if self.faults is not None:
                self.faults.run_batch(function, batch, records)
                continue
            failed = function.invoke(records)
            for message, record in zip(batch, records, strict=True):
                if message.get("duplicate"):
                    continue  # a duplicate delivery shares its receipt handle with the original
                function.settle(message, record["messageId"] in failed)

    def collect_events(self) -> None:
        """Collect what reached the bus so far: after each invocation, the account knows which write caused it."""
        self._collect_events()

    def _collect_events(self) -> None:
        while True:
            response = self.sqs.receive_message(QueueUrl=self.resources.observer_queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return
            for message in messages:
                event = json.loads(message["Body"])
                published = Published(event["source"], event["detail-type"], event["detail"])
                self.result.events.append(published)
                if self.on_event is not None:
                    self.on_event(published)
                self.sqs.delete_message(
                    QueueUrl=self.resources.observer_queue_url, ReceiptHandle=message["ReceiptHandle"]
                )


def _state_change(job: str, status: str) -> dict[str, Any]:
    """SageMaker's event as EventBridge carries it (its ARN names the job in lower case)."""
    return {
        "Source": "aws.sagemaker",
        "DetailType": "SageMaker Ground Truth Labeling Job State Change",
        "Resources": [job_arn(job, REGION, "123456789012")],
        "Detail": json.dumps({"LabelingJobStatus": status}),
    }


def facts(events: list[Published]) -> set[tuple[Any, ...]]:
    """The facts events publish, independent of how they were batched into events and when."""
    found: set[tuple[Any, ...]] = set()
    for event in events:
        detail = event.detail
        kind = event.detail_type
        if "objects" in detail and isinstance(detail["objects"], list):
            for obj in detail["objects"]:
                found.add((kind, detail["jobName"], detail["labelAttributeName"], obj["datasetObjectId"]))
        elif "errors" in detail:
            for error in detail["errors"]:
                found.add((kind, detail["jobName"], error["line"], error["code"], error.get("attribute")))
        elif kind in ("Annotations Consolidated", "Consolidation Compared"):
            found.add((kind, detail["jobName"], detail["iteration"], detail["datasetObjectId"]))
        elif kind == "Labeling Job Completed":
            found.add(
                (
                    kind,
                    detail["jobName"],
                    json.dumps({k: v for k, v in detail.items() if k != "manifestUri"}, sort_keys=True),
                )
            )
        else:
            found.add((kind, json.dumps(detail, sort_keys=True)))
    return found


def iter_counts(events: list[Published]) -> Iterator[tuple[str, int, int]]:
    """(detail type, events, facts) per detail type."""
    by_type: dict[str, list[int]] = {}
    for event in events:
        count = event.detail.get("count") or event.detail.get("invalidCount") or 1
        entry = by_type.setdefault(event.detail_type, [0, 0])
        entry[0] += 1
        entry[1] += int(count)
    for detail_type, (number, total) in sorted(by_type.items()):
        yield detail_type, number, total
