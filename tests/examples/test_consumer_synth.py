"""The example consumer's CDK app: cdk-nag clean, its rule is the contract's pattern, its asset only its handler."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match
from gtproc.contract.consuming import event_pattern
from gtproc.contract.events import OBJECTS_LABELED

pytestmark = pytest.mark.infra


def test_cdk_nag_finds_nothing_unacknowledged(consumer_synth):
    (report,) = consumer_synth.report["pluginReports"]
    assert report["pluginName"] == "AwsSolutions" and report["conclusion"] == "success"
    assert report["violations"] == []
    assert [s["ruleName"] for s in report["suppressedViolations"]] == ["AwsSolutions-SQS3"]  # the DLQ itself


def test_the_rule_on_the_gtproc_bus_is_the_contracts_pattern_for_objects_labeled(consumer_synth):
    (rule,) = consumer_synth.of_type("AWS::Events::Rule").values()
    assert rule["Properties"]["EventBusName"] == "gtproc"
    assert rule["Properties"]["EventPattern"] == event_pattern([OBJECTS_LABELED])
    ((function_id, _),) = consumer_synth.of_type("AWS::Lambda::Function").items()
    ((queue_id, _),) = consumer_synth.of_type("AWS::SQS::Queue").items()
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_the_function_may_only_write_its_table_and_its_logs(consumer_synth):
    ((table_id, _),) = consumer_synth.of_type("AWS::DynamoDB::Table").items()
    ((logs_id, _),) = consumer_synth.of_type("AWS::Logs::LogGroup").items()
    statements = [
        statement
        for policy in consumer_synth.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert {(tuple(s["Action"]), str(s["Resource"])) for s in statements} == {
        (("logs:CreateLogStream", "logs:PutLogEvents"), str({"Fn::GetAtt": [logs_id, "Arn"]})),
        (("dynamodb:PutItem", "dynamodb:UpdateItem"), str([{"Fn::GetAtt": [table_id, "Arn"]}])),
    }
    consumer_synth.template.has_resource_properties("AWS::IAM::Role", {"ManagedPolicyArns": Match.absent()})


def test_the_function_asset_is_the_handler_alone(consumer_synth):
    (function,) = consumer_synth.of_type("AWS::Lambda::Function").values()
    assert function["Properties"]["Handler"] == "handler.handler"
    asset = consumer_synth.out / f"asset.{function['Properties']['Code']['S3Key'].removesuffix('.zip')}"
    files = sorted(p.relative_to(asset).as_posix() for p in asset.rglob("*") if p.is_file())
    assert files == ["handler.py"]
