"""`gtproc tail` on a moto server: the queue and rule it creates, what it prints, and that it always cleans up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from gtproc.adapters.tail import CREATED_TAG, NAME_PREFIX, TAG
from gtproc.cli.main import main
from gtproc.contract.events import LabeledObject, LabelingJobCompleted, ObjectsLabeled

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def labeled(job: str, *ids: int) -> dict[str, Any]:
    detail = ObjectsLabeled(
        job_name=job,
        bucket="gt-output",
        job_path=f"team/{job}",
        label_attribute_name=job,
        iteration=1,
        manifest_uri=f"s3://gt-output/team/{job}/manifests/intermediate/1/output.manifest",
        count=len(ids),
        objects=[
            LabeledObject(
                dataset_object_id=str(i),
                source_ref=f"s3://images/{i}.jpg",
                label=1,
                metadata={"class-name": "Duck", "confidence": 0.9},
                human_annotated=True,
            )
            for i in ids
        ],
    )
    return msgspec.to_builtins(detail)


def completed(job: str) -> dict[str, Any]:
    detail = LabelingJobCompleted(
        job_name=job,
        bucket="gt-output",
        job_path=f"team/{job}",
        manifest_uri=f"s3://gt-output/team/{job}/manifests/output/output.manifest",
        objects=3,
        labeled=2,
        failed=1,
        unlabeled=0,
        human_labeled=2,
        auto_labeled=0,
        invalid_lines=0,
        class_counts={"Duck": 2},
        labels_uri=f"s3://labels/labels/gt-output/team/{job}/",
    )
    return msgspec.to_builtins(detail)


def put(aws: Any, bus: str, detail_type: str, detail: dict[str, Any], source: str = "gtproc") -> None:
    entry = {"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail), "EventBusName": bus}
    assert aws.events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def tail_rules(aws: Any, bus: str) -> list[dict[str, Any]]:
    return aws.events.list_rules(EventBusName=bus, NamePrefix=NAME_PREFIX).get("Rules", [])


def tail_queues(aws: Any) -> list[str]:
    return aws.sqs.list_queues(QueueNamePrefix=NAME_PREFIX).get("QueueUrls", [])


def wait_for_rule(aws: Any, bus: str, seconds: float = 20) -> dict[str, Any]:
    """The tail's rule, once its target is in place (it is then ready to receive)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for rule in tail_rules(aws, bus):
            if aws.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]:
                return rule
        time.sleep(0.05)
    raise AssertionError(f"no tail rule on {bus}")


