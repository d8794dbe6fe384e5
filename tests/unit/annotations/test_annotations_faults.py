"""Property: under seeded faults (transient errors on every port, partial PutEvents, instances killed
with no cleanup, duplicate deliveries) the annotations pipeline publishes the plain run's facts, each
once, except within the counted window (a kill between PutEvents and the mark). A fact published twice
is always the same event: the claim recorded it."""

from __future__ import annotations

import heapq
import json
import random
from collections import defaultdict
from typing import Any

import pytest
from gtproc.adapters.memory import MemoryAnnotationStore, MemoryBlobs, MemoryJobs, MemoryPublisher
from gtproc.local.faults import Faults, Faulty, InstanceKilled
from gtproc.usecases.consolidate_annotations import AnnotationsConfig, ConsolidateAnnotations
from gtproc.usecases.ports import EventEntry

from tests.unit.annotations.annotations_support import BUCKET, CARS_TREE, FLOWERS_TREE, tree_files

TREES = [FLOWERS_TREE, CARS_TREE]
SEEDS = range(3)
TIMEOUT, VISIBILITY, MAX_RECEIVES = 300.0, 1800.0, 5


def fact_of(entry: EventEntry) -> list[tuple[Any, ...]]:
    d = json.loads(entry.detail)
    return [(entry.detail_type, d["bucket"], d["jobPath"], d["iteration"], d["datasetObjectId"])]


class Account:
    def __init__(self, faults: Faults | None) -> None:
        self.now = 1_700_000_000.0
        self.blobs, self.store, self.publisher = MemoryBlobs(), MemoryAnnotationStore(), MemoryPublisher()
        ports: list[Any] = [self.blobs, MemoryJobs(), self.store, self.publisher]
        self.faults = faults
        if faults is not None:
            names = ["s3", "sagemaker", "dynamodb", "eventbridge"]
            ports = [Faulty(port, faults, name) for port, name in zip(ports, names, strict=True)]
        config = AnnotationsConfig(results_bucket="results")
        self.use_case = ConsolidateAnnotations(*ports, config, clock=lambda: self.now, sleep=self._sleep)
        self.queue: list[tuple[float, int, str, int]] = []
        self.dlq: list[str] = []
        self.seq = 0
        self.rng = random.Random(faults.seed if faults else 0)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds

    def send(self, key: str, at: float, receives: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (at, self.seq, key, receives))

    def run(self, writes: list[tuple[str, bytes]]) -> None:
        pending = [(self.now + i * 5.0, key, body) for i, (key, body) in enumerate(writes)]
        while pending or self.queue:
            if pending and (not self.queue or pending[0][0] <= self.queue[0][0]):
                at, key, body = pending.pop(0)
                self.now = max(self.now, at)
                self.blobs.objects[(BUCKET, key)] = body
                self.send(key, self.now)
                if self.faults is not None and self.rng.random() < 0.2:  # at-least-once delivery
                    self.send(key, self.now + self.rng.uniform(0, 60))
                continue
            visible, _, key, receives = heapq.heappop(self.queue)
            self.now = max(self.now, visible)
            self.invoke(key, receives + 1)

    def invoke(self, key: str, receives: int) -> None:
        start = self.now
        if self.faults is not None:
            self.faults.revive()
        try:
            self.use_case(BUCKET, key)
        except InstanceKilled:
            self.now = start + TIMEOUT
            self.retry(key, receives, start)
            return
        except Exception:
            if self.faults is not None:
                self.faults.run_ended()
            self.retry(key, receives, start)
            return
        self.now += 0.5

    def retry(self, key: str, receives: int, start: float) -> None:
        if receives >= MAX_RECEIVES:
            self.dlq.append(key)
        else:
            self.send(key, start + VISIBILITY, receives)

    def redrive(self) -> None:
        keys, self.dlq = self.dlq, []
        for key in keys:
            self.send(key, self.now)
        self.run([])


def writes_of(tree) -> list[tuple[str, bytes]]:
    files = tree_files(tree, "worker-response", "consolidation-response")
    # A job's worker responses of an iteration land before Ground Truth's consolidation of it.
    order = sorted(files, key=lambda key: ("consolidation-response" in key, key))
    return [(key, files[key].read_bytes()) for key in order]


def events_by_fact(publisher: MemoryPublisher) -> dict[tuple[Any, ...], list[bytes]]:
    found: dict[tuple[Any, ...], list[bytes]] = defaultdict(list)
    for entry in publisher.events:
        for fact in fact_of(entry):
            found[fact].append(entry.detail)
    return found


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("tree", TREES, ids=lambda tree: tree.name)
def test_annotation_faults_never_lose_repeat_or_change_a_fact(tree, seed: int) -> None:
    writes = writes_of(tree)
    plain = Account(None)
    plain.run(writes)
    expected = events_by_fact(plain.publisher)
    assert expected and all(len(v) == 1 for v in expected.values())

    faults = Faults(seed)
    faults.fact_of = fact_of
    account = Account(faults)
    account.run(writes)
    faults.enabled = False
    account.redrive()

    got = events_by_fact(account.publisher)
    assert set(got) == set(expected), f"seed {seed}: lost {set(expected) - set(got)}"
    for fact, details in got.items():
        assert len(details) - 1 <= faults.window_facts[fact], f"seed {seed}: {fact} published {len(details)} times"
        assert len({json.dumps(json.loads(d), sort_keys=True) for d in details}) == 1, f"{fact}: two labels"
    assert sum(faults.injected.values()) > 0  # the seed did inject faults
