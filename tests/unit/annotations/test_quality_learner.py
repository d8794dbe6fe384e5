"""The worker-quality learner on its own: consolidate with the job's quality so far, fold an object's
answers in once under a version condition, retry on a conflict, give up after 8 attempts."""

from __future__ import annotations

from typing import Any

import pytest
from gtproc.adapters.memory import MemoryAnnotationStore
from gtproc.domain.consolidation import QualityState
from gtproc.domain.groundtruth import TaskType, WorkerAnswer
from gtproc.usecases import quality_learner
from gtproc.usecases.quality_learner import QUALITY_SAVE_ATTEMPTS, InvalidFile, ObjectAnswers, QualityLearner

JOB = "bucket/flowers"


def answer(worker: str, label: str) -> WorkerAnswer:
    return WorkerAnswer(worker, {"crowd-image-classifier": {"label": label}})


def flowers(object_id: str, *answers: WorkerAnswer, task: TaskType | None = None) -> ObjectAnswers:
    return ObjectAnswers(
        object_id=object_id,
        answers=answers,
        task=task,
        label_attribute_name="flowers",
        job_name="flowers",
        mask_uri=lambda oid: f"s3://results/{oid}.png",
        categories=("rose", "tulip"),
    )


ROSE = flowers("7", answer("a", "rose"), answer("b", "rose"), answer("c", "tulip"))
TULIP = flowers("9", answer("a", "tulip"), answer("d", "tulip"))


class Conflicting(MemoryAnnotationStore):
    """Another object of the job saves first, before each of the next `conflicts` saves of ours."""

    def __init__(self, conflicts: int, other: ObjectAnswers | None = None) -> None:
        super().__init__()
        self.conflicts, self.other, self.saves = conflicts, other, 0

    def save_quality(self, job_id: str, state: dict[str, object], expected_version: int) -> bool:
        self.saves += 1
        if self.conflicts:
            self.conflicts -= 1
            if self.other is not None:
                QualityLearner(_Plain(self), lambda: 0.0, lambda s: None).learn(job_id, self.other)
            else:
                current, version = self.quality.get(job_id, ({}, 0))
                self.quality[job_id] = (current, version + 1)  # someone saved: the version moved on
        return super().save_quality(job_id, state, expected_version)


class _Plain:
    """The same table seen by another invocation (no conflicts of its own)."""

    def __init__(self, store: MemoryAnnotationStore) -> None:
        self.store = store

    def load_quality(self, job_id: str) -> Any:
        return self.store.load_quality(job_id)

    def save_quality(self, job_id: str, state: dict[str, object], expected_version: int) -> bool:
        return MemoryAnnotationStore.save_quality(self.store, job_id, state, expected_version)


def answered(store: MemoryAnnotationStore) -> dict[str, int]:
    state, _ = store.load_quality(JOB)
    assert state is not None
    quality = QualityState.from_json(state)
    return {w: int(n) for w, n in zip(quality.worker_ids, quality.answered, strict=True) if n}


def test_consolidate_uses_the_quality_so_far_and_saves_nothing() -> None:
    store, sleeps = MemoryAnnotationStore(), []
    learner = QualityLearner(store, lambda: 1_700_000_000.0, sleeps.append)

    result = learner.consolidate(JOB, ROSE)

    assert result is not None and [o.metadata["class-name"] for o in result.objects] == ["rose"]
    assert store.load_quality(JOB) == (None, 0)


def test_learn_folds_the_answers_in_once_with_a_version() -> None:
    store = MemoryAnnotationStore()
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    learner.learn(JOB, ROSE)
    assert answered(store) == {"a": 1, "b": 1, "c": 1}
    assert store.load_quality(JOB)[1] == 1
    learner.learn(JOB, TULIP)
    assert answered(store) == {"a": 2, "b": 1, "c": 1, "d": 1}
    assert store.load_quality(JOB)[1] == 2


def test_a_conflict_starts_over_on_the_other_save_and_keeps_both() -> None:
    store, sleeps = Conflicting(conflicts=2, other=TULIP), []
    QualityLearner(store, lambda: 0.0, sleeps.append).learn(JOB, ROSE)

    # Two of the other object's saves came first; ours is folded into theirs, nothing lost or doubled.
    assert answered(store) == {"a": 3, "b": 1, "c": 1, "d": 2}
    assert store.saves == 3 and sleeps == [0.05, 0.1]
    assert store.load_quality(JOB)[1] == 3