def alongside(action: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Run `action` in a thread while the tail runs in this one; its failures are kept to be raised after."""
    failures: list[BaseException] = []

    def guarded() -> None:
        try:
            action()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    return thread, failures


def finish(thread: threading.Thread, failures: list[BaseException]) -> None:
    thread.join(30)
    if failures:
        raise failures[0]


@pytest.fixture
def bus(aws: Any, request: pytest.FixtureRequest) -> str:
    name = "bus-" + request.node.name.replace("[", "-").replace("]", "")[:40]
    aws.events.create_event_bus(Name=name)
    yield name
    for rule in tail_rules(aws, name):  # only when a test failed halfway
        targets = aws.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=name)["Targets"]
        if targets:
            aws.events.remove_targets(Rule=rule["Name"], EventBusName=name, Ids=[t["Id"] for t in targets])
        aws.events.delete_rule(Name=rule["Name"], EventBusName=name)
    for url in tail_queues(aws):
        aws.sqs.delete_queue(QueueUrl=url)
    aws.events.delete_event_bus(Name=name)


def test_creates_an_encrypted_queue_and_its_rule_prints_each_event_then_deletes_both(aws, bus, capsys):
    seen: dict[str, Any] = {}

    def publish() -> None:
        rule = wait_for_rule(aws, bus)
        (target,) = aws.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        (url,) = tail_queues(aws)
        attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        seen.update(
            rule=rule,
            target=target,
            attributes=attributes,
            rule_tags=aws.events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"],
            queue_tags=aws.sqs.list_queue_tags(QueueUrl=url)["Tags"],
        )
        put(aws, bus, "Objects Labeled", labeled("cars", 0, 1), source="someone-else")  # not gtproc's
        put(aws, bus, "Objects Labeled", labeled("cars", 0, 1))
        put(aws, bus, "Labeling Job Completed", completed("cars"))

    thread, failures = alongside(publish)
    code = main(["tail", "--bus", bus, "--max-events", "2", "--timeout", "60"])
    finish(thread, failures)
    out, err = capsys.readouterr()

    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert "Objects Labeled" in lines[0] and "gt-output/team/cars: 2 labeled (cars, iteration 1): 0, 1" in lines[0]
    assert "Labeling Job Completed" in lines[1] and "3 objects: 2 labeled, 1 failed, 0 unlabeled" in lines[1]
    assert "Traceback" not in err
    # What it created: the queue encrypted with SSE-SQS, admitting only the rule; the rule targets it.
    queue_arn = seen["attributes"]["QueueArn"]
    assert seen["attributes"]["SqsManagedSseEnabled"] == "true"
    (statement,) = json.loads(seen["attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage" and statement["Resource"] == queue_arn
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": seen["rule"]["Arn"]}}
    assert seen["target"]["Arn"] == queue_arn
    assert json.loads(seen["rule"]["EventPattern"]) == {"source": ["gtproc"]}
    for tags in ({t["Key"]: t["Value"] for t in seen["rule_tags"]}, seen["queue_tags"]):
        assert tags[TAG] == "true" and abs(int(tags[CREATED_TAG]) - time.time()) < 120
    # ... and all of it is gone.
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []


def test_json_prints_whole_events_matching_the_detail_type_and_job(aws, bus, capsys):
    patterns = []

    def publish() -> None:
        patterns.append(json.loads(wait_for_rule(aws, bus)["EventPattern"]))
        put(aws, bus, "Objects Labeled", labeled("other-job", 5))
        put(aws, bus, "Labeling Job Completed", completed("cars"))
        put(aws, bus, "Objects Labeled", labeled("cars", 7))

    thread, failures = alongside(publish)
    argv = ["tail", "--bus", bus, "--detail-type", "Objects Labeled", "--job", "cars", "--json", "--max-events", "1"]
    code = main([*argv, "--timeout", "60"])
    finish(thread, failures)
    out, _ = capsys.readouterr()

    assert code == 0
    assert patterns == [{"source": ["gtproc"], "detail-type": ["Objects Labeled"], "detail": {"jobName": ["cars"]}}]
    (line,) = out.splitlines()
    event = json.loads(line)
    assert event["detail-type"] == "Objects Labeled" and event["source"] == "gtproc"
    assert event["detail"] == labeled("cars", 7)
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []


def test_timeout_with_fewer_events_exits_1_and_cleans_up(aws, bus, capsys):
    thread, failures = alongside(lambda: (wait_for_rule(aws, bus), put(aws, bus, "Objects Labeled", labeled("a", 1))))
    started = time.monotonic()
    code = main(["tail", "--bus", bus, "--max-events", "3", "--timeout", "2"])
    finish(thread, failures)
    out, err = capsys.readouterr()

    assert code == 1
    assert 2 <= time.monotonic() - started < 15
    assert len(out.splitlines()) == 1
    assert err.splitlines()[-1] == "gtproc tail: 2 s passed with 1 of 3 events"
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []


def test_timeout_without_max_events_exits_1_only_when_nothing_came(aws, bus, capsys):
    assert main(["tail", "--bus", bus, "--timeout", "1"]) == 1
    assert "1 s passed with 0 events" in capsys.readouterr().err
    thread, failures = alongside(lambda: (wait_for_rule(aws, bus), put(aws, bus, "Objects Labeled", labeled("a", 1))))
    assert main(["tail", "--bus", bus, "--timeout", "2"]) == 0
    finish(thread, failures)
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []


def test_a_missing_bus_exits_2_with_one_line_and_creates_nothing(aws, capsys):
    code = main(["tail", "--bus", "no-such-bus", "--timeout", "5"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err == "gtproc tail: bus no-such-bus does not exist\n"
    assert tail_queues(aws) == []


def test_stack_finds_the_bus_in_the_stacks_outputs(aws, bus, capsys):
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"EventBusName": {"Value": bus}, "TableName": {"Value": "t"}},
    }
    aws.cloudformation.create_stack(StackName="Gtproc", TemplateBody=json.dumps(template))
    thread, failures = alongside(lambda: (wait_for_rule(aws, bus), put(aws, bus, "Objects Labeled", labeled("a", 1))))
    try:
        code = main(["tail", "--stack", "Gtproc", "--max-events", "1", "--timeout", "60"])
        finish(thread, failures)
    finally:
        aws.cloudformation.delete_stack(StackName="Gtproc")
    out, _ = capsys.readouterr()
    assert code == 0 and "Objects Labeled" in out
    assert tail_rules(aws, bus) == []


def test_a_missing_stack_or_one_without_the_output_exits_2(aws, capsys):
    assert main(["tail", "--stack", "Nope", "--timeout", "1"]) == 2
    assert capsys.readouterr().err == "gtproc tail: stack Nope does not exist\n"
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": {"Other": {"Value": "x"}}}
    aws.cloudformation.create_stack(StackName="NotGtproc", TemplateBody=json.dumps(template))
    try:
        assert main(["tail", "--stack", "NotGtproc", "--timeout", "1"]) == 2
    finally:
        aws.cloudformation.delete_stack(StackName="NotGtproc")
    assert (
        capsys.readouterr().err == "gtproc tail: stack NotGtproc has no EventBusName output (is it a gtproc stack?)\n"
    )


def test_removes_tagged_leftovers_older_than_a_day_and_nothing_else(aws, bus, capsys):
    old, fresh = int(time.time()) - 2 * 86400, int(time.time()) - 3600

    def leftover(name: str, created: int | None) -> None:
        tags = {TAG: "true", CREATED_TAG: str(created)} if created else {}
        aws.sqs.create_queue(QueueName=name, tags=tags)
        aws.events.put_rule(
            Name=name,
            EventBusName=bus,
            EventPattern='{"source": ["gtproc"]}',
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )

    leftover(f"{NAME_PREFIX}{old}-dead", old)
    leftover(f"{NAME_PREFIX}{fresh}-alive", fresh)  # maybe another tail still running
    leftover(f"{NAME_PREFIX}untagged", None)  # not ours
    assert main(["tail", "--bus", bus, "--timeout", "1"]) == 1
    err = capsys.readouterr().err

    assert f"removed the leftover rule {NAME_PREFIX}{old}-dead" in err
    assert f"removed the leftover queue {NAME_PREFIX}{old}-dead" in err
    names = {rule["Name"] for rule in tail_rules(aws, bus)}
    queues = {url.rsplit("/", 1)[-1] for url in tail_queues(aws)}
    assert names == queues == {f"{NAME_PREFIX}{fresh}-alive", f"{NAME_PREFIX}untagged"}


def tail_process(env: dict[str, str], *args: str, **popen: Any) -> subprocess.Popen:
    """`gtproc tail` in a process of its own, buffered as in a shell (it flushes what it prints)."""
    command = [sys.executable, "-m", "gtproc", "tail", *args]
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"} | env
    return subprocess.Popen(command, env=full_env, cwd=ROOT, **popen)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_exits_0_after_deleting_the_rule_and_queue(aws, aws_env, bus, stop):
    process = tail_process(aws_env, "--bus", bus, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_rule(aws, bus)
        put(aws, bus, "Objects Labeled", labeled("cars", 3))
        first = process.stdout.readline()  # printed: the tail is in its receive loop
        process.send_signal(stop)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert "Objects Labeled" in first and out == ""
    assert process.returncode == 0, err
    assert "Traceback" not in err and "interrupted" not in err
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []


def test_human_lines_read_well_in_a_terminal(aws, aws_env, bus):
    import pty

    leader, follower = pty.openpty()
    process = tail_process(
        aws_env, "--bus", bus, "--max-events", "2", "--timeout", "60", stdout=follower, stderr=follower
    )
    os.close(follower)
    try:
        wait_for_rule(aws, bus)
        put(aws, bus, "Objects Labeled", labeled("cars", *range(12)))
        put(aws, bus, "Labeling Job Completed", completed("cars"))
        output = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the tail exited
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(30) == 0
    finally:
        process.kill()
        os.close(leader)
    text = output.decode()
    lines = text.split("\r\n")  # the terminal's line discipline turns each \n into \r\n
    assert lines[-1] == "" and "\x1b" not in text and "\r" not in "".join(lines)
    assert lines[0].startswith(f"gtproc tail: all events on bus {bus}")
    labeled_line = next(line for line in lines if "Objects Labeled" in line)
    assert labeled_line.endswith("12 labeled (cars, iteration 1): 0, 1, 2, 3, 4 +7")
    assert len(labeled_line) < 120
    assert any("Labeling Job Completed" in line for line in lines)


def test_credentials_that_may_not_create_the_rule_exit_2_and_the_queue_is_deleted(aws, bus, capsys, monkeypatch):
    from botocore.awsrequest import AWSResponse
    from gtproc.adapters import tail

    denial = (
        b'{"__type": "AccessDeniedException", "message": "User: arn:aws:iam::123456789012:user/ci is not'
        b' authorized to perform: events:PutRule"}'
    )

    class Raw:
        def stream(self, **_: Any) -> Any:
            yield denial

    def deny(request: Any, **_: Any) -> AWSResponse:  # AWS's own reply, parsed by botocore as usual
        return AWSResponse(request.url, 400, {"Content-Type": "application/x-amz-json-1.1"}, Raw())

    real = tail._clients

    def clients() -> tuple[Any, Any]:
        events, sqs = real()
        events.meta.events.register("before-send.events.PutRule", deny)
        return events, sqs

    monkeypatch.setattr(tail, "_clients", clients)
    code = main(["tail", "--bus", bus, "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"gtproc tail: cannot subscribe to bus {bus}: AccessDeniedException: User: arn:aws:iam::123456789012:user/ci"
        " is not authorized to perform: events:PutRule\n"
    )
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []  # the queue made before the rule is gone


def test_a_reader_that_stops_reading_ends_the_tail_cleanly(aws, aws_env, bus):
    process = tail_process(aws_env, "--bus", bus, "--json", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for_rule(aws, bus)
        put(aws, bus, "Objects Labeled", labeled("cars", 1))
        assert json.loads(process.stdout.readline())["detail-type"] == "Objects Labeled"
        process.stdout.close()  # as `| head -1` does
        for i in range(2, 5):
            put(aws, bus, "Objects Labeled", labeled("cars", i))
        assert process.wait(30) == 0
        err = process.stderr.read().decode()
    finally:
        process.kill()
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert tail_rules(aws, bus) == [] and tail_queues(aws) == []
