"""The cold-start reference of bench_cold_start.py: a typical Powertools SQS handler.

Logger, Metrics, Tracer, Parser models, BatchProcessor and two boto3 clients made at import, as the
Powertools docs and most templates write it. Each record: parse the EventBridge "Object Created" event,
read the object, count its lines, store the count in DynamoDB.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import S3EventNotificationEventBridgeModel, SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)
s3 = boto3.client("s3")
dynamodb = boto3.client("dynamodb")
TABLE = os.environ["GTPROC_TABLE_NAME"]


@tracer.capture_method
def record_handler(record: SqsRecordModel) -> None:
    event = parse(event=record.body, model=S3EventNotificationEventBridgeModel)
    bucket, key = event.detail.bucket.name, event.detail.object.key
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    lines = body.count(b"\n")
    dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": f"REF#{bucket}/{key}"}, "sk": {"S": "LINES"}, "lines": {"N": str(lines)}}
    )
    metrics.add_metric(name="LinesCounted", unit=MetricUnit.Count, value=lines)
    logger.info("object counted", extra={"key": key, "lines": lines})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
