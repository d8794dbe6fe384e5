"""The manifests pipeline's publish-once parts on their own, over the in-memory adapters: the job
session (lease, journal, ledger), the labels-part writer and the batch sender."""

from __future__ import annotations

import msgspec
import pytest
from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryPublisher
from gtproc.contract import labels as labels_contract
from gtproc.contract.labels import LabelsWriter
from gtproc.domain.ledger import FactKey, FactKind, Ledger
from gtproc.usecases.ports import EventEntry, JournalFailed, LeaseHeld, PublishFailed
from gtproc.usecases.publish_once import JobSession, SessionTerms
from gtproc.usecases.publishing import BatchSender

JOB = "bucket/jobs/cats"
TERMS = SessionTerms(lease_seconds=60, lease_wait_seconds=0, journal_attempts=3)


def fact(index: int) -> FactKey:
    return FactKey(FactKind.LABELED, "cats", index, 1000 + index)


def entry(*indexes: int, detail: bytes = b"{}") -> EventEntry:
    return EventEntry("Objects Labeled", detail, tuple(fact(i) for i in indexes), tuple(b"%d\n" % i for i in indexes))


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def open_session(state: MemoryJobState, labels: MemoryLabels, clock: Clock, **terms: object) -> JobSession:
    chosen = msgspec.structs.replace(TERMS, **terms)
    return JobSession.open(state, labels, JOB, chosen, clock, clock.sleep)


class FlakyJournal(MemoryJobState):
    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def record_published(self, lease, facts, now):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise ConnectionError("DynamoDB unreachable")
        super().record_published(lease, facts, now)


# ---- the session --------------------------------------------------------------------------------


def test_a_committed_session_is_what_the_next_one_starts_from():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    first = open_session(state, labels, clock)
    assert (first.lease.version, first.new_version, first.recovered) == (0, 1, [])
    first.record([entry(0, 1)])
    first.commit("jobs/cats/manifests/intermediate/1/output.manifest")
    assert state.jobs[JOB].summary == {
        "lastManifest": "jobs/cats/manifests/intermediate/1/output.manifest",
        "labeled": 2,
        "failed": 0,
        "completed": False,
    }
    second = open_session(state, labels, clock)
    assert second.lease.version == 1 and second.recovered == []
    assert second.ledger.known(FactKind.LABELED, "cats", 1, 1001)
    assert Ledger.from_bytes(labels.ledgers[JOB]).version == 1


def test_a_streaming_runs_commit_names_the_topic_it_read():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    session = open_session(state, labels, clock)
    session.record([entry(0)])
    session.commit(last_topic_arn="arn:aws:sns:us-east-1:123456789012:cats-output")
    assert state.jobs[JOB].summary == {
        "lastTopicArn": "arn:aws:sns:us-east-1:123456789012:cats-output",
        "labeled": 1,
        "failed": 0,
        "completed": False,
    }


def test_a_dead_runs_journal_is_folded_into_the_next_session():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    dead = open_session(state, labels, clock)
    dead.record([entry(4)])  # on the bus and journaled, then the instance is gone: no commit, no release
    clock.now += 61  # its lease runs out
    retry = open_session(state, labels, clock)
    assert retry.recovered == [fact(4)]
    assert retry.ledger.known(FactKind.LABELED, "cats", 4, 1004)
    assert retry.new_version == dead.new_version  # the retry commits the version the dead run would have


def test_a_live_lease_holds_off_a_second_session_and_release_lets_it_in():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    first = open_session(state, labels, clock)
    with pytest.raises(LeaseHeld):
        open_session(state, labels, clock)
    first.release()
    assert open_session(state, labels, clock).lease.version == 0


def test_opening_waits_for_the_lease_with_backoff_then_gives_up():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    open_session(state, labels, clock)
    with pytest.raises(LeaseHeld):
        open_session(state, labels, clock, lease_wait_seconds=5.0)
    assert clock.slept == [0.25, 0.5, 1.0, 2.0]  # gives up before its wait is over


