"""Property: whatever faults AWS and Lambda produce (seeded), the manifests pipeline publishes the plain
run's facts, each once, except within the documented window (a kill between PutEvents and its
journal), which is counted. Simulated SQS on a simulated clock: a killed run's message returns after
the visibility timeout, a busy job's message is requeued as a delayed copy, 5 receives dead-letter a
message, and the DLQs are redriven at the end as an operator would."""

from __future__ import annotations

import heapq
import json
from collections import Counter
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryObjects, MemoryPublisher
from gtproc.contract.events import JOB_COMPLETED, VALIDATION_FAILED
from gtproc.local.faults import Faults, Faulty, InstanceKilled
from gtproc.usecases.ports import EventEntry, LeaseHeld
from gtproc.usecases.process_manifest import ProcessManifest

from tests.unit.pipeline.pipeline_support import BUCKET, FakeClock, plan_manifest_writes

TREES = ["bbox-three-iterations", "adjustment-chained", "classification-failed-auto", "bad-input"]
SEEDS = range(4)
TIMEOUT, VISIBILITY, REQUEUE_DELAY, MAX_RECEIVES = 300.0, 1800.0, 30.0, 5


def facts_of(entry: EventEntry) -> list[tuple[Any, ...]]:
    detail = json.loads(entry.detail)
    if entry.detail_type == JOB_COMPLETED:
        return [(entry.detail_type, detail["jobPath"])]
    if entry.detail_type == VALIDATION_FAILED:
        return [(entry.detail_type, e["line"], e["code"], e.get("attribute")) for e in detail["errors"]]
    return [(entry.detail_type, detail["labelAttributeName"], o["datasetObjectId"]) for o in detail["objects"]]


class Account:
    """One output bucket's manifests pipeline: S3, the queue, the function and its DLQ, on one clock."""

    def __init__(self, faults: Faults | None) -> None:
        self.clock = FakeClock()
        self.objects, self.publisher = MemoryObjects(), MemoryPublisher()
        self.state, self.labels = MemoryJobState(), MemoryLabels()
        self.faults = faults
        ports: list[Any] = [self.objects, self.state, self.labels, self.publisher]
        if faults is not None:
            names = ["s3", "dynamodb", "labels-s3", "eventbridge"]
            ports = [Faulty(port, faults, name) for port, name in zip(ports, names, strict=True)]
        self.pm = ProcessManifest(*ports, clock=self.clock, sleep=self.clock.sleep)
        self.queue: list[tuple[float, int, str, int]] = []  # (visible at, seq, key, receives)
        self.dlq: list[str] = []
        self.seq = 0
        self.stats: Counter[str] = Counter()

    def send(self, key: str, at: float, receives: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, key, receives))

    def run(self, writes: list[tuple[str, bytes]]) -> None:
        pending = [(i * 20.0 + self.clock(), key, body) for i, (key, body) in enumerate(writes)]
        while pending or self.queue:
            next_write = pending[0][0] if pending else float("inf")
            next_message = self.queue[0][0] if self.queue else float("inf")
            if next_write <= next_message:
                at, key, body = pending.pop(0)
                self.clock.now = max(self.clock.now, at)
                self.objects.objects[(BUCKET, key)] = body
                self.send(key, self.clock())
                continue
            visible, _, key, receives = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, visible)
            self.invoke(key, receives + 1)

    def invoke(self, key: str, receives: int) -> None:
        start = self.clock()
        if self.faults is not None:
            self.faults.revive()
        try:
            self.pm(BUCKET, key, deadline=start + TIMEOUT)
        except LeaseHeld:
            self.stats["requeued"] += 1
            self.send(key, self.clock() + REQUEUE_DELAY)  # a fresh copy: receive count 0
            return
        except InstanceKilled:
            self.stats["killed"] += 1
            self.clock.now = start + TIMEOUT  # Lambda ends the run at its timeout
            self.retry(key, receives, start)
            return
        except Exception:
            if self.faults is not None:
                self.faults.run_ended()
            self.stats["failed"] += 1
            self.retry(key, receives, start)
            return
        self.clock.advance(0.5)

    def retry(self, key: str, receives: int, start: float) -> None:
        if receives >= MAX_RECEIVES:
            self.dlq.append(key)
        else:
            self.send(key, start + VISIBILITY, receives)

    def redrive(self) -> None:
        keys, self.dlq = self.dlq, []
        self.stats["redriven"] += len(keys)
        for key in keys:
            self.send(key, self.clock())
        self.run([])


def published(publisher: MemoryPublisher) -> Counter[tuple[Any, ...]]:
    return Counter(fact for entry in publisher.events for fact in facts_of(entry))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tree", TREES)
def test_faults_never_lose_or_repeat_a_fact_beyond_the_window(tree: str, seed: int) -> None:
    writes = plan_manifest_writes(tree)
    plain = Account(None)
    plain.run(writes)
    expected = published(plain.publisher)
    assert expected and max(expected.values()) == 1

    faults = Faults(seed)
    faults.fact_of = facts_of
    account = Account(faults)
    account.run(writes)
    faults.enabled = False  # the operator redrives once AWS is healthy again
    account.redrive()

    got = published(account.publisher)
    assert set(got) == set(expected), f"seed {seed}: lost {set(expected) - set(got)}"
    beyond = {fact: n for fact, n in got.items() if n - 1 > faults.window_facts[fact]}
    assert not beyond, f"seed {seed}: published twice outside the window: {beyond}"
    assert sum(faults.injected.values()) > 0  # the seed did inject faults


def test_the_seeds_inject_every_kind_of_fault() -> None:
    """Across the default seeds the runs meet errors on every port, partial PutEvents and kills."""
    kinds: Counter[str] = Counter()
    for tree in TREES:
        for seed in SEEDS:
            faults = Faults(seed)
            faults.fact_of = facts_of
            Account(faults).run(plan_manifest_writes(tree))
            kinds.update(faults.injected)
    assert kinds["PutEvents partial failure"] > 0
    assert any(k.startswith("kill") for k in kinds)
    for port in ["s3.read_chunks", "dynamodb.acquire", "dynamodb.record_published", "eventbridge.put"]:
        assert kinds[f"error {port}"] > 0, port
