"""Duplicated, interleaved and failed deliveries: one event per object and iteration, worker quality
folded in once per object, a failed publish releases the claim so the retry publishes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from gtproc.usecases.ports import PublishFailed
from gtproc.usecases.publish_once import ClaimPending
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.annotations.annotations_support import (
    BUCKET,
    COMPARED,
    CONSOLIDATED,
    FLOWERS,
    FLOWERS_TREE,
    Harness,
    answers_in,
    tree_files,
)

FLOWERS_7 = f"{FLOWERS}/annotations/worker-response/iteration-1/7/2019-04-18_16:17:19.json"
FLOWERS_9 = f"{FLOWERS}/annotations/worker-response/iteration-1/9/2019-04-18_16:13:05.json"
RESPONSE_1 = (
    f"{FLOWERS}/annotations/consolidated-annotation/consolidation-response/iteration-1/2019-04-18_16:17:42.json"
)
ATTEMPTS = 4  # BatchSender's attempts before PublishFailed


def answer_counts(harness: Harness, keys: list[str]) -> Counter[str]:
    """Answers per worker in the given worker-response files (each file counted once)."""
    return Counter(a["workerId"] for key in keys for a in answers_in(harness.read(key)))


def stored_counts(harness: Harness) -> Counter[str]:
    state = harness.quality(FLOWERS)
    assert state is not None
    return Counter({w: int(n) for w, n in zip(state.worker_ids, state.answered, strict=True) if n})


@pytest.mark.parametrize("deliveries", [2, 5])
def test_the_same_write_delivered_again_publishes_once(harness: Harness, deliveries: int):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)

    outcomes = [harness(FLOWERS_7) for _ in range(deliveries)]

    assert outcomes[0].published == {CONSOLIDATED: 1} and outcomes[0].duplicates == 0
    for outcome in outcomes[1:]:
        assert (outcome.status, outcome.published, outcome.duplicates) == ("processed", {}, 1)
    assert harness.detail_types() == [CONSOLIDATED]
    assert stored_counts(harness) == answer_counts(harness, [FLOWERS_7])
    assert harness.quality_version(FLOWERS) == 1


def test_a_second_container_delivering_the_same_write_publishes_nothing(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    harness(FLOWERS_7)
    other = harness.new_instance()
    assert other(BUCKET, FLOWERS_7).duplicates == 1
    assert len(harness.events()) == 1


class _ReentrantPublisher:
    """Runs `during_put` once, inside the first put: another delivery while the claim is not yet marked."""

    def __init__(self, inner: Any, during_put: Any) -> None:
        self.inner, self.during_put = inner, during_put

    def put(self, entries):
        hook, self.during_put = self.during_put, None
        if hook is not None:
            hook()
        return self.inner.put(entries)


class _HookedStore:
    """Delegates to the memory store; `before_claim` runs once before the first claim."""

    def __init__(self, inner: Any, before_claim: Any = None, before_save: Any = None) -> None:
        self.inner, self.before_claim, self.before_save = inner, before_claim, before_save
        self.saves = 0

    def claim(self, *args):
        hook, self.before_claim = self.before_claim, None
        if hook is not None:
            hook()
        return self.inner.claim(*args)

    def save_quality(self, *args):
        self.saves += 1
        hook, self.before_save = self.before_save, None
        if hook is not None:
            hook()
        return self.inner.save_quality(*args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_duplicate_while_the_first_delivery_publishes(harness: Harness):
    """Delivery B runs while A holds the claim and is putting the event (record still pending). B fails,
    so SQS delivers it again (A may die, and an acknowledged B would lose the fact); that redelivery
    finds the record published."""
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    other = harness.new_instance()
    inner_errors = []

    def deliver_b() -> None:
        try:
            other(BUCKET, FLOWERS_7)
        except ClaimPending as error:
            inner_errors.append(error)

    harness.use_case.publisher = _ReentrantPublisher(harness.publisher, deliver_b)

    outcome = harness(FLOWERS_7)

    assert outcome.published == {CONSOLIDATED: 1}
    assert len(inner_errors) == 1
    again = other(BUCKET, FLOWERS_7)
    assert (again.published, again.duplicates) == ({}, 1)
    assert harness.detail_types() == [CONSOLIDATED]
    assert stored_counts(harness) == answer_counts(harness, [FLOWERS_7])


def test_duplicate_that_claims_first(harness: Harness):
    """Delivery A looked and found no record; B runs completely before A claims: B publishes, A stops."""
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    other = harness.new_instance()
    inner_outcomes = []
    harness.use_case.store = _HookedStore(
        harness.store, before_claim=lambda: inner_outcomes.append(other(BUCKET, FLOWERS_7))
    )

    outcome = harness(FLOWERS_7)

    [inner] = inner_outcomes
    assert inner.published == {CONSOLIDATED: 1}
    assert (outcome.published, outcome.duplicates) == ({}, 1)
    assert harness.detail_types() == [CONSOLIDATED]
    assert stored_counts(harness) == answer_counts(harness, [FLOWERS_7])
    assert harness.quality_version(FLOWERS) == 1


def test_quality_write_conflict_is_retried_and_loses_no_object(harness: Harness):
    """Object 9's quality is saved between object 7's read and write: 7's conditional write fails and is
    retried on the new state, so both objects' answers are counted, each once."""
    keys = harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key in (FLOWERS_7, FLOWERS_9))
    other = harness.new_instance()
    store = _HookedStore(harness.store, before_save=lambda: other(BUCKET, FLOWERS_9))
    harness.use_case.store = store

    harness(FLOWERS_7)

    assert store.saves == 2  # the conflicting write, then the retry
    assert harness.sleeps, "a conflict backs off before retrying"
    assert harness.quality_version(FLOWERS) == 2
    assert stored_counts(harness) == answer_counts(harness, keys)
    assert sorted(e["datasetObjectId"] for e in harness.events(CONSOLIDATED)) == ["7", "9"]


