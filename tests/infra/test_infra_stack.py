"""The synthesized template: pipelines built from gtproc.contract, queues, table, bus, functions, alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match
from gtproc.contract import ANNOTATION_KEY_PATTERNS, MANIFEST_KEY_PATTERNS, object_created_pattern
from gtproc.contract.layout import INTERMEDIATE_ANNOTATIONS_PATTERNS
from gtproc.settings import env_name, field_names

pytestmark = pytest.mark.infra

HANDLERS = {
    "gtproc.handlers.manifests.handler": MANIFEST_KEY_PATTERNS,
    "gtproc.handlers.annotations.handler": ANNOTATION_KEY_PATTERNS,
}
POST_ANNOTATION = "gtproc.handlers.post_annotation.handler"


def gtproc_functions(synth) -> dict[str, dict[str, Any]]:
    return {
        k: v
        for k, v in synth.of_type("AWS::Lambda::Function").items()
        if v["Properties"].get("Handler", "").startswith("gtproc.")
    }


def function_id(synth, handler: str) -> str:
    (logical_id,) = [k for k, v in gtproc_functions(synth).items() if v["Properties"]["Handler"] == handler]
    return logical_id


def pipeline_of(synth, handler: str) -> tuple[dict, dict, str]:
    """(rule, queue, dead-letter queue's logical id) feeding the function with `handler`."""
    fn = function_id(synth, handler)
    (mapping,) = [
        v
        for v in synth.of_type("AWS::Lambda::EventSourceMapping").values()
        if v["Properties"]["FunctionName"] == {"Ref": fn}
    ]
    queue_id = mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
    (rule,) = [
        v
        for v in synth.of_type("AWS::Events::Rule").values()
        if v["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    queue = synth.resources[queue_id]
    return rule, queue, queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]


def output_bucket_ref(synth) -> dict[str, str]:
    """The created bucket that sends its events to EventBridge (the only one)."""
    (notifications,) = synth.of_type("Custom::S3BucketNotifications").values()
    return notifications["Properties"]["BucketName"]


# --- pipelines ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("handler", HANDLERS)
def test_rule_pattern_is_the_contracts_pattern(default_synth, handler):
    rule, _, _ = pipeline_of(default_synth, handler)
    expected = object_created_pattern(output_bucket_ref(default_synth), HANDLERS[handler])
    assert rule["Properties"]["EventPattern"] == expected
    assert "EventBusName" not in rule["Properties"]  # S3 events arrive on the default bus


@pytest.mark.parametrize("handler", HANDLERS)
def test_rule_pattern_with_key_prefix_and_imported_bucket(imported_synth, handler):
    rule, _, _ = pipeline_of(imported_synth, handler)
    expected = object_created_pattern("my-gt-output", HANDLERS[handler], "jobs")
    assert rule["Properties"]["EventPattern"] == expected
    assert expected["detail"]["object"]["key"][0]["wildcard"].startswith("jobs/*/")


@pytest.mark.parametrize("handler", HANDLERS)
def test_queue_has_dlq_sse_and_visibility_of_six_timeouts(default_synth, handler):
    rule, queue, dlq_id = pipeline_of(default_synth, handler)
    dlq = default_synth.resources[dlq_id]
    timeout = gtproc_functions(default_synth)[function_id(default_synth, handler)]["Properties"]["Timeout"]
    props = queue["Properties"]
    assert props["RedrivePolicy"]["maxReceiveCount"] == 5
    assert props["VisibilityTimeout"] >= 6 * timeout
    assert props["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["SqsManagedSseEnabled"] is True
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # Events EventBridge cannot deliver to the queue are kept in the DLQ too.
    assert rule["Properties"]["Targets"][0]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][1] == "Arn"


def test_queues_deny_insecure_transport_and_allow_eventbridge(default_synth):
    policies = default_synth.of_type("AWS::SQS::QueuePolicy").values()
    assert len(policies) == 6  # queue and DLQ of both pipelines and of the job-status rule
    for policy in policies:
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in str(s["Condition"]) for s in statements)
        assert any(s.get("Principal") == {"Service": "events.amazonaws.com"} for s in statements)


def test_event_source_mappings_report_batch_item_failures(default_synth):
    mappings = default_synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert len(mappings) == 3  # both pipelines and the job-status rule
    for mapping in mappings:
        props = mapping["Properties"]
        assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert props["BatchSize"] == 10
        assert props["MaximumBatchingWindowInSeconds"] == 5


# --- storage, state, bus --------------------------------------------------------------------------------


def test_table_keys_on_demand_pitr_ttl(default_synth):
    default_synth.template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "AttributeDefinitions": Match.array_with([{"AttributeName": "pk", "AttributeType": "S"}]),
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": "expiresAt", "Enabled": True},
            "SSESpecification": {"SSEEnabled": True},
        },
    )


