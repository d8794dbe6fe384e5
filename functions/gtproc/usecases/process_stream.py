"""Use case: one message of a streaming job's SNS output topic; publish what is new, exactly once.

The message holds one output line, as the job's periodic manifests do. The story is the manifests'
one: open the job's session (the same lease and ledger as the manifests of the job's output path, so
an object seen on both channels, or a message delivered twice, is published once), publish the line's
new facts and their label lines (`FindingsRun`), commit. A bad message is reported once as
`Validation Failed` (with `topicArn`), never retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from gtproc.domain.detection import Detector
from gtproc.domain.groundtruth import LineError
from gtproc.domain.ledger import fingerprint
from gtproc.domain.scan import ScannedLine, scan_lines
from gtproc.domain.sniff import InputRule
from gtproc.usecases.findings import FindingsRun, Origin
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import EventPublisher, JobStateStore, LabelingJobs, LabelStore, PublishFailed
from gtproc.usecases.publish_once import JobSession, SessionTerms

_encoder = msgspec.json.Encoder()
_generic = msgspec.json.Decoder()

StreamConfig = SessionTerms  # a streaming run's only settings are its session's terms


class JobNotDescribed(Exception):
    """The streaming job's output path is unknown (DescribeLabelingJob refused): its ledger cannot be found."""


class StreamOutcome(msgspec.Struct):
    job_name: str
    topic_arn: str
    status: FileStatus = FileStatus.PROCESSED  # or INVALID (reported as Validation Failed)
    published: dict[str, int] = msgspec.field(default_factory=dict)


def message_line(message: bytes) -> bytes:
    """The output line an SNS message holds: JSON text (pretty-printed, or once more JSON-encoded as a
    string) made one compact line; anything else is left for the validation to report."""
    try:
        value = _generic.decode(message)
        if isinstance(value, str):
            value = _generic.decode(value)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return message.replace(b"\r", b" ").replace(b"\n", b" ")
    return _encoder.encode(value)


def split_output_path(output_path: str) -> tuple[str, str]:
    """`s3://bucket/prefix/` -> ("bucket", "prefix")."""
    rest = output_path.removeprefix("s3://")
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


class ProcessStream:
    def __init__(
        self,
        jobs: LabelingJobs,
        state: JobStateStore,
        labels: LabelStore,
        publisher: EventPublisher,
        config: StreamConfig | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.jobs, self.state, self.labels, self.publisher = jobs, state, labels, publisher
        self.config = config or StreamConfig()
        self.clock, self.sleep = clock, sleep
        self._paths: dict[str, tuple[str, str]] = {}  # an output path never changes: described once

    def location(self, job_name: str) -> tuple[str, str]:
        """(bucket, job path) of the job's output, where its manifests (and its ledger's identity) are."""
        found = self._paths.get(job_name)
        if found is None:
            info = self.jobs.status(job_name)
            if info is None or not info.output_path:
                raise JobNotDescribed(f"labeling job {job_name!r}: DescribeLabelingJob gives no output path")
            bucket, prefix = split_output_path(info.output_path)
            found = self._paths[job_name] = (bucket, f"{prefix}/{job_name}" if prefix else job_name)
        return found

    def __call__(self, job_name: str, topic_arn: str, message: bytes, deadline: float | None = None) -> StreamOutcome:
        """`deadline`: when the invocation ends (the handler's remaining time), on `clock`'s scale."""
        bucket, job_path = self.location(job_name)
        session = JobSession.open(
            self.state, self.labels, f"{bucket}/{job_path}", self.config, self.clock, self.sleep, deadline
        )
        try:
            origin = Origin(job_name, bucket, job_path, topic_arn=topic_arn)
            run = FindingsRun(session, self.publisher, self.labels, origin, self.sleep)
            return _publish(run, StreamOutcome(job_name, topic_arn, published=run.published), message_line(message))
        except BaseException:
            session.release()
            raise


def _publish(run: FindingsRun, outcome: StreamOutcome, line_bytes: bytes) -> StreamOutcome:
    detector = Detector(outcome.job_name, run.session.ledger, None, run.relabel())
    line = _the_line(line_bytes)
    if line.errors:
        outcome.status = FileStatus.INVALID
    try:
        run.observe(detector.observe(line))
        run.flush()
    except PublishFailed:
        run.commit(last_topic_arn=outcome.topic_arn)  # what went out is never published again
        raise
    run.commit(last_topic_arn=outcome.topic_arn)
    return outcome


def _the_line(line_bytes: bytes) -> ScannedLine:
    """The message's one line, named: by its dedup key, else its source; a bad one by its bytes."""
    lines = list(scan_lines([line_bytes]))
    if not lines:  # an empty message: one line to report
        lines = list(scan_lines([b"null"]))
        lines[0].errors = [
            LineError(line=1, code=InputRule.EMPTY, message="the SNS message is empty: expected one output line")
        ]
    line = lines[0]
    if line.errors:
        # Bad messages are told apart by their bytes: a distinct ledger fact per message.
        line.index = -fingerprint(line_bytes) - 1
    elif line.object_id is None:
        # No dedup key: Ground Truth's fallback is the object itself; its source names it here.
        line.object_id = line.source_ref if line.source_ref is not None else line.source
    return line
