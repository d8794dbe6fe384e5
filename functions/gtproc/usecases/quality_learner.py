"""The job's worker quality, learned one object at a time.

Each worker-response object is consolidated with the quality learned so far in its job (per-worker
confusion counts in the state table). Once its event is out, its answers are folded in: load the
state and its version, consolidate again on it, save on the condition that the version is still the
one read, and on a conflict (another object of the job saved first) start over, up to 8 times.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from gtproc.domain import consolidation as cons
from gtproc.domain.consolidation.limits import DEFAULT_LIMITS, InputTooLarge, Limits
from gtproc.domain.groundtruth import TaskType, WorkerAnswer
from gtproc.usecases.ports import AnnotationStore

QUALITY_SAVE_ATTEMPTS = 8
# DynamoDB items are at most 400 KB: what we write stays below this, with room for the key and names.
MAX_ITEM_BYTES = 350 * 1024
_encoder = msgspec.json.Encoder()


class InvalidFile(Exception):
    """The file cannot be used, whatever the retries: reported once, never retried."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class ObjectAnswers(msgspec.Struct, frozen=True):
    """One object's answers and what its consolidation needs to know of the job."""

    object_id: str
    answers: Sequence[WorkerAnswer]
    task: TaskType | None  # None: inferred from the answers' shape
    label_attribute_name: str
    job_name: str
    mask_uri: Callable[[str], str]  # where a segmentation mask of an object is written
    categories: tuple[str, ...] | None = None
    method: str | None = None  # None: the library's default per task type
    limits: Limits = DEFAULT_LIMITS


class QualityLearner:
    def __init__(
        self,
        store: AnnotationStore,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        attempts: int = QUALITY_SAVE_ATTEMPTS,
    ) -> None:
        self.store, self.clock, self.sleep, self.attempts = store, clock, sleep, attempts

    def consolidate(self, job_id: str, obj: ObjectAnswers) -> cons.ConsolidationResult | None:
        """The object consolidated with the job's quality so far (nothing saved); None when no answer is
        usable. Raises InvalidFile past a bound."""
        return self.draft(job_id, obj).result

    def draft(self, job_id: str, obj: ObjectAnswers, quality: tuple[dict[str, Any] | None, int] | None = None) -> Draft:
        """`consolidate`, with the version of the quality it was made from, for `learn` to save as is.

        `quality`: the job's quality and its version as just read from the store (default: read here)."""
        prior, version = quality if quality is not None else self.store.load_quality(job_id)
        return Draft(*_consolidate(obj, prior, self.clock()), version)

    def learn(self, job_id: str, obj: ObjectAnswers, draft: Draft | None = None) -> None:
        """Fold the object's answers into the job's quality, once, whatever the races. A draft of this
        object is saved as it is while the quality is still the version it was made from; otherwise
        (or without one) the object is consolidated again with the quality then current."""
        for attempt in range(self.attempts):
            if draft is not None:
                state, version, draft = draft.state, draft.version, None
            else:
                prior, version = self.store.load_quality(job_id)
                try:
                    state = _consolidate(obj, prior, self.clock())[1]
                except InvalidFile:  # the label is out; the quality it would grow past the bounds is not kept
                    return
            if state is None or self.store.save_quality(job_id, state, version):
                return
            self.sleep(0.05 * (attempt + 1))


class Draft(msgspec.Struct, frozen=True):
    """An object's consolidation and the version of the job's quality it was made from."""

    result: cons.ConsolidationResult | None
    state: dict[str, Any] | None  # the result's quality as saved: encoded once (a zlib compression), not again
    version: int


def _consolidate(
    obj: ObjectAnswers, prior: dict[str, Any] | None, now: float
) -> tuple[cons.ConsolidationResult | None, dict[str, Any] | None]:
    """(result, its quality state as saved), or (None, None) when no answer is usable."""
    if any(not answer.worker_id for answer in obj.answers):
        return None, None  # an answer without a worker: the file is not usable
    task = obj.task
    if task is None:
        inferred = {cons.infer_task_type(a.content) for a in obj.answers} - {TaskType.UNKNOWN}
        # No single built-in type: a custom template, consolidated by shape as the post-annotation Lambda does.
        task = inferred.pop() if len(inferred) == 1 else TaskType.CUSTOM
    if prior is not None and prior.get("family") != task.family:
        prior = None  # another kind of task's quality tells nothing of this one
    method = obj.method if obj.method in cons.METHODS.get(task, ()) else None
    try:
        result = cons.consolidate(
            task,
            {obj.object_id: list(obj.answers)},
            label_attribute_name=obj.label_attribute_name,
            job_name=obj.job_name,
            categories=obj.categories,
            method=method,
            prior=prior,
            creation_date=datetime.fromtimestamp(now, UTC).replace(tzinfo=None),
            mask_uri=obj.mask_uri,
            limits=obj.limits,
        )
    except InputTooLarge as error:
        raise InvalidFile(error.code, str(error)) from error
    except (RecursionError, OverflowError) as error:
        raise InvalidFile("bad-value", describe_error(error)) from error
    except ValueError:  # answers the library rejects (e.g. an empty workerId): not usable, never retryable
        return None, None
    state = result.quality.to_json()
    check_item_size("the job's worker quality", state)
    return result, state


def describe_error(error: BaseException) -> str:
    if isinstance(error, RecursionError):
        return "nesting too deep to decode"
    if isinstance(error, OverflowError):
        return f"a number out of range ({error})"
    return str(error)


def check_item_size(what: str, item: dict[str, Any] | bytes) -> None:
    size = len(item if isinstance(item, bytes) else _encoder.encode(item))
    if size > MAX_ITEM_BYTES:
        raise InvalidFile("item-too-large", f"{what} would be {size} bytes, over DynamoDB's item limit")
