"""Streaming jobs (`streamingJobs`) and the job-status rule in the template, and their context key."""

from __future__ import annotations

import json

import pytest

from infra.config import ConfigError, GtprocConfig

pytestmark = pytest.mark.infra

TOPICS = {
    "arn:aws:sns:us-east-1:123456789012:pets-stream-output": "Pets-Stream",
    "arn:aws:sns:us-east-1:123456789012:cars-stream-output": "cars-stream",
}


def function_of(synth, handler: str) -> tuple[str, dict]:
    [(name, function)] = [
        (n, f) for n, f in synth.of_type("AWS::Lambda::Function").items() if f["Properties"].get("Handler") == handler
    ]
    return name, function


def policy_statements(synth, function_name: str) -> list[dict]:
    role = synth.resources[function_name]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_each_output_topic_is_subscribed_to_its_own_queue_with_a_dlq(streaming_synth) -> None:
    subscriptions = streaming_synth.of_type("AWS::SNS::Subscription").values()
    assert {s["Properties"]["TopicArn"] for s in subscriptions} == set(TOPICS)
    queues = streaming_synth.of_type("AWS::SQS::Queue")
    for subscription in subscriptions:
        props = subscription["Properties"]
        assert props["Protocol"] == "sqs"
        assert props.get("RawMessageDelivery", False) is False  # the envelope names the topic
        queue = queues[props["Endpoint"]["Fn::GetAtt"][0]]
        dlq_name = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
        assert queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0] == dlq_name
        assert queue["Properties"]["RedrivePolicy"]["maxReceiveCount"] == 5
    endpoints = [s["Properties"]["Endpoint"]["Fn::GetAtt"][0] for s in subscriptions]
    assert len(set(endpoints)) == 2


def test_the_streaming_function_reads_both_queues_and_knows_each_topics_job(streaming_synth) -> None:
    name, function = function_of(streaming_synth, "gtproc.handlers.streaming.handler")
    variables = function["Properties"]["Environment"]["Variables"]
    assert json.loads(variables["GTPROC_STREAMING_JOBS"]) == TOPICS
    assert "GTPROC_STREAMING_QUEUES" in variables  # queue ARN -> topic, for raw deliveries
    mappings = [
        m for m in streaming_synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": name}
    ]  # fmt: skip
    assert len(mappings) == 2
    assert all(m["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"] for m in mappings)


def test_the_streaming_function_describes_only_its_jobs(streaming_synth) -> None:
    name, _ = function_of(streaming_synth, "gtproc.handlers.streaming.handler")
    statements = policy_statements(streaming_synth, name)
    [describe] = [s for s in statements if s["Action"] == "sagemaker:DescribeLabelingJob"]
    resources = json.dumps(describe["Resource"])
    assert "labeling-job/pets-stream" in resources and "labeling-job/cars-stream" in resources
    assert "*" not in resources
    actions = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "events:PutEvents" in actions and "dynamodb:ConditionCheckItem" in actions


def test_the_job_status_rule_routes_sagemaker_state_changes_to_its_function(default_synth) -> None:
    rules = [
        r for r in default_synth.of_type("AWS::Events::Rule").values()
        if r["Properties"]["EventPattern"].get("source") == ["aws.sagemaker"]
    ]  # fmt: skip
    [rule] = rules
    assert rule["Properties"]["EventPattern"]["detail-type"] == ["SageMaker Ground Truth Labeling Job State Change"]
    assert "DeadLetterConfig" in rule["Properties"]["Targets"][0]
    name, _ = function_of(default_synth, "gtproc.handlers.job_status.handler")
    mappings = [
        m for m in default_synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": name}
    ]  # fmt: skip
    assert len(mappings) == 1


def test_without_streaming_jobs_there_is_no_streaming_function(default_synth) -> None:
    handlers = {f["Properties"].get("Handler") for f in default_synth.of_type("AWS::Lambda::Function").values()}
    assert "gtproc.handlers.streaming.handler" not in handlers
    assert default_synth.of_type("AWS::SNS::Subscription") == {}


def test_streaming_alarms_watch_each_queue(streaming_synth) -> None:
    descriptions = [
        a["Properties"].get("AlarmDescription", "") for a in streaming_synth.of_type("AWS::CloudWatch::Alarm").values()
    ]
    assert sum(d.startswith("StreamingJob") and "dead-letter" in d for d in descriptions) == 2
    assert any(d.startswith("JobStatus") and "dead-letter" in d for d in descriptions)


@pytest.mark.parametrize(
    "value",
    [
        '[{"jobName": "pets"}]',  # no topic
        '[{"jobName": "pets", "outputTopicArn": "arn:aws:sqs:us-east-1:123456789012:q"}]',  # not a topic
        '[{"jobName": "pets", "outputTopicArn": "arn:aws:sns:us-east-1:123456789012:t", "raw": true}]',
        '[{"jobName": "pets_1", "outputTopicArn": "arn:aws:sns:us-east-1:123456789012:t"}]',
        '[{"jobName": "a", "outputTopicArn": "arn:aws:sns:us-east-1:123456789012:t"},'
        ' {"jobName": "A", "outputTopicArn": "arn:aws:sns:us-east-1:123456789012:u"}]',  # the same job twice
        "{not json",
    ],
)
def test_bad_streaming_jobs_fail_the_synth_naming_the_key(value: str) -> None:
    with pytest.raises(ConfigError, match="streamingJobs"):
        GtprocConfig.from_mapping({"streamingJobs": value})


def test_streaming_jobs_parse_from_cdk_json_lists_and_cli_strings() -> None:
    entry = {"jobName": "pets", "outputTopicArn": "arn:aws:sns:us-east-1:123456789012:t"}
    from_list = GtprocConfig.from_mapping({"streamingJobs": [entry]})
    from_string = GtprocConfig.from_mapping({"streamingJobs": json.dumps([entry])})
    assert from_list == from_string
    assert from_list.streaming_jobs[0].output_topic_arn == entry["outputTopicArn"]
