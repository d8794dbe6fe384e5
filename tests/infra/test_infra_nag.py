"""cdk-nag (AWS Solutions) runs on every synth: no unacknowledged finding, every acknowledgment reasoned."""

from __future__ import annotations

import pytest
from aws_cdk import Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match

from infra.app import build_app

pytestmark = pytest.mark.infra


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth", "streaming_synth"])
def test_no_unacknowledged_findings(request, synth):
    synth = request.getfixturevalue(synth)
    (report,) = synth.validation_report()["pluginReports"]
    assert report["pluginName"] == "AwsSolutions"
    assert report["conclusion"] == "success"
    assert report["violations"] == []
    for suppressed in report["suppressedViolations"]:
        assert len(suppressed["reason"]) > 20, suppressed["ruleName"]
    annotations = Annotations.from_stack(synth.stack)
    annotations.has_no_error("*", Match.any_value())
    annotations.has_no_warning("*", Match.any_value())


def test_a_finding_fails_the_synth(tmp_path):
    app = build_app({"aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    (stack,) = [child for child in app.node.children if isinstance(child, Stack)]
    sqs.Queue(stack, "Unencrypted", encryption=sqs.QueueEncryption.UNENCRYPTED)  # SQS2, SQS3, SQS4
    with pytest.raises(Exception, match="AwsSolutions-SQS"):
        app.synth()


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth", "streaming_synth"])
def test_acknowledgments_say_exactly_what_is_allowed(request, synth):
    synth = request.getfixturevalue(synth)
    (report,) = synth.validation_report()["pluginReports"]
    reasons = {(s["ruleName"], s["reason"]) for s in report["suppressedViolations"]}
    managed = [reason for rule, reason in reasons if "IAM4" in rule]
    assert managed and all(
        "logs:CreateLogGroup, logs:CreateLogStream and logs:PutLogEvents on any log group" in r for r in managed
    )
    s3_wildcards = [reason for rule, reason in reasons if "IAM5" in rule and "s3:" in reason]
    assert s3_wildcards
    for reason in s3_wildcards:  # the actions and the key pattern, nothing broader
        assert reason.startswith(
            (
                "Only s3:GetObject of the keys matching",
                "Only s3:PutObject of the keys",
                "Only s3:GetObject and s3:PutObject of the keys",
            )
        ), reason