def test_quality_counts_each_object_once_over_a_job_of_duplicated_deliveries(harness: Harness):
    keys = harness.put_tree(FLOWERS_TREE, "worker-response")
    assert len(keys) == 25
    order = [*keys, *reversed(keys), *keys[::3]]

    for key in order:
        harness(key)

    assert len(harness.events(CONSOLIDATED)) == 25
    assert stored_counts(harness) == answer_counts(harness, keys)
    state = harness.quality(FLOWERS)
    assert int(state.answered.sum()) == 75  # 25 objects x 3 workers
    assert int(state.confusion.sum()) == 75
    assert harness.quality_version(FLOWERS) == 25  # one successful save per object


def test_publish_failure_releases_the_claim_and_the_retry_publishes(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    harness.publisher.fail_next = [{0}] * ATTEMPTS

    with pytest.raises(PublishFailed):
        harness(FLOWERS_7)

    assert harness.publisher.events == []
    # The claim is released: kept with its event, stale at once, so the retry publishes that event.
    [claim] = harness.store.records.values()
    assert claim["status"] == "pending" and claim["_claimed_at"] == float("-inf")
    assert harness.quality(FLOWERS) is None  # nothing learned from an object that was not published

    retry = harness(FLOWERS_7)
    assert retry.published == {CONSOLIDATED: 1}
    assert harness.detail_types() == [CONSOLIDATED]
    assert stored_counts(harness) == answer_counts(harness, [FLOWERS_7])
    assert harness(FLOWERS_7).duplicates == 1


def test_a_publish_that_succeeds_on_a_later_attempt_is_not_repeated(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    harness.publisher.fail_next = [{0}] * (ATTEMPTS - 1)
    assert harness(FLOWERS_7).published == {CONSOLIDATED: 1}
    assert harness.detail_types() == [CONSOLIDATED]
    assert harness.publisher.calls == ATTEMPTS


def test_comparison_publish_failure_is_retried_without_duplicates(harness: Harness):
    keys = harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: "/iteration-1/" in key)
    for key in keys:
        harness(key)
    harness.put_tree(FLOWERS_TREE, "consolidation-response", only=lambda key: key == RESPONSE_1)
    harness.publisher.fail_next = [set(), set(), {0}, {0}, {0}, {0}]  # the 3rd comparison fails

    with pytest.raises(PublishFailed):
        harness(RESPONSE_1)
    assert len(harness.events(COMPARED)) == 2

    assert harness(RESPONSE_1).published == {COMPARED: 8}
    compared = Counter(e["datasetObjectId"] for e in harness.events(COMPARED))
    assert len(compared) == 10 and set(compared.values()) == {1}


ITERATION_1 = sorted(k for k in tree_files(FLOWERS_TREE, "worker-response") if "/iteration-1/" in k)
DELIVERY = st.sampled_from([*ITERATION_1, RESPONSE_1])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(order=st.permutations([*ITERATION_1, RESPONSE_1]), extra=st.lists(DELIVERY, max_size=12), data=st.data())
def test_any_delivery_order_with_duplicates_publishes_each_fact_once(order, extra, data):
    harness = Harness()
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key in ITERATION_1)
    harness.put_tree(FLOWERS_TREE, "consolidation-response", only=lambda key: key == RESPONSE_1)
    deliveries = list(order)
    for key in extra:  # redeliveries anywhere in the sequence
        deliveries.insert(data.draw(st.integers(0, len(deliveries))), key)

    for key in deliveries:
        assert harness(key).status == "processed"

    facts = Counter(
        (t, json.loads(e.detail)["datasetObjectId"])
        for t, e in zip(harness.detail_types(), harness.publisher.events, strict=True)
    )
    objects = {key.split("/")[4] for key in ITERATION_1}
    assert set(facts) == {(t, o) for t in (CONSOLIDATED, COMPARED) for o in objects}
    assert set(facts.values()) == {1}
    assert int(harness.quality(FLOWERS).answered.sum()) == 30
    assert harness.quality_version(FLOWERS) == 10