def test_created_bus_and_archive(default_synth):
    default_synth.template.resource_count_is("AWS::Events::EventBus", 1)
    default_synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": "gtproc"})
    default_synth.template.has_resource_properties(
        "AWS::Events::Archive", {"EventPattern": {"source": ["gtproc"]}, "RetentionDays": 30}
    )


def test_imported_bus_creates_none(imported_synth):
    imported_synth.template.resource_count_is("AWS::Events::EventBus", 0)
    imported_synth.template.resource_count_is("AWS::Events::Archive", 0)


def test_created_output_bucket_sends_events_to_eventbridge(default_synth):
    bucket_id = output_bucket_ref(default_synth)["Ref"]
    assert "GroundTruth" in bucket_id  # generated name matches AmazonSageMakerGroundTruthExecution's S3 rule
    bucket = default_synth.resources[bucket_id]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "LoggingConfiguration" in bucket
    assert bucket["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
    assert "BucketEncryption" in bucket
    default_synth.template.has_resource_properties(
        "Custom::S3BucketNotifications",
        {
            "BucketName": output_bucket_ref(default_synth),
            "NotificationConfiguration": {"EventBridgeConfiguration": {}},
            "Managed": True,
        },
    )


def test_imported_output_bucket_creates_no_bucket_and_merges_notifications(imported_synth):
    buckets = imported_synth.of_type("AWS::S3::Bucket")
    assert not [k for k in buckets if "GroundTruthOutput" in k]
    assert len(buckets) == 2  # labels and access logs
    notifications = imported_synth.of_type("Custom::S3BucketNotifications")
    assert [n["Properties"]["BucketName"] for n in notifications.values()] == ["my-gt-output"]
    (props,) = [n["Properties"] for n in notifications.values()]
    assert props["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}
    assert props["Managed"] is False  # keeps the bucket's existing SNS/SQS/Lambda notifications


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_labels_bucket_has_no_notifications(request, synth):
    synth = request.getfixturevalue(synth)
    (labels_id,) = [k for k in synth.of_type("AWS::S3::Bucket") if "Labels" in k]
    labels = synth.resources[labels_id]["Properties"]
    assert "NotificationConfiguration" not in labels
    for notification in synth.of_type("Custom::S3BucketNotifications").values():
        assert notification["Properties"]["BucketName"] != {"Ref": labels_id}
    assert {"AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}, "Status": "Enabled"} in labels[
        "LifecycleConfiguration"
    ]["Rules"]
    assert "BucketEncryption" in labels
    assert labels["PublicAccessBlockConfiguration"]["RestrictPublicBuckets"] is True


# --- functions --------------------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    return {env_name(name) for name in field_names()}


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_functions_environment_matches_settings(request, synth):
    synth = request.getfixturevalue(synth)
    powertools = {"POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE", "POWERTOOLS_LOG_LEVEL"}
    for function in gtproc_functions(synth).values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert set(variables) == settings_variables() | powertools | {"OPENBLAS_NUM_THREADS"}
        assert variables["OPENBLAS_NUM_THREADS"] == "1"  # numpy's BLAS threads only take a fraction of a vCPU
        assert variables["POWERTOOLS_SERVICE_NAME"] == variables["POWERTOOLS_METRICS_NAMESPACE"] == "gtproc"
        assert variables["GTPROC_LABELS_PREFIX"] == "labels"
        assert variables["GTPROC_EVENT_SOURCE"] == "gtproc"


def test_environment_of_imported_variant(imported_synth):
    for function in gtproc_functions(imported_synth).values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["GTPROC_EVENT_BUS_NAME"] == "existing-bus"
        assert variables["GTPROC_KEY_PREFIX"] == "jobs"


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_function_runtime_settings(request, synth):
    synth = request.getfixturevalue(synth)
    (layer_id,) = synth.of_type("AWS::Lambda::LayerVersion")
    for function in gtproc_functions(synth).values():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["x86_64"]
        assert props["Timeout"] == 300
        assert props["TracingConfig"] == {"Mode": "Active"}
        assert props["Layers"] == [{"Ref": layer_id}]
    manifests = gtproc_functions(synth)[function_id(synth, "gtproc.handlers.manifests.handler")]
    assert manifests["Properties"]["MemorySize"] == (1024 if synth.outdir.name.startswith("cdk-default") else 2048)


def test_post_annotation_lambda_is_off_by_default(default_synth):
    assert POST_ANNOTATION not in {f["Properties"]["Handler"] for f in gtproc_functions(default_synth).values()}


def test_post_annotation_lambda_when_enabled(imported_synth):
    props = gtproc_functions(imported_synth)[function_id(imported_synth, POST_ANNOTATION)]["Properties"]
    assert "SageMaker" in props["FunctionName"]  # invokable under AmazonSageMakerGroundTruthExecution
    statements = role_statements(imported_synth, POST_ANNOTATION)
    actions = {a for s in statements for a in listify(s["Action"])}
    assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "s3:GetObject", "s3:ListBucket"} <= actions
    assert "jobs/*/annotations/consolidated-annotation/consolidation-request/*" in str(statements)
    # It writes only consolidated segmentation masks, where Ground Truth writes its own.
    writes = [s for s in statements if "s3:PutObject" in listify(s["Action"])]
    assert writes and all("consolidated-annotation/output/*" in str(s["Resource"]) for s in writes)
    assert not {a for a in actions if a.startswith(("s3:Delete", "s3:Abort"))}


def listify(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(synth, handler: str) -> list[dict[str, Any]]:
    role_id = gtproc_functions(synth)[function_id(synth, handler)]["Properties"]["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grants(default_synth):
    manifests = {
        a for s in role_statements(default_synth, "gtproc.handlers.manifests.handler") for a in listify(s["Action"])
    }
    annotations = {
        a for s in role_statements(default_synth, "gtproc.handlers.annotations.handler") for a in listify(s["Action"])
    }
    for actions in (manifests, annotations):
        assert {"s3:GetObject", "s3:ListBucket", "dynamodb:PutItem", "dynamodb:Query", "events:PutEvents"} <= actions
        # Only what the code calls: no wildcard S3 action, no delete, no multipart abort.
        assert {a for a in actions if a.startswith("s3:")} <= {"s3:GetObject", "s3:PutObject", "s3:ListBucket"}
    assert "s3:PutObject" in manifests  # labels bucket
    # The annotations function writes only consolidated masks, in the labels bucket.
    annotation_writes = [
        s
        for s in role_statements(default_synth, "gtproc.handlers.annotations.handler")
        if "s3:PutObject" in listify(s["Action"])
    ]
    assert annotation_writes and all("/consolidated/*" in str(s["Resource"]) for s in annotation_writes)
    manifest_writes = [
        s
        for s in role_statements(default_synth, "gtproc.handlers.manifests.handler")
        if "s3:PutObject" in listify(s["Action"])
    ]
    assert {"/labels/*", "/state/*"} <= {p for s in manifest_writes for p in ("/labels/*", "/state/*") if p in str(s)}
    assert "sagemaker:DescribeLabelingJob" in annotations
    (describe,) = [
        s
        for s in role_statements(default_synth, "gtproc.handlers.annotations.handler")
        if s["Action"] == "sagemaker:DescribeLabelingJob"
    ]
    assert describe["Resource"]["Fn::Join"][1][-1] == ":labeling-job/*"
    assert {"Ref": "AWS::AccountId"} in describe["Resource"]["Fn::Join"][1]


# --- alarms and outputs ---------------------------------------------------------------------------------


def alarms(synth) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_alarms_on_dead_letters_and_errors(request, synth):
    synth = request.getfixturevalue(synth)
    for handler in HANDLERS:
        _, _, dlq_id = pipeline_of(synth, handler)
        assert any(
            a["MetricName"] == "ApproximateNumberOfMessagesVisible"
            and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}]
            and a["Threshold"] == 0
            and a["ComparisonOperator"] == "GreaterThanThreshold"
            for a in alarms(synth)
        )
    for fn in gtproc_functions(synth):
        assert any(
            a["MetricName"] == "Errors" and a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": fn}}]
            for a in alarms(synth)
        )


def test_alarm_actions_only_with_alarm_email(default_synth, imported_synth):
    default_synth.template.resource_count_is("AWS::SNS::Topic", 0)
    assert all("AlarmActions" not in a for a in alarms(default_synth))
    imported_synth.template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    imported_synth.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "ops@example.com"}
    )
    assert all(a["AlarmActions"] for a in alarms(imported_synth))


