"""FindingsRun on its own: a run's findings packed into the frame of their origin (a manifest or a
streaming job's topic), put on the bus, recorded in the job session, and written as label lines."""

from __future__ import annotations

import json

from gtproc.adapters.memory import MemoryJobState, MemoryLabels, MemoryPublisher
from gtproc.domain.detection import FailedFinding, InvalidFinding, LabeledFinding, LineFailure, LineLabel
from gtproc.domain.groundtruth import LineError
from gtproc.domain.ledger import FactKey, FactKind
from gtproc.usecases.findings import FindingsRun, Origin
from gtproc.usecases.publish_once import JobSession, SessionTerms
from gtproc.usecases.publishing import MAX_DETAIL_BYTES

JOB_ID = "bucket/jobs/cats"
MANIFEST = Origin("cats", "bucket", "jobs/cats", 2, "s3://bucket/jobs/cats/manifests/intermediate/2/output.manifest")
TOPIC = Origin("cats", "bucket", "jobs/cats", topic_arn="arn:aws:sns:us-east-1:123456789012:cats-output")


class Run:
    def __init__(self, origin: Origin) -> None:
        self.state, self.labels, self.publisher = MemoryJobState(), MemoryLabels(), MemoryPublisher()
        session = JobSession.open(self.state, self.labels, JOB_ID, SessionTerms(), lambda: 1_000.0, lambda _: None)
        self.run = FindingsRun(session, self.publisher, self.labels, origin, lambda _: None)

    def details(self) -> list[tuple[str, dict]]:
        return [(entry.detail_type, json.loads(entry.detail)) for entry in self.publisher.events]

    def lines(self) -> list[dict]:
        parts = self.labels.parts.get(JOB_ID, {})
        return [json.loads(raw) for name in sorted(parts) for raw in parts[name].splitlines()]


def labeled(index: int, label: object = 1, publish: bool = True) -> LabeledFinding:
    obj = LineLabel(str(index), None, f"s3://in/{index}.jpg", label, {"class-name": "cat"}, True)
    return LabeledFinding(FactKey(FactKind.LABELED, "cats", index, index), obj, publish)


def failed(index: int, reason: str = "ClientError: Annotation tasks expired") -> FailedFinding:
    obj = LineFailure(str(index), None, f"s3://in/{index}.jpg", reason)
    return FailedFinding(FactKey(FactKind.FAILED, "cats", index, index), obj)


def invalid(line: int) -> InvalidFinding:
    return InvalidFinding(
        FactKey(FactKind.INVALID, "", line - 1, line), [LineError(line=line, code="json-invalid", message="bad")]
    )


def test_a_manifests_events_name_it_and_a_topics_name_the_topic_with_null_iteration_and_uri() -> None:
    seen = {}
    for name, origin in (("manifest", MANIFEST), ("topic", TOPIC)):
        r = Run(origin)
        r.run.observe([labeled(0), failed(1), invalid(3)])
        r.run.flush()
        r.run.commit(last_manifest="k", last_topic_arn=origin.topic_arn)
        seen[name] = {detail_type: detail for detail_type, detail in r.details()}
        assert r.run.published == {"Objects Labeled": 1, "Objects Failed": 1, "Validation Failed": 1}

    manifest, topic = seen["manifest"], seen["topic"]
    assert list(manifest["Objects Labeled"])[:6] == [
        "jobName", "bucket", "jobPath", "labelAttributeName", "iteration", "manifestUri"
    ]  # fmt: skip
    assert manifest["Objects Failed"]["iteration"] == 2 and "topicArn" not in manifest["Objects Failed"]
    assert list(manifest["Validation Failed"])[:4] == ["jobName", "bucket", "jobPath", "manifestUri"]
    for detail in topic.values():
        assert detail["topicArn"] == TOPIC.topic_arn and detail["manifestUri"] is None
    assert topic["Objects Labeled"]["iteration"] is None
    assert "labelAttributeName" not in topic["Validation Failed"]


def test_label_lines_follow_the_events_object_with_the_frame_and_only_once_on_the_bus() -> None:
    r = Run(TOPIC)
    r.run.observe([labeled(0), failed(1)])
    r.run.flush()
    r.run.commit(last_topic_arn=TOPIC.topic_arn)

    lines = r.lines()
    assert [(line["datasetObjectId"], line["status"]) for line in lines] == [("0", "labeled"), ("1", "failed")]
    assert list(lines[0]) == [
        "datasetObjectId", "sourceRef", "label", "metadata", "humanAnnotated",
        "labelAttributeName", "status", "iteration", "manifestUri", "topicArn",
    ]  # fmt: skip
    assert list(lines[1]) == [
        "datasetObjectId", "sourceRef", "failureReason",
        "labelAttributeName", "status", "iteration", "manifestUri", "topicArn",
    ]  # fmt: skip
    assert r.state.jobs[JOB_ID].summary["lastTopicArn"] == TOPIC.topic_arn


def test_an_object_too_large_for_any_event_goes_out_without_it_and_its_line_keeps_it_whole() -> None:
    r = Run(MANIFEST)
    huge = "x" * MAX_DETAIL_BYTES
    r.run.observe([labeled(0, label={"note": huge}), failed(1, reason=huge), labeled(2)])
    r.run.flush()
    r.run.commit(last_manifest="k")

    objects = {obj["datasetObjectId"]: obj for _, detail in r.details() for obj in detail["objects"]}
    assert objects["0"]["labelOmitted"] is True and objects["0"]["label"] is None
    assert objects["1"]["labelOmitted"] is True and objects["1"]["failureReason"] == "x" * 1000 + "..."
    assert "label" not in objects["1"]  # a failed object keeps the Objects Failed shape (its schema)
    assert "labelOmitted" not in objects["2"]
    assert all(len(entry.detail) <= MAX_DETAIL_BYTES for entry in r.publisher.events)
    whole = {line["datasetObjectId"]: line for line in r.lines()}
    assert whole["0"]["label"] == {"note": huge} and whole["1"]["failureReason"] == huge


def test_a_finding_a_dead_run_published_only_gets_its_label_line() -> None:
    r = Run(MANIFEST)
    r.run.observe([labeled(0, publish=False)])
    r.run.flush()
    r.run.commit(last_manifest="k")
    assert r.publisher.events == [] and r.run.published == {}
    assert [line["datasetObjectId"] for line in r.lines()] == ["0"]
    assert r.state.jobs[JOB_ID].version == 1  # committed: the line is written


def test_nothing_new_gives_the_lease_back_and_writes_nothing() -> None:
    r = Run(MANIFEST)
    r.run.observe([])
    r.run.flush()
    r.run.commit(last_manifest="k")
    job = r.state.jobs[JOB_ID]
    assert (job.owner, job.version) == (None, 0)
    assert r.labels.parts == {} and r.labels.ledgers == {}
