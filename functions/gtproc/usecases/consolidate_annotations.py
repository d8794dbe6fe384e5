"""Use case: worker responses or Ground Truth's consolidation landed; consolidate and publish.

A worker-response write is consolidated at once, with the worker quality learned so far in the job,
and published as `Annotations Consolidated` once per object and iteration: the first invocation to
create the object's record publishes, duplicates find the record and stop. The job's worker quality
is updated once per object, with a conditional write that is retried on conflict. When Ground
Truth's consolidation-response lands, each object is compared with ours (`Consolidation Compared`).

The story of a worker-response file: parse its key, read it, take the job's facts (`JobFacts`),
consolidate the object via the `QualityLearner`, name its source (`ObjectSources`), publish once via
the `AnnotationSession`, then fold the answers into the quality.

A file that cannot be used (over a size or work bound, undecodable, no usable answer) is a permanent
failure, never retried: it is published once as `Annotation File Invalid`, claimed like the others.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from gtproc.contract.events import (
    ANNOTATION_FILE_INVALID,
    ANNOTATIONS_CONSOLIDATED,
    CONSOLIDATION_COMPARED,
    AnnotationFileInvalid,
    AnnotationsConsolidated,
)
from gtproc.contract.layout import MASKS_PREFIX
from gtproc.domain import consolidation as cons
from gtproc.domain.consolidation.limits import DEFAULT_LIMITS, Limits
from gtproc.domain.formats import consolidation_response_decoder, worker_response_decoder
from gtproc.domain.groundtruth import TaskType, WorkerAnswer
from gtproc.domain.keys import Area, OutputKey, is_under_prefix, parse_output_key
from gtproc.usecases.comparison import comparison_of
from gtproc.usecases.job_facts import JobFacts
from gtproc.usecases.object_sources import ObjectSources
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import (
    AnnotationStore,
    BlobStore,
    ComparisonOf,
    ConsolidationOf,
    EventEntry,
    EventPublisher,
    InvalidFileOf,
    JobDescriptions,
    JobInfo,
    ObjectMissing,
    ObjectTooLarge,
    ObjectUnreadable,
    SourceFiles,
)
from gtproc.usecases.publish_once import AnnotationSession, Claim
from gtproc.usecases.quality_learner import (
    InvalidFile,
    ObjectAnswers,
    QualityLearner,
    check_item_size,
    describe_error,
)

# Everything a decoder can raise on hostile JSON: bad syntax or shape, nesting past the recursion
# limit, numbers past float range.
DECODE_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError, OverflowError, ValueError)
_log = logging.getLogger("gtproc")
_encoder = msgspec.json.Encoder()


class AnnotationsConfig(msgspec.Struct, frozen=True):
    key_prefix: str = ""
    results_bucket: str = ""  # where consolidated segmentation masks are written
    results_prefix: str = MASKS_PREFIX
    method: str | None = None  # None: the library's default per task type
    stale_claim_seconds: int = 900  # longer than the function timeout
    max_file_bytes: int = 16 * 1024 * 1024  # one worker-response or consolidation-response file
    limits: Limits = DEFAULT_LIMITS


class Published(enum.Enum):
    """What one object's consolidation came to."""

    NOW = "now"  # published by this delivery
    ALREADY = "already"  # another delivery published it (or holds it)
    NOTHING_USABLE = "nothing-usable"  # no answer could be consolidated


class AnnotationOutcome(msgspec.Struct):
    key: str
    status: FileStatus
    reason: str = ""
    job_name: str = ""
    published: dict[str, int] = msgspec.field(default_factory=dict)
    duplicates: int = 0
    code: str = ""  # why a file is invalid (Annotation File Invalid's code)
    sources_unknown: int = 0  # Annotations Consolidated published without the object's source


def worker_answers(data: bytes) -> list[WorkerAnswer]:
    """The answers of a worker-response file."""
    return [WorkerAnswer(a.workerId, a.answerContent) for a in worker_response_decoder.decode(data).answers]


def _event(detail_type: str, detail: msgspec.Struct) -> tuple[EventEntry, dict[str, Any]]:
    """The entry to put, and the detail as builtins: what its claim holds."""
    fields: dict[str, Any] = msgspec.to_builtins(detail)
    return EventEntry(detail_type, _encoder.encode(detail), ()), fields