def test_outputs(default_synth, imported_synth):
    expected = {
        "EventBusName",
        "EventBusArn",
        "OutputBucketName",
        "LabelsBucketName",
        "TableName",
        "ManifestsQueueUrl",
        "ManifestsDeadLetterQueueUrl",
        "AnnotationsQueueUrl",
        "AnnotationsDeadLetterQueueUrl",
        "JobStatusQueueUrl",
        "JobStatusDeadLetterQueueUrl",
    }
    assert set(default_synth.template.to_json()["Outputs"]) == expected
    assert set(imported_synth.template.to_json()["Outputs"]) == expected | {"PostAnnotationFunctionArn"}


def object_resources(synth, handler: str, action: str) -> set[str]:
    """The key patterns (the tail after the bucket ARN) `action` is allowed on."""
    tails = set()
    for statement in role_statements(synth, handler):
        if action in listify(statement["Action"]):
            for resource in listify(statement["Resource"]):
                if isinstance(resource, dict) and "Fn::Join" in resource:
                    tail = resource["Fn::Join"][1][-1]
                    # An imported bucket's ARN is joined from literals: its name, then the pattern.
                    tails.add(tail if tail.startswith("/") else "/" + tail.split("/", 1)[1])
    return tails


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_reads_are_scoped_to_the_keys_each_function_consumes(request, synth):
    synth = request.getfixturevalue(synth)
    prefix = "/jobs/" if synth is request.getfixturevalue("imported_synth") else "/"
    manifests = object_resources(synth, "gtproc.handlers.manifests.handler", "s3:GetObject")
    assert {f"{prefix}{p}" for p in MANIFEST_KEY_PATTERNS} <= manifests
    assert manifests - {f"{prefix}{p}" for p in MANIFEST_KEY_PATTERNS} == {"/labels/*", "/state/*"}
    annotations = object_resources(synth, "gtproc.handlers.annotations.handler", "s3:GetObject")
    # The intermediate annotations say which object a datasetObjectId is (Annotations Consolidated's source).
    expected = (*ANNOTATION_KEY_PATTERNS, "*/annotation-tool/*", *INTERMEDIATE_ANNOTATIONS_PATTERNS)
    assert annotations == {f"{prefix}{p}" for p in expected}
    assert object_resources(synth, "gtproc.handlers.annotations.handler", "s3:PutObject") == {"/consolidated/*"}


