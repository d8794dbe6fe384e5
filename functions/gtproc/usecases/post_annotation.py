"""Use case: Ground Truth calls us as the annotation-consolidation Lambda of a custom workflow.

The event names a consolidation-request file (a JSON array of objects with their workers'
annotations, each a JSON string, or an `s3Uri` to fetch); we return the consolidation-response list.
Objects without a usable answer are left out of the response, which Ground Truth records as failed;
answers of a custom template are read by their shape (elements of unknown shape are passed through).
Only a request that cannot be read at all raises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from gtproc.domain import consolidation as cons
from gtproc.domain.formats import PostAnnotationEvent, consolidation_request_decoder
from gtproc.domain.groundtruth import TaskType, WorkerAnswer, job_name_of_arn
from gtproc.domain.keys import parse_s3_uri
from gtproc.usecases.ports import BlobStore, ObjectMissing


class BadRequest(ValueError):
    """The event or the request file cannot be used."""


class PostAnnotationResult(msgspec.Struct):
    response: list[dict[str, Any]]
    failures: list[tuple[str, str]] = msgspec.field(default_factory=list)
    method: str = ""
    task_type: TaskType | None = None  # None when nothing was consolidated
    unused: list[cons.UnusedAnswer] = msgspec.field(default_factory=list)  # answers that went into no label
    unused_shapes: list[cons.UnusedAnswer] = msgspec.field(default_factory=list)  # used without some shapes


def _fetch(blobs: BlobStore, uri: str) -> str | None:
    """An annotation given by reference; None when it cannot be read (that answer is left out)."""
    try:
        return blobs.read(*parse_s3_uri(uri)).decode("utf-8")
    except Exception:
        return None


class ConsolidateRequest:
    """The post-annotation use case over its one port, built once per container (handlers/wiring.py)."""

    def __init__(self, blobs: BlobStore, method: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.blobs, self.method, self.clock = blobs, method, clock

    def __call__(self, event: dict[str, Any]) -> PostAnnotationResult:
        return consolidate_request(event, self.blobs, self.method, self.clock)


def consolidate_request(
    event: dict[str, Any],
    blobs: BlobStore,
    method: str | None = None,
    clock: Callable[[], float] = time.time,
) -> PostAnnotationResult:
    try:
        request_event = msgspec.convert(event, PostAnnotationEvent)
    except msgspec.ValidationError as error:
        raise BadRequest(f"not a post-annotation event: {error}") from None
    uri = request_event.payload.s3Uri
    if not uri:
        raise BadRequest("the event has no payload.s3Uri")
    try:
        location = parse_s3_uri(uri)
    except ValueError as error:
        raise BadRequest(f"payload.s3Uri: {error}") from None
    try:
        data = blobs.read(*location)
    except ObjectMissing:
        raise BadRequest(f"{uri} does not exist") from None
    try:
        items = consolidation_request_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise BadRequest(f"{uri} is not a consolidation request: {error}") from None

    objects: dict[str, list[WorkerAnswer]] = {}
    failures: list[tuple[str, str]] = []
    for item in items:
        answers: list[WorkerAnswer] = []
        reason = ""
        for annotation in item.annotations:
            content = annotation.annotationData.content
            if content is None and annotation.annotationData.s3Uri:
                content = _fetch(blobs, annotation.annotationData.s3Uri)
            if content is None:
                continue
            try:
                answers.append(
                    cons.parse_answer({"workerId": annotation.workerId, "annotationData": {"content": content}})
                )
            except ValueError as error:  # that answer only is left out
                reason = str(error)
        if answers:
            objects.setdefault(item.datasetObjectId, []).extend(answers)
        else:
            failures.append((item.datasetObjectId, reason or "no worker annotation could be read"))
    if not objects:
        return PostAnnotationResult([], failures)

    job_name = job_name_of_arn(request_event.labelingJobArn)
    output = (request_event.outputConfig or "").rstrip("/")
    now = datetime.fromtimestamp(clock(), UTC).replace(tzinfo=None)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%f")

    def run(task_type: TaskType | None, objects: dict[str, list[WorkerAnswer]] = objects) -> cons.ConsolidationResult:
        return cons.consolidate(
            task_type,
            objects,
            label_attribute_name=request_event.labelAttributeName,
            job_name=job_name,
            categories=request_event.labelCategories,
            method=method,
            creation_date=now,
            mask_uri=lambda oid: f"{output}/consolidated-annotation/output/{oid}_{stamp}.png",
        )

    def by_shape_if_needed(objects: dict[str, list[WorkerAnswer]]) -> cons.ConsolidationResult:
        try:
            return run(None, objects)
        except ValueError:
            # Answers of several built-in types, or a method that does not fit them: never fail the whole
            # request; read each element by its shape instead (unknown shapes are passed through).
            return run(TaskType.CUSTOM, objects)

    try:
        results = [by_shape_if_needed(objects)]
    except ValueError:
        # An object over a bound (too many classes or shapes) fails the batch: leave out each object that
        # fails alone, as Ground Truth records an object missing from the response, and keep the others.
        alone: dict[str, cons.ConsolidationResult] = {}
        for oid, answers in objects.items():
            try:
                alone[oid] = by_shape_if_needed({oid: answers})
            except ValueError as error:
                failures.append((oid, str(error)))
        if not alone:
            return PostAnnotationResult([], failures)
        try:
            results = [by_shape_if_needed({oid: objects[oid] for oid in alone})]
        except ValueError:
            # Each passes alone, together they are over a bound (the classes of the batch): each its own.
            results = list(alone.values())
    response: list[dict[str, Any]] = []
    for result in results:
        for obj in result.objects:
            for uri, png in obj.mask_files():
                blobs.write(*parse_s3_uri(uri), png, "image/png")
        failures.extend((f.dataset_object_id, f.reason) for f in result.failures)
        response.extend(result.consolidation_response())
    unused = [answer for result in results for answer in result.unused]
    shapes = [answer for result in results for answer in result.unused_shapes]
    return PostAnnotationResult(response, failures, results[0].method, results[0].task_type, unused, shapes)
