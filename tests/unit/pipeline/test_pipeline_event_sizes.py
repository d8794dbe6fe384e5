"""Events stay under EventBridge's limits: each detail < 256 KB, each PutEvents <= 10 entries and 256 KiB."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

from gtproc.adapters.memory import MemoryPublisher
from gtproc.contract.events import OBJECTS_LABELED, VALIDATION_FAILED
from gtproc.usecases.ports import EventEntry
from gtproc.usecases.publishing import entry_size

from tests.unit.pipeline.pipeline_support import (
    Harness,
    final_key,
    intermediate_key,
    line,
    manifest,
    multi_attribute_snapshot,
    snapshot,
)

JOB = "cars-bbox"
LIMIT = 256 * 1024


class RecordingPublisher(MemoryPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[EventEntry]] = []

    def put(self, entries: Sequence[EventEntry]) -> list[int]:
        self.batches.append(list(entries))
        return super().put(entries)


def put_events_size(batch: list[EventEntry]) -> int:
    """PutEvents counts Source, DetailType and Detail (UTF-8) of every entry."""
    return sum(len(b"gtproc") + len(e.detail_type.encode()) + len(e.detail) for e in batch)


def assert_within_limits(publisher: RecordingPublisher) -> None:
    assert publisher.batches
    for batch in publisher.batches:
        assert 1 <= len(batch) <= 10
        assert put_events_size(batch) <= LIMIT
        assert sum(entry_size(e) for e in batch) <= LIMIT
        for entry in batch:
            assert len(entry.detail) < LIMIT


def test_three_thousand_big_objects_are_split_under_the_limits(make_harness) -> None:
    publisher = RecordingPublisher()
    h: Harness = make_harness(publisher=publisher)
    outcome = h.process(intermediate_key(JOB, 1), snapshot(JOB, 3000, labeled=range(3000), boxes=12, pad=1500))

    assert_within_limits(publisher)
    events = publisher.events
    total_bytes = sum(len(e.detail) for e in events)
    assert total_bytes > 10 * LIMIT  # big enough to need several events and several batches
    assert len(publisher.batches) >= 2
    assert all(len(e.detail) > LIMIT // 2 for e in events[:-1])  # events are filled, not one per object
    seen: Counter[str] = Counter()
    for entry in events:
        detail = json.loads(entry.detail)
        ids = [o["datasetObjectId"] for o in detail["objects"]]
        assert detail["count"] == len(ids)
        assert [str(f.index) for f in entry.facts] == ids  # the facts of an event are its objects
        seen.update(ids)
    assert seen == Counter({str(i): 1 for i in range(3000)})
    assert outcome.published == {OBJECTS_LABELED: 3000}
    assert outcome.put_events_calls == len(publisher.batches)


def test_validation_errors_are_split_too(make_harness) -> None:
    publisher = RecordingPublisher()
    h: Harness = make_harness(publisher=publisher)
    bad = b"".join(b'{"source-ref": "s3://bucket/' + b"k" * 300 + b'", [' + b"\n" for _ in range(4000))
    outcome = h.process(intermediate_key(JOB, 1), bad)

    assert_within_limits(publisher)
    details = h.details(VALIDATION_FAILED)
    assert len(details) >= 2
    assert sum(d["invalidCount"] for d in details) == 4000
    assert sorted(e["line"] for d in details for e in d["errors"]) == list(range(1, 4001))
    assert all(d["invalidCount"] == len(d["errors"]) for d in details)
    assert outcome.invalid_lines == 4000


def test_mixed_attributes_and_a_completion_respect_the_limits(make_harness) -> None:
    publisher = RecordingPublisher()
    h: Harness = make_harness(publisher=publisher)
    records = []
    for i in range(1200):
        record = json.loads(snapshot(JOB, 1, labeled=[0], boxes=8, pad=900))
        if i % 5 == 0:
            record = json.loads(snapshot(JOB, 1, labeled=[], failed=[0]))
        record["source-ref"] = f"s3://bucket/{i}.jpg"
        records.append(record)
    outcome = h.process(final_key(JOB), manifest(records))

    assert_within_limits(publisher)
    assert outcome.completed
    assert outcome.published["Objects Labeled"] == 960 and outcome.published["Objects Failed"] == 240


def test_small_events_are_batched_ten_per_put_events_call(make_harness) -> None:
    """25 own label attributes with one object each: 25 small events, sent as 10 + 10 + 5."""
    publisher = RecordingPublisher()
    h: Harness = make_harness(publisher=publisher)
    attributes = [f"attr-{n:02d}" for n in range(25)]
    outcome = h.process(intermediate_key(JOB, 1), multi_attribute_snapshot(JOB, 1, attributes, labeled=[0]))

    assert [len(b) for b in publisher.batches] == [10, 10, 5]
    assert outcome.put_events_calls == 3
    assert sorted(json.loads(e.detail)["labelAttributeName"] for e in publisher.events) == attributes


def test_an_object_too_large_for_any_event_is_published_without_its_label(make_harness) -> None:
    publisher = RecordingPublisher()
    h: Harness = make_harness(publisher=publisher)
    # Object 1 alone is over 256 KB: 6000 boxes with padding; its neighbours are ordinary.
    data = manifest(
        [line(0, JOB, labeled=True), line(1, JOB, labeled=True, boxes=6000, pad=100), line(2, JOB, labeled=True)]
    )
    outcome = h.process(intermediate_key(JOB, 1), data)

    assert outcome.published == {OBJECTS_LABELED: 3}
    assert_within_limits(publisher)
    objects = {o["datasetObjectId"]: o for e in publisher.events for o in json.loads(e.detail)["objects"]}
    assert objects["1"]["labelOmitted"] is True and objects["1"]["label"] is None
    assert "labelOmitted" not in objects["0"] and objects["0"]["label"]["annotations"]
    # The labels so far keep the whole label.
    [big] = [r for r in h.label_lines("gt-output-bucket/cars-bbox") if r["datasetObjectId"] == "1"]
    assert len(big["label"]["annotations"]) == 6000 and "labelOmitted" not in big