class ConsolidateAnnotations:
    def __init__(
        self,
        blobs: BlobStore,
        jobs: JobDescriptions,
        store: AnnotationStore,
        publisher: EventPublisher,
        config: AnnotationsConfig | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        warn: Callable[[str], None] | None = None,
        sources: SourceFiles | None = None,
    ) -> None:
        self.blobs, self.store, self.publisher = blobs, store, publisher
        self.config = config or AnnotationsConfig()
        self.clock, self.sleep = clock, sleep
        self.warn = warn or _log.warning
        self.jobs, self.sources = jobs, sources

    # Each collaborator keeps its cache for the life of the instance; a new port starts a new one.
    @property
    def jobs(self) -> JobDescriptions:
        return self._facts.jobs

    @jobs.setter
    def jobs(self, jobs: JobDescriptions) -> None:
        self._facts = JobFacts(jobs, lambda message: self.warn(message))

    @property
    def sources(self) -> SourceFiles | None:
        """None: events name no source (and none is counted as unknown)."""
        return self._sources.files if self._sources is not None else None

    @sources.setter
    def sources(self, files: SourceFiles | None) -> None:
        self._sources = ObjectSources(files) if files is not None else None

    @property
    def sources_unknown(self) -> int:
        return self._sources.unknown if self._sources is not None else 0

    # The session and the learner are views over the current ports (tests swap them on a live instance).
    @property
    def _session(self) -> AnnotationSession:
        return AnnotationSession(self.store, self.publisher, self.clock, self.sleep, self.config.stale_claim_seconds)

    @property
    def _quality(self) -> QualityLearner:
        return QualityLearner(self.store, self.clock, self.sleep)

    def __call__(self, bucket: str, key: str) -> AnnotationOutcome:
        before = self.sources_unknown
        outcome = self._handle(bucket, key)
        outcome.sources_unknown = self.sources_unknown - before
        return outcome

    def _handle(self, bucket: str, key: str) -> AnnotationOutcome:
        if not is_under_prefix(key, self.config.key_prefix):
            return AnnotationOutcome(
                key, FileStatus.SKIPPED, f"outside the configured prefix {self.config.key_prefix!r}"
            )
        location = parse_output_key(key)
        if location is None:
            return AnnotationOutcome(key, FileStatus.SKIPPED, "not a file of the Ground Truth output layout")
        try:
            if location.area is Area.WORKER_RESPONSE:
                if location.is_video_frame:
                    return AnnotationOutcome(key, FileStatus.SKIPPED, "per-frame video responses are not consolidated")
                return self._on_worker_response(bucket, location)
            if location.area is Area.CONSOLIDATION_RESPONSE:
                return self._on_consolidation_response(bucket, location)
        except InvalidFile as invalid:
            return self._report_invalid(bucket, location, invalid)
        return AnnotationOutcome(key, FileStatus.SKIPPED, f"{location.area} files are not consolidated")

    def _read(self, bucket: str, location: OutputKey) -> bytes | AnnotationOutcome:
        """The file's bytes, or the outcome of a file deleted before it could be read."""
        try:
            return self.blobs.read(bucket, location.key, max_bytes=self.config.max_file_bytes)
        except ObjectTooLarge as error:
            raise InvalidFile("file-too-large", str(error)) from error
        except ObjectUnreadable as error:
            raise InvalidFile("access-denied", str(error)) from error
        except ObjectMissing:
            return AnnotationOutcome(location.key, FileStatus.SKIPPED, "the object no longer exists", location.job_name)

    def _report_invalid(self, bucket: str, location: OutputKey, invalid: InvalidFile) -> AnnotationOutcome:
        """Publish `Annotation File Invalid` once per file (the claim makes redeliveries publish nothing)."""
        outcome = AnnotationOutcome(
            location.key, FileStatus.INVALID, invalid.message, location.job_name, code=invalid.code
        )
        job_id, record = location.job_id(bucket), InvalidFileOf(location.iteration, location.key)
        claim = self._session.check(job_id, record)
        if claim is Claim.FREE:
            object_id = str(location.object_index) if location.area is Area.WORKER_RESPONSE else None
            detail = AnnotationFileInvalid(
                job_name=location.job_name,
                job_path=location.job_root,
                bucket=bucket,
                iteration=location.iteration or 0,
                dataset_object_id=object_id,
                file_uri=f"s3://{bucket}/{location.key}",
                code=invalid.code,
                message=invalid.message[:1000],
            )
            published = self._session.publish(job_id, record, *_event(ANNOTATION_FILE_INVALID, detail))
        else:
            published = claim is Claim.RESUMED
        if published:
            outcome.published[ANNOTATION_FILE_INVALID] = 1
        else:
            outcome.duplicates += 1
        return outcome

    # ---- worker responses -----------------------------------------------------------------------

    def _on_worker_response(self, bucket: str, location: OutputKey) -> AnnotationOutcome:
        outcome = AnnotationOutcome(location.key, FileStatus.PROCESSED, job_name=location.job_name)
        data = self._read(bucket, location)
        if isinstance(data, AnnotationOutcome):
            return data
        try:
            answers = worker_answers(data)
        except DECODE_ERRORS as error:
            raise InvalidFile("undecodable", f"not a worker-response file: {describe_error(error)}") from error
        published = self._consolidate_and_publish(bucket, location, str(location.object_index), answers)
        if published is Published.ALREADY:
            outcome.duplicates += 1
        elif published is Published.NOW:
            outcome.published[ANNOTATIONS_CONSOLIDATED] = 1
        else:
            raise InvalidFile("no-usable-answer", "no usable worker answer")
        return outcome

    def _consolidate_and_publish(
        self, bucket: str, location: OutputKey, object_id: str, answers: list[WorkerAnswer]
    ) -> Published:
        job_id, record = location.job_id(bucket), ConsolidationOf(location.iteration, object_id)
        session = self._session
        # The object's record and the job's quality are read together: one round trip, not two.
        existing, quality = self.store.get_with_quality(job_id, record.record_id)
        claim = session.check_read(job_id, record, existing)
        if claim is Claim.PUBLISHED:
            return Published.ALREADY
        info = self._facts.of(bucket, location, answers)
        work = self._object(job_id, location, info, object_id, answers)
        if claim is Claim.RESUMED:  # a dead invocation's recorded event, published now
            self._quality.learn(job_id, work)
            return Published.NOW
        draft = self._quality.draft(job_id, work, quality)
        result = draft.result
        if result is None or not result.objects:
            return Published.NOTHING_USABLE
        obj = result.objects[0]
        detail = self._consolidated(bucket, location, info, object_id, result.task_type, obj)
        # Before the claim: a failed write leaves nothing claimed, and the event never names a missing mask.
        self._write_masks(job_id, location, object_id, obj)
        entry, fields = _event(ANNOTATIONS_CONSOLIDATED, detail)
        check_item_size("the consolidation record", entry.detail)  # the claim holds the whole event
        if not session.publish(job_id, record, entry, fields):
            return Published.ALREADY
        self._quality.learn(job_id, work, draft)
        return Published.NOW

    def _consolidated(
        self,
        bucket: str,
        location: OutputKey,
        info: JobInfo,
        object_id: str,
        task: TaskType,
        obj: cons.ObjectResult,
    ) -> AnnotationsConsolidated:
        return AnnotationsConsolidated(
            job_name=location.job_name,
            bucket=bucket,
            job_path=location.job_root,
            iteration=location.iteration or 0,
            dataset_object_id=object_id,
            label_attribute_name=info.label_attribute_name,
            task_type=task.groundtruth_type,
            label=obj.label,
            metadata=obj.metadata,
            workers=obj.workers,
            agreement=round(obj.agreement, 4),
            method=obj.method,
            worker_ids=list(obj.worker_ids),
            votes=obj.votes or {},
            **self._source_fields(bucket, location, info, object_id),
        )

    def _write_masks(self, job_id: str, location: OutputKey, object_id: str, obj: cons.ObjectResult) -> None:
        bucket = self.config.results_bucket
        if obj.mask_png is not None:
            self.blobs.write(bucket, self._mask_key(job_id, location, object_id), obj.mask_png)
        for uri, png in obj.masks:  # a custom template's mask elements, each at its own URI
            self.blobs.write(bucket, uri.removeprefix(f"s3://{bucket}/"), png)

    def _object(
        self, job_id: str, location: OutputKey, info: JobInfo, object_id: str, answers: list[WorkerAnswer]
    ) -> ObjectAnswers:
        """What the learner consolidates: the object's answers with the job's facts."""
        results_bucket = self.config.results_bucket
        return ObjectAnswers(
            object_id=object_id,
            answers=answers,
            task=TaskType(info.task_type) if info.task_type is not None else None,
            label_attribute_name=info.label_attribute_name,
            job_name=location.job_name,
            mask_uri=lambda oid: f"s3://{results_bucket}/{self._mask_key(job_id, location, oid)}",
            categories=info.categories,
            method=self.config.method,
            limits=self.config.limits,
        )

    def _source_fields(self, bucket: str, location: OutputKey, info: JobInfo, object_id: str) -> dict[str, str]:
        if self._sources is None:
            return {}
        return self._sources.fields(bucket, location, info, object_id, self.clock())

    def _mask_key(self, job_id: str, location: OutputKey, object_id: str) -> str:
        return f"{self.config.results_prefix}/{job_id}/iteration-{location.iteration}/{object_id}.png"

    # ---- Ground Truth's own consolidation ----------------------------------------------------------

    def _on_consolidation_response(self, bucket: str, location: OutputKey) -> AnnotationOutcome:
        outcome = AnnotationOutcome(location.key, FileStatus.PROCESSED, job_name=location.job_name)
        data = self._read(bucket, location)
        if isinstance(data, AnnotationOutcome):
            return data
        try:
            items = consolidation_response_decoder.decode(data)
        except DECODE_ERRORS as error:
            raise InvalidFile("undecodable", f"not a consolidation-response file: {describe_error(error)}") from error
        seen: set[str] = set()
        for item in items:
            object_id = item.datasetObjectId
            if object_id in seen:  # the same id may recur in a response
                continue
            seen.add(object_id)
            published = self._compare(bucket, location, object_id, item.consolidatedAnnotation.content)
            for detail_type, count in published.items():
                outcome.published[detail_type] = outcome.published.get(detail_type, 0) + count
        return outcome

    def _compare(self, bucket: str, location: OutputKey, object_id: str, content: dict[str, Any]) -> dict[str, int]:
        published: dict[str, int] = {}
        job_id, ours_record = location.job_id(bucket), ConsolidationOf(location.iteration, object_id)
        ours = self._session.recorded(job_id, ours_record)
        if ours is None:
            # Ground Truth's result landed before we saw the worker responses: consolidate them now.
            answers = self._find_answers(bucket, location, object_id)
            try:
                if answers and self._consolidate_and_publish(bucket, location, object_id, answers) is Published.NOW:
                    published[ANNOTATIONS_CONSOLIDATED] = 1
            except InvalidFile:  # the worker-response file is reported when its own write is processed
                return published
            ours = self._session.recorded(job_id, ours_record)  # whichever delivery published it
        if ours is None:
            return published
        detail = comparison_of(bucket, location, object_id, ours, content)
        if detail is None:
            return published
        record = ComparisonOf(location.iteration, object_id)
        claim = self._session.check(job_id, record)
        if claim is Claim.FREE:
            if self._session.publish(job_id, record, *_event(CONSOLIDATION_COMPARED, detail)):
                published[CONSOLIDATION_COMPARED] = 1
        elif claim is Claim.RESUMED:
            published[CONSOLIDATION_COMPARED] = 1
        return published

    def _find_answers(self, bucket: str, location: OutputKey, object_id: str) -> list[WorkerAnswer]:
        prefix = f"{location.job_root}/annotations/worker-response/iteration-{location.iteration}/{object_id}/"
        answers: list[WorkerAnswer] = []
        for key in sorted(self.blobs.list_keys(bucket, prefix)):
            try:  # a bad one is reported when its own write is processed
                answers.extend(worker_answers(self.blobs.read(bucket, key, max_bytes=self.config.max_file_bytes)))
            except (ObjectMissing, ObjectTooLarge, ObjectUnreadable, *DECODE_ERRORS):
                continue
        return answers
