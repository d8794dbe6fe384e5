"""An embedded AWS (moto, in process) with the stack's resources, made from the same definitions.

The bucket sends its events to EventBridge; rules built from `gtproc.contract` (the stack uses the
same function) route "Object Created" events to one queue per pipeline, each with a dead-letter
queue; the handlers publish on a custom bus, where an observer rule collects every event as a
consumer would.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gtproc.contract import (
    ANNOTATION_KEY_PATTERNS,
    DEFAULT_EVENT_SOURCE,
    MANIFEST_KEY_PATTERNS,
    object_created_pattern,
)
from gtproc.contract.layout import LABELS_PREFIX, SERVICE_NAME

REGION = "us-east-1"

_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": SERVICE_NAME,
    "POWERTOOLS_TRACE_DISABLED": "true",
    # Metrics stay enabled, as in Lambda: Powertools only clears its metric set when it flushes it, so
    # disabled metrics pile up across invocations until 100 values of one flush on their own mid-batch,
    # and the handler's own flush then finds the set empty ("No application metrics to publish").
    # The EMF lines go to stdout, which the replay treats as the functions' log stream.
    "POWERTOOLS_METRICS_DISABLED": "false",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}


@dataclass(frozen=True)
class Pipeline:
    name: str
    queue_url: str
    queue_arn: str
    dlq_url: str


@dataclass(frozen=True)
class EmbeddedResources:
    output_bucket: str
    labels_bucket: str
    table_name: str
    bus_name: str
    event_source: str
    key_prefix: str
    pipelines: dict[str, Pipeline]
    observer_queue_url: str

    def client(self, service: str) -> Any:
        import boto3

        return boto3.client(service, region_name=REGION)


@contextmanager
def embedded_aws(
    output_bucket: str = "gt-output-bucket",
    key_prefix: str = "",
    event_source: str = DEFAULT_EVENT_SOURCE,
    labels_bucket: str = "gtproc-labels",
    table_name: str = "gtproc-state",
    bus_name: str = "gtproc",
) -> Iterator[EmbeddedResources]:
    from moto import mock_aws

    from gtproc.handlers import wiring

    saved = {name: os.environ.get(name) for name in [*_ENV, *_settings_env(None), "AWS_ENDPOINT_URL"]}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(_ENV)
    try:
        with mock_aws():
            resources = _create(output_bucket, key_prefix, event_source, labels_bucket, table_name, bus_name)
            os.environ.update(_settings_env(resources))
            wiring.reset()
            yield resources
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        wiring.reset()


def _settings_env(resources: EmbeddedResources | None) -> dict[str, str]:
    if resources is None:
        return dict.fromkeys(
            [
                "GTPROC_EVENT_BUS_NAME",
                "GTPROC_EVENT_SOURCE",
                "GTPROC_TABLE_NAME",
                "GTPROC_LABELS_BUCKET",
                "GTPROC_LABELS_PREFIX",
                "GTPROC_KEY_PREFIX",
            ],
            "",
        )
    return {
        "GTPROC_EVENT_BUS_NAME": resources.bus_name,
        "GTPROC_EVENT_SOURCE": resources.event_source,
        "GTPROC_TABLE_NAME": resources.table_name,
        "GTPROC_LABELS_BUCKET": resources.labels_bucket,
        "GTPROC_LABELS_PREFIX": LABELS_PREFIX,
        "GTPROC_KEY_PREFIX": resources.key_prefix,
        "GTPROC_DESCRIBE_JOBS": "false",
    }


def _create(
    output_bucket: str, key_prefix: str, event_source: str, labels_bucket: str, table_name: str, bus_name: str
) -> EmbeddedResources:
    import boto3

    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)

    s3.create_bucket(Bucket=output_bucket)
    s3.put_bucket_notification_configuration(
        Bucket=output_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    s3.create_bucket(Bucket=labels_bucket)  # no notifications: writes here never trigger anything
    dynamodb.create_table(
        TableName=table_name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
    )
    events.create_event_bus(Name=bus_name)

    pipelines = {}
    for name, patterns in (("manifests", MANIFEST_KEY_PATTERNS), ("annotations", ANNOTATION_KEY_PATTERNS)):
        dlq_url = sqs.create_queue(QueueName=f"gtproc-{name}-dlq")["QueueUrl"]
        queue_url = sqs.create_queue(QueueName=f"gtproc-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name=f"gtproc-{name}",
            EventPattern=json.dumps(object_created_pattern(output_bucket, patterns, key_prefix)),
        )
        events.put_targets(Rule=f"gtproc-{name}", Targets=[{"Id": "queue", "Arn": queue_arn}])
        pipelines[name] = Pipeline(name, queue_url, queue_arn, dlq_url)

    observer_url = sqs.create_queue(QueueName="gtproc-observer")["QueueUrl"]
    observer_arn = sqs.get_queue_attributes(QueueUrl=observer_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="gtproc-observer", EventBusName=bus_name, EventPattern=json.dumps({"source": [event_source]}))
    events.put_targets(Rule="gtproc-observer", EventBusName=bus_name, Targets=[{"Id": "observer", "Arn": observer_arn}])
    return EmbeddedResources(
        output_bucket, labels_bucket, table_name, bus_name, event_source, key_prefix, pipelines, observer_url
    )