class Counted(Conflicting):
    def __init__(self, conflicts: int, other: ObjectAnswers | None = None) -> None:
        super().__init__(conflicts, other)
        self.loads = 0

    def load_quality(self, job_id: str) -> Any:
        self.loads += 1
        return super().load_quality(job_id)


def test_a_draft_is_saved_as_is_while_its_version_holds() -> None:
    store = Counted(conflicts=0)
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    draft = learner.draft(JOB, ROSE)
    learner.learn(JOB, ROSE, draft)
    # One load (the draft's), one save: the object is consolidated once.
    assert (store.loads, store.saves) == (1, 1)
    assert answered(store) == {"a": 1, "b": 1, "c": 1}


def test_a_drafted_object_encodes_its_quality_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Encoding (zlib) costs about as much as consolidating: the size check and the save share one.
    encoded: list[dict[str, Any]] = []
    to_json = QualityState.to_json
    monkeypatch.setattr(QualityState, "to_json", lambda self: encoded.append(to_json(self)) or encoded[-1])
    store = MemoryAnnotationStore()
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    learner.learn(JOB, ROSE, learner.draft(JOB, ROSE))
    assert len(encoded) == 1 and store.load_quality(JOB) == (encoded[0], 1)
    assert answered(store) == {"a": 1, "b": 1, "c": 1}


def test_a_draft_overtaken_by_another_save_is_consolidated_again_on_that_save() -> None:
    store = Counted(conflicts=1, other=TULIP)
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    draft = learner.draft(JOB, ROSE)
    learner.learn(JOB, ROSE, draft)
    # The draft's save lost to TULIP's; ROSE is folded into TULIP's quality, nothing lost or doubled.
    assert answered(store) == {"a": 2, "b": 1, "c": 1, "d": 1}
    assert store.saves == 2 and store.load_quality(JOB)[1] == 2


def test_it_gives_up_after_eight_conflicts() -> None:
    store, sleeps = Conflicting(conflicts=100), []
    QualityLearner(store, lambda: 0.0, sleeps.append).learn(JOB, ROSE)
    assert QUALITY_SAVE_ATTEMPTS == 8
    assert store.saves == 8
    assert sleeps == pytest.approx([0.05 * n for n in range(1, 9)])


def test_an_answer_without_a_worker_is_not_usable_and_teaches_nothing() -> None:
    store = MemoryAnnotationStore()
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    unusable = flowers("7", answer("a", "rose"), answer("", "rose"))
    assert learner.consolidate(JOB, unusable) is None
    learner.learn(JOB, unusable)
    assert store.load_quality(JOB) == (None, 0)


def test_a_quality_past_the_item_bound_is_invalid_and_never_saved(monkeypatch) -> None:
    monkeypatch.setattr(quality_learner, "MAX_ITEM_BYTES", 64)
    store = MemoryAnnotationStore()
    learner = QualityLearner(store, lambda: 0.0, lambda s: None)
    with pytest.raises(InvalidFile) as raised:
        learner.consolidate(JOB, ROSE)
    assert raised.value.code == "item-too-large" and "the job's worker quality would be" in raised.value.message
    learner.learn(JOB, ROSE)  # the label is out already: the quality is just not kept
    assert store.load_quality(JOB) == (None, 0)


def test_a_quality_of_another_family_is_not_used() -> None:
    store = MemoryAnnotationStore()
    QualityLearner(store, lambda: 0.0, lambda s: None).learn(JOB, ROSE)
    boxes = ObjectAnswers(
        object_id="3",
        answers=[WorkerAnswer("a", {"boundingBox": {"boundingBoxes": [], "inputImageProperties": {}}})],
        task=TaskType.OBJECT_DETECTION,
        label_attribute_name="cars",
        job_name="cars",
        mask_uri=lambda oid: oid,
    )
    result = QualityLearner(store, lambda: 0.0, lambda s: None).consolidate(JOB, boxes)
    assert result is not None and result.task_type is TaskType.OBJECT_DETECTION
    assert result.quality.to_json().get("family") != store.load_quality(JOB)[0]["family"]  # type: ignore[index]
