"""The annotations pipeline's state in the job's DynamoDB partition.

- `QUALITY`: the job's worker quality (JSON), with a version for conditional writes;
- `ANN#<iteration>#<object>`: our consolidation of one object (published once);
- `CMP#<iteration>#<object>`: its comparison with Ground Truth's (published once);
- `INV#<iteration>#<key digest>`: an unusable file's report (published once).

The use case names records by what they are (`ports.ConsolidationOf`, `ComparisonOf`,
`InvalidFileOf`), whose `record_id` is the sort key here; the job-status records are named by
`contract.layout`. A record item holds `owner`, `status`, `claimedAt` and the claim as JSON (`body`).
"""

from __future__ import annotations

from typing import Any

import msgspec
from botocore.exceptions import ClientError

from gtproc.adapters.aws import client

_QUALITY = "QUALITY"


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def _record_of(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    record: dict[str, Any] = msgspec.json.decode(item["body"]["S"])
    record["status"] = item["status"]["S"]
    return record


def _quality_of(item: dict[str, Any] | None) -> tuple[dict[str, Any] | None, int]:
    if item is None:
        return None, 0
    return msgspec.json.decode(item["state"]["S"]), int(item["version"]["N"])


class DynamoAnnotationStore:
    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client

    @property
    def ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def _key(self, job_id: str, sk: str) -> dict[str, Any]:
        return {"pk": {"S": f"JOB#{job_id}"}, "sk": {"S": sk}}

    def load_quality(self, job_id: str) -> tuple[dict[str, Any] | None, int]:
        item = self.ddb.get_item(TableName=self.table_name, Key=self._key(job_id, _QUALITY), ConsistentRead=True).get(
            "Item"
        )
        return _quality_of(item)

    def save_quality(self, job_id: str, state: dict[str, Any], expected_version: int) -> bool:
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        values: dict[str, Any] = {":expected": {"N": str(expected_version)}} if expected_version else {}
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={
                    **self._key(job_id, _QUALITY),
                    "state": {"S": msgspec.json.encode(state).decode()},
                    "version": {"N": str(expected_version + 1)},
                },
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def claim(self, job_id: str, record_id: str, owner: str, now: float, record: dict[str, Any]) -> bool:
        try:
            self.ddb.put_item(
                TableName=self.table_name,
                Item={
                    **self._key(job_id, record_id),
                    "owner": {"S": owner},
                    "status": {"S": str(record.get("status", "pending"))},
                    "claimedAt": {"N": str(int(now))},
                    "body": {"S": msgspec.json.encode(record).decode()},
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def get(self, job_id: str, record_id: str) -> dict[str, Any] | None:
        item = self.ddb.get_item(TableName=self.table_name, Key=self._key(job_id, record_id), ConsistentRead=True).get(
            "Item"
        )
        return _record_of(item)

    def get_with_quality(
        self, job_id: str, record_id: str
    ) -> tuple[dict[str, Any] | None, tuple[dict[str, Any] | None, int]]:
        if record_id == _QUALITY:  # one key twice is refused by BatchGetItem
            return self.get(job_id, record_id), self.load_quality(job_id)
        keys = [self._key(job_id, record_id), self._key(job_id, _QUALITY)]
        response = self.ddb.batch_get_item(RequestItems={self.table_name: {"Keys": keys, "ConsistentRead": True}})
        items = {item["sk"]["S"]: item for item in response.get("Responses", {}).get(self.table_name, [])}
        # Keys left unprocessed (throttling, a capacity limit) are read one by one: never taken as absent.
        left = response.get("UnprocessedKeys", {}).get(self.table_name, {})
        unread = {key["sk"]["S"] for key in left.get("Keys", [])}
        record = self.get(job_id, record_id) if record_id in unread else _record_of(items.get(record_id))
        quality = self.load_quality(job_id) if _QUALITY in unread else _quality_of(items.get(_QUALITY))
        return record, quality

    def mark_published(self, job_id: str, record_id: str) -> None:
        self.ddb.update_item(
            TableName=self.table_name,
            Key=self._key(job_id, record_id),
            UpdateExpression="SET #status = :published",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":published": {"S": "published"}},
        )

    def release_stale(self, job_id: str, record_id: str, claimed_before: float) -> None:
        try:
            self.ddb.delete_item(
                TableName=self.table_name,
                Key=self._key(job_id, record_id),
                ConditionExpression="#status <> :published AND claimedAt < :before",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":published": {"S": "published"},
                    ":before": {"N": str(int(claimed_before))},
                },
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def take_over(
        self, job_id: str, record_id: str, owner: str, now: float, claimed_before: float
    ) -> dict[str, Any] | None:
        try:
            item = self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(job_id, record_id),
                UpdateExpression="SET #owner = :owner, claimedAt = :now",
                ConditionExpression="attribute_exists(pk) AND #status <> :published AND claimedAt < :before",
                ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":now": {"N": str(int(now))},
                    ":published": {"S": "published"},
                    ":before": {"N": str(int(claimed_before))},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _conditional_failed(error):
                return None
            raise
        record = msgspec.json.decode(item["body"]["S"])
        record["status"] = item["status"]["S"]
        return record

    def release_claim(self, job_id: str, record_id: str, owner: str) -> None:
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key=self._key(job_id, record_id),
                UpdateExpression="SET claimedAt = :zero",
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":zero": {"N": "0"}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def unclaim(self, job_id: str, record_id: str, owner: str) -> None:
        try:
            self.ddb.delete_item(
                TableName=self.table_name,
                Key=self._key(job_id, record_id),
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
