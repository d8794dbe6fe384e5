"""Lambda target of a rule on the gtproc bus for `Objects Labeled`: count each job's classes in DynamoDB.

Table items (partition key `pk`, sort key `sk`):
- `OBJECT#<bucket>/<jobPath>#<labelAttributeName>`, `<datasetObjectId>`: one per object counted;
- `CLASSES#<bucket>/<jobPath>#<labelAttributeName>`, `<class name>`: `count` of boxes, entities or labels.

Idempotent on the event's dedup key (bucket, jobPath, labelAttributeName, datasetObjectId): each object's
marker and its counts are written in one transaction that fails if the marker exists. An event that
comes again (EventBridge delivers at least once, gtproc may repeat one in its documented window, an
archive replay) changes nothing. Never keyed on the event id: a repeat has a new one.
"""

from __future__ import annotations

import os
from collections import Counter
from functools import cache
from typing import Any

import boto3

DEDUP_FIELDS = ("bucket", "jobPath", "labelAttributeName", "objects[].datasetObjectId")


@cache
def _dynamodb() -> Any:
    return boto3.client("dynamodb")


def class_names(label: Any, metadata: dict[str, Any]) -> list[str]:
    """The classes a label uses, read from its shape: one per classification, box, entity or picked class."""
    if isinstance(metadata.get("class-name"), str):  # single-label classification, label verification
        return [metadata["class-name"]]
    class_map = metadata.get("class-map") or {}
    if isinstance(label, list):  # multi-label classification: class ids
        return [str(class_map.get(str(class_id), class_id)) for class_id in label]
    annotations = label.get("annotations") if isinstance(label, dict) else None
    if isinstance(annotations, list):  # bounding boxes
        return [str(class_map.get(str(box.get("class_id")), box.get("class_id"))) for box in annotations]
    if isinstance(annotations, dict) and isinstance(annotations.get("entities"), list):  # named entities
        return [str(entity.get("label")) for entity in annotations["entities"]]
    return []  # segmentation masks and custom shapes: counted as objects, without classes


def count_object(table: str, job: str, item: dict[str, Any]) -> bool:
    """Count one object's classes; False when it was counted before."""
    object_id = str(item["datasetObjectId"])
    counts = Counter(class_names(item.get("label"), item.get("metadata") or {}))
    writes: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": {"pk": {"S": f"OBJECT#{job}"}, "sk": {"S": object_id}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    ]
    writes += [
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": f"CLASSES#{job}"}, "sk": {"S": name}},
                "UpdateExpression": "ADD #count :n",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": {":n": {"N": str(n)}},
            }
        }
        for name, n in sorted(counts.items())
    ]
    client = _dynamodb()
    try:
        client.transact_write_items(TransactItems=writes)
    except client.exceptions.TransactionCanceledException as error:
        reasons = error.response.get("CancellationReasons") or [{}]
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            return False
        raise
    return True


def handler(event: dict[str, Any], context: Any = None) -> dict[str, int]:
    detail = event["detail"]
    job = f"{detail['bucket']}/{detail['jobPath']}#{detail['labelAttributeName']}"
    table = os.environ["TABLE_NAME"]
    counted = sum(count_object(table, job, item) for item in detail["objects"])
    return {"counted": counted, "alreadyCounted": len(detail["objects"]) - counted}
