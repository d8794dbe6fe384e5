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
from dataclasses import dataclass, field
from typing import Any

from gtproc.contract import (
    ANNOTATION_KEY_PATTERNS,
    DEFAULT_EVENT_SOURCE,
    MANIFEST_KEY_PATTERNS,
    object_created_pattern,
)
from gtproc.contract.layout import LABELS_PREFIX, SERVICE_NAME, labeling_job_state_change_pattern

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
    # Streaming jobs: job name -> its output topic ARN; each topic feeds the pipeline `streaming-<job>`.
    streaming_topics: dict[str, str] = field(default_factory=dict)

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
    streaming_jobs: tuple[str, ...] = (),
    job_status: bool = False,
) -> Iterator[EmbeddedResources]:
    """`streaming_jobs` get their output topics; `job_status` adds the rule on SageMaker's state changes."""
    from moto import mock_aws

    from gtproc.handlers import wiring

    saved = {name: os.environ.get(name) for name in [*_ENV, *_settings_env(None), "AWS_ENDPOINT_URL"]}
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(_ENV)
    try:
        with mock_aws():
            resources = _create(output_bucket, key_prefix, event_source, labels_bucket, table_name, bus_name)
            _create_streaming(resources, streaming_jobs)
            if job_status:
                _create_job_status(resources)
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
                "GTPROC_STREAMING_JOBS",
                "GTPROC_STREAMING_QUEUES",
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
        "GTPROC_STREAMING_JOBS": json.dumps({topic: job for job, topic in resources.streaming_topics.items()}),
        "GTPROC_STREAMING_QUEUES": json.dumps(
            {
                resources.pipelines[f"streaming-{job}"].queue_arn: topic
                for job, topic in resources.streaming_topics.items()
            }
        ),
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


def _create_streaming(resources: EmbeddedResources, jobs: tuple[str, ...]) -> None:
    """Each streaming job's output topic, subscribed (not raw) to its own queue as the stack does."""
    import boto3

    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    for job in jobs:
        topic_arn = sns.create_topic(Name=f"{job}-output")["TopicArn"]
        name = f"streaming-{job}"
        dlq_url = sqs.create_queue(QueueName=f"gtproc-{name}-dlq")["QueueUrl"]
        queue_url = sqs.create_queue(QueueName=f"gtproc-{name}")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attributes = {"RawMessageDelivery": "false"}
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes=attributes)
        resources.pipelines[name] = Pipeline(name, queue_url, queue_arn, dlq_url)
        resources.streaming_topics[job] = topic_arn


def _create_job_status(resources: EmbeddedResources) -> None:
    """SageMaker's job state changes, as the stack's rule routes them (the default bus)."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    events = boto3.client("events", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName="gtproc-job-status-dlq")["QueueUrl"]
    queue_url = sqs.create_queue(QueueName="gtproc-job-status")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="gtproc-job-status", EventPattern=json.dumps(labeling_job_state_change_pattern()))
    events.put_targets(Rule="gtproc-job-status", Targets=[{"Id": "queue", "Arn": queue_arn}])
    resources.pipelines["job-status"] = Pipeline("job-status", queue_url, queue_arn, dlq_url)