def test_a_deadline_bounds_the_lease_to_the_run():
    state, labels, clock = MemoryJobState(), MemoryLabels(), Clock()
    JobSession.open(state, labels, JOB, TERMS, clock, clock.sleep, deadline=clock.now + 30)
    assert state.jobs[JOB].expires == clock.now + 30 + TERMS.lease_grace_seconds


def test_a_journal_write_that_fails_is_retried():
    state, labels, clock = FlakyJournal(failures=2), MemoryLabels(), Clock()
    session = open_session(state, labels, clock)
    session.record([entry(0)])
    assert state.published_since(JOB, 0) == [fact(0)]
    assert len(clock.slept) == 2


def test_a_journal_that_keeps_failing_raises_with_the_facts_in_the_ledger():
    state, labels, clock = FlakyJournal(failures=3), MemoryLabels(), Clock()
    session = open_session(state, labels, clock)
    accepted = [entry(0, 1)]
    with pytest.raises(JournalFailed) as raised:
        session.record(accepted)
    assert raised.value.entries == tuple(accepted)
    assert session.ledger.known(FactKind.LABELED, "cats", 1, 1001)  # committing this keeps a retry from republishing
    session.commit("m")
    assert Ledger.from_bytes(labels.ledgers[JOB]).known(FactKind.LABELED, "cats", 0, 1000)


# ---- the labels-part writer -----------------------------------------------------------------------


def test_labels_are_written_in_parts_named_by_version_and_run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(labels_contract, "LABELS_PART_BYTES", 10)
    labels = MemoryLabels()
    writer = LabelsWriter(labels, JOB, 3, "0123456789abcdef")
    writer.add([b"12345\n"])
    assert labels.parts == {}
    writer.add([b"67890\n"])  # 12 bytes: a part is full
    writer.add([b"x\n"])
    writer.flush()
    writer.flush()  # nothing left: no empty part
    assert labels.parts[JOB] == {
        "00000003-0123456789ab-0000": b"12345\n67890\n",
        "00000003-0123456789ab-0001": b"x\n",
    }


def test_unwritten_labels_are_the_recovered_facts_without_a_line_in_this_versions_parts():
    labels = MemoryLabels()
    line = {"datasetObjectId": "0", "labelAttributeName": "cats", "status": "labeled"}
    labels.parts[JOB] = {"00000002-deadrun00000-0000": msgspec.json.encode(line) + b"\n"}
    labels.parts[JOB]["00000001-older0000000-0000"] = msgspec.json.encode({**line, "datasetObjectId": "1"}) + b"\n"
    writer = LabelsWriter(labels, JOB, 2, "retry")
    assert writer.unwritten([fact(0), fact(1), FactKey(FactKind.INVALID, "", 5, 0)]) == {("labeled", "cats", 1)}


# ---- the batch sender -----------------------------------------------------------------------------


def test_the_sender_yields_each_calls_accepted_entries_and_retries_the_rest():
    publisher = MemoryPublisher(fail_next=[{1}])
    sender = BatchSender(publisher, sleep=lambda _: None)
    batch = [entry(0), entry(1), entry(2)]
    assert list(sender.put(batch)) == [[batch[0], batch[2]], [batch[1]]]
    assert (sender.calls, sender.published) == (2, 3)


def test_the_sender_cuts_batches_at_ten_entries():
    sender = BatchSender(MemoryPublisher(), sleep=lambda _: None)
    entries = [entry(i) for i in range(11)]
    full = [sender.add(e) for e in entries]
    assert full[:10] == [[]] * 10 and full[10] == entries[:10]
    assert sender.take() == entries[10:] and sender.take() == []


def test_the_sender_raises_for_what_is_never_accepted_after_yielding_what_was():
    publisher = MemoryPublisher(fail_next=[{0}] * 4)
    sender = BatchSender(publisher, sleep=lambda _: None)
    accepted = []
    with pytest.raises(PublishFailed, match="1 events were not accepted"):
        for done in sender.put([entry(0), entry(1)]):
            accepted.extend(done)
    assert accepted == [entry(1)]