# --- limits and least privilege -------------------------------------------------------------------------


@pytest.mark.parametrize(("synth", "expected"), [("default_synth", 10), ("imported_synth", 25)])
def test_each_pipeline_bounds_its_concurrency(request, synth, expected):
    synth = request.getfixturevalue(synth)
    mappings = synth.of_type("AWS::Lambda::EventSourceMapping").values()
    assert [m["Properties"]["ScalingConfig"] for m in mappings] == [{"MaximumConcurrency": expected}] * 3


def test_labels_bucket_versioned_and_retained_table_protected(default_synth, imported_synth):
    labels = [
        b["Properties"]
        for b in default_synth.of_type("AWS::S3::Bucket").values()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "labels/"
    ]
    assert [p["VersioningConfiguration"] for p in labels] == [{"Status": "Enabled"}]
    (retained,) = default_synth.of_type("AWS::DynamoDB::Table").values()
    assert retained["Properties"]["DeletionProtectionEnabled"] is True
    (destroyed,) = imported_synth.of_type("AWS::DynamoDB::Table").values()  # removalPolicy destroy
    assert not destroyed["Properties"].get("DeletionProtectionEnabled")


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_every_function_logs_to_a_group_with_retention(request, synth):
    synth = request.getfixturevalue(synth)
    groups = synth.of_type("AWS::Logs::LogGroup")
    functions = synth.of_type("AWS::Lambda::Function")
    assert any("BucketNotificationsHandler" in logical_id for logical_id in functions)  # CDK's own
    for logical_id, function in functions.items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == 30, logical_id


