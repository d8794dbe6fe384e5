"""Calls grow with the new objects of a rewrite, not with the job; the labels so far hold each object once."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryPublisher
from gtproc.contract.events import OBJECTS_LABELED

from tests.unit.pipeline.pipeline_support import (
    BUCKET,
    Harness,
    final_key,
    intermediate_key,
    plan_manifest_writes,
    snapshot,
)

JOB = "cars-bbox"
JOB_ID = f"{BUCKET}/{JOB}"
TOTAL = 5000


class Spy:
    """Wraps an in-memory adapter and records the name of every method called."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.log: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.log.append(name)
            return attribute(*args, **kwargs)

        return call

    def take(self) -> list[str]:
        log, self.log = self.log, []
        return log


@pytest.fixture
def spied() -> tuple[Harness, Spy, Spy, Spy]:
    state, labels, publisher = Spy(MemoryJobState()), Spy(MemoryLabels()), Spy(MemoryPublisher())
    return Harness(state=state, labels=labels, publisher=publisher), state, labels, publisher


def test_calls_are_bounded_by_the_new_objects_of_each_rewrite(spied) -> None:
    h, state, labels, publisher = spied
    key = intermediate_key(JOB, 1)
    labeled = 0
    per_rewrite = []
    for rewrite in range(6):
        new = 0 if rewrite in (0, 3) else TOTAL // 10  # two rewrites add nothing
        labeled += new
        before = (h.publisher.inner.calls, h.state.inner.calls, h.labels.inner.calls, len(h.publisher.inner.events))
        outcome = h.process(key, snapshot(JOB, TOTAL, labeled=range(labeled), boxes=4))
        assert outcome.lines == TOTAL and outcome.published.get(OBJECTS_LABELED, 0) == new
        calls = (
            h.publisher.inner.calls - before[0],
            h.state.inner.calls - before[1],
            h.labels.inner.calls - before[2],
        )
        events = len(h.publisher.inner.events) - before[3]
        per_rewrite.append((new, calls, state.take(), labels.take(), publisher.take(), events))

    for new, (put_calls, state_calls, label_calls), state_log, labels_log, publisher_log, events in per_rewrite:
        if new == 0:
            # reads and the lease only: nothing published, no ledger, no labels, no commit
            assert put_calls == 0 and publisher_log == []
            assert state_log == ["acquire", "published_since", "release"]
            assert labels_log == ["load_ledger"]
            continue
        # about 600 bytes an object: 500 new objects fit in ~2 events, one PutEvents call each at most
        assert events <= math.ceil(new * 700 / (200 * 1024))
        assert put_calls <= events
        assert state_log == ["acquire", "published_since", *["record_published"] * put_calls, "commit"]
        assert labels_log == ["load_ledger", "append_labels", "save_ledger"]
        assert state_calls == 3 + put_calls and label_calls == 3
    assert h.state.inner.jobs[JOB_ID].version == 4  # one commit per rewrite that published something
    assert h.published() == Counter({(JOB, str(i)): 1 for i in range(labeled)})


def test_a_final_rewrite_after_completion_writes_nothing(spied) -> None:
    h, state, labels, publisher = spied
    data = snapshot(JOB, 50, labeled=range(50))
    h.process(final_key(JOB), data)
    state.take(), labels.take(), publisher.take()
    ledger = dict(h.labels.inner.ledgers)

    again = h.process(final_key(JOB), data)
    assert again.published == {} and not again.completed
    assert state.take() == ["acquire", "published_since", "release"]
    assert labels.take() == ["load_ledger"]
    assert publisher.take() == []
    assert h.labels.inner.ledgers == ledger


def test_the_ledger_stays_small() -> None:
    h = Harness()
    h.process(intermediate_key(JOB, 1), snapshot(JOB, TOTAL, labeled=range(TOTAL), boxes=1))
    assert len(h.labels.ledgers[JOB_ID]) < 20 * TOTAL


# ---- the labels so far ----------------------------------------------------------------------------------------


def test_labels_so_far_hold_one_line_per_published_object(harness: Harness) -> None:
    for key, data in plan_manifest_writes("classification-failed-auto"):
        harness.process(key, data)
        harness.process(key, data)

    lines = harness.label_lines("gt-output-bucket/flowers-classification")
    keys = Counter((r["datasetObjectId"], r["labelAttributeName"], r["status"]) for r in lines)
    assert max(keys.values()) == 1
    labeled = {k for k in keys if k[2] == "labeled"}
    failed = {k for k in keys if k[2] == "failed"}
    assert {int(k[0]) for k in labeled} == set(range(40)) - {24, 27, 28}
    assert {int(k[0]) for k in failed} == {24, 27, 28}
    assert {k[1] for k in keys} == {"flowers-classification"}
    published = {(i, a) for a, i in harness.published()} | {(i, a) for a, i in harness.published("Objects Failed")}
    assert {(k[0], k[1]) for k in keys} == published
    for record in lines:
        assert record["manifestUri"].startswith("s3://gt-output-bucket/flowers-classification/manifests/")
        assert "iteration" in record
        if record["status"] == "labeled":
            assert {"label", "metadata", "humanAnnotated", "sourceRef"} <= set(record)
        else:
            assert record["failureReason"].startswith("ClientError:")


def test_labels_so_far_follow_the_iteration_that_published_them(harness: Harness) -> None:
    writes = plan_manifest_writes("bbox-three-iterations")
    for key, data in writes:
        harness.process(key, data)
    lines = harness.label_lines("gt-output-bucket/cars-bbox")
    assert len(lines) == 30
    iterations = Counter(r["iteration"] for r in lines)
    assert iterations == Counter({1: 10, 2: 6, 3: 14})
    assert {r["manifestUri"].rsplit("/", 2)[-2] for r in lines} == {"1", "2", "3"}