def test_a_claim_left_by_a_dead_invocation_is_taken_over_once_stale(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    record_id = "ANN#1#7"
    job_id = f"{BUCKET}/{FLOWERS}"
    # An invocation claimed the object, then died before publishing (e.g. a timeout).
    assert harness.store.claim(job_id, record_id, "dead-owner", 0.0, {"status": "pending"})

    outcome = harness(FLOWERS_7)

    assert outcome.published == {CONSOLIDATED: 1}
    assert harness.detail_types() == [CONSOLIDATED]
    assert harness.store.get(job_id, record_id)["status"] == "published"


def test_a_recent_claim_is_left_to_its_owner(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    job_id = f"{BUCKET}/{FLOWERS}"
    # Claimed a moment ago by an invocation that is still publishing.
    assert harness.store.claim(job_id, "ANN#1#7", "live-owner", 1_700_000_000.0 - 5, {"status": "pending"})

    # Left to it, but not acknowledged: the record fails and comes back after the visibility timeout.
    with pytest.raises(ClaimPending):
        harness(FLOWERS_7)
    assert harness.detail_types() == []


def test_a_comparison_claim_left_by_a_dead_invocation_is_taken_over_once_stale(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    harness(FLOWERS_7)
    harness.put_tree(FLOWERS_TREE, "consolidation-response", only=lambda key: key == RESPONSE_1)
    job_id = f"{BUCKET}/{FLOWERS}"
    # An invocation claimed the comparison of object 7, then died before publishing it.
    assert harness.store.claim(job_id, "CMP#1#7", "dead-owner", 0.0, {"status": "pending", "agree": True})

    harness(RESPONSE_1)

    compared = [e["datasetObjectId"] for e in harness.events(COMPARED)]
    assert "7" in compared and len(compared) == len(set(compared))
    assert harness.store.get(job_id, "CMP#1#7")["status"] == "published"


def test_a_stale_claim_is_resumed_with_the_event_it_recorded_not_a_new_consolidation(harness: Harness):
    harness.put_tree(FLOWERS_TREE, "worker-response", only=lambda key: key == FLOWERS_7)
    job_id = f"{BUCKET}/{FLOWERS}"
    # A run claimed object 7 with its event, published it, and was killed before marking it.
    recorded = {"jobName": FLOWERS, "iteration": 1, "datasetObjectId": "7", "labelAttributeName": FLOWERS}
    recorded |= {"taskType": "groundtruth/image-classification", "label": 2, "metadata": {"class-name": "recorded"}}
    record = {"status": "pending", "eventDetailType": CONSOLIDATED, **recorded}
    assert harness.store.claim(job_id, "ANN#1#7", "killed-owner", 0.0, record)

    outcome = harness(FLOWERS_7)

    assert outcome.published == {CONSOLIDATED: 1}
    [event] = harness.events(CONSOLIDATED)
    assert event == recorded  # the same event again, whatever the worker quality says now
    assert harness.store.get(job_id, "ANN#1#7")["status"] == "published"
    assert harness(FLOWERS_7).duplicates == 1