@pytest.mark.parametrize("synth", ["default_synth", "imported_synth"])
def test_alarms_on_throttles_durations_and_invalid_files(request, synth):
    synth = request.getfixturevalue(synth)
    for fn in gtproc_functions(synth):
        dimensions = [{"Name": "FunctionName", "Value": {"Ref": fn}}]
        watched = {a["MetricName"]: a for a in alarms(synth) if a.get("Dimensions") == dimensions}
        assert watched["Throttles"]["Threshold"] == 0 and watched["Throttles"]["Statistic"] == "Sum"
        assert watched["Duration"]["Threshold"] == 0.8 * 300_000 and watched["Duration"]["Statistic"] == "Maximum"
    (invalid,) = [a for a in alarms(synth) if a["MetricName"] == "InvalidAnnotationFiles"]
    # The metric as the annotations handler's Powertools Metrics emits it.
    assert invalid["Namespace"] == "gtproc" and invalid["Dimensions"] == [{"Name": "service", "Value": "gtproc"}]
    assert (invalid["Threshold"], invalid["Statistic"]) == (0, "Sum")


def test_the_replay_hands_its_handlers_the_memory_and_service_the_stack_gives_them(default_synth) -> None:
    from gtproc.handlers import annotations, manifests
    from gtproc.local.replay import _Context

    props = {f["Properties"]["Handler"]: f["Properties"] for f in gtproc_functions(default_synth).values()}
    assert props["gtproc.handlers.manifests.handler"]["MemorySize"] == _Context("manifests").memory_limit_in_mb
    assert props["gtproc.handlers.annotations.handler"]["MemorySize"] == _Context("annotations").memory_limit_in_mb
    assert _Context("annotations").memory_limit_in_mb == 512
    services = {p["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for p in props.values()}
    assert services == {manifests.logger.service} == {annotations.logger.service}


def test_backfill_finds_each_pipelines_queue_in_the_outputs(default_synth):
    """`gtproc backfill` sends each write to the queue the output names: the queue its rule targets."""
    from gtproc.local.backfill import QUEUE_OUTPUTS

    template = default_synth.template.to_json()
    for pipeline, output in QUEUE_OUTPUTS.items():
        queue = template["Outputs"][output]["Value"]["Ref"]
        rules = [
            r
            for r in template["Resources"].values()
            if r["Type"] == "AWS::Events::Rule"
            and any(t["Arn"] == {"Fn::GetAtt": [queue, "Arn"]} for t in r["Properties"].get("Targets", []))
        ]
        assert len(rules) == 1, pipeline
        assert f"*/{pipeline}/" in json.dumps(rules[0]["Properties"]["EventPattern"])
