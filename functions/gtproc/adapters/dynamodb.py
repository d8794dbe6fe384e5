"""Job state in DynamoDB: the job's lease and committed version, and the publication journal.

Items of a job share the partition `JOB#<bucket>/<job path>`:
- `STATE`: version of the committed ledger, the lease (owner, expiry) and a summary;
- `PUB#<version>#<id>`: one item per accepted PutEvents call, listing the facts (object index, label
  attribute, kind, source hash) it published. A run that dies before committing leaves them; the next
  run folds them into the ledger, so nothing is published twice. They expire after 30 days.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from botocore.exceptions import ClientError

from gtproc.adapters.aws import client
from gtproc.domain.ledger import FactKey, FactKind
from gtproc.usecases.ports import JobLease, LeaseHeld

JOURNAL_TTL_SECONDS = 30 * 24 * 3600
_STATE = "STATE"


def _pk(job_id: str) -> dict[str, str]:
    return {"S": f"JOB#{job_id}"}


def _journal_prefix(version: int) -> str:
    return f"PUB#{version:010d}#"


class DynamoJobState:
    def __init__(self, table_name: str, dynamodb_client: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb_client
        self.calls = 0

    @property
    def ddb(self) -> Any:
        if self._client is None:
            self._client = client("dynamodb")
        return self._client

    def acquire(self, job_id: str, owner: str, now: float, lease_seconds: int) -> JobLease:
        self.calls += 1
        try:
            response = self.ddb.update_item(
                TableName=self.table_name,
                Key={"pk": _pk(job_id), "sk": {"S": _STATE}},
                UpdateExpression="SET leaseOwner = :owner, leaseExpires = :expires",
                ConditionExpression="attribute_not_exists(leaseOwner) OR leaseExpires < :now OR leaseOwner = :owner",
                ExpressionAttributeValues={
                    ":owner": {"S": owner},
                    ":expires": {"N": str(int(now + lease_seconds))},
                    ":now": {"N": str(int(now))},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LeaseHeld(f"{job_id} is being processed by another invocation") from None
            raise
        version = int(response["Attributes"].get("version", {"N": "0"})["N"])
        return JobLease(job_id, owner, version)

    def record_published(self, lease: JobLease, facts: Sequence[FactKey], now: float) -> None:
        if not facts:
            return
        blob = msgspec.msgpack.encode([(f.kind.value, f.attribute, f.index, f.fingerprint) for f in facts])
        item = {
            "pk": _pk(lease.job_id),
            "sk": {"S": _journal_prefix(lease.version + 1) + uuid.uuid4().hex},
            "facts": {"B": blob},
            "count": {"N": str(len(facts))},
            "publishedAt": {"N": str(int(now))},
            "expiresAt": {"N": str(int(now) + JOURNAL_TTL_SECONDS)},
        }
        self.calls += 1
        self.ddb.put_item(TableName=self.table_name, Item=item)

    def published_since(self, job_id: str, version: int) -> list[FactKey]:
        facts: list[FactKey] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _pk(job_id), ":prefix": {"S": _journal_prefix(version + 1)}},
            "ConsistentRead": True,
        }
        while True:
            self.calls += 1
            response = self.ddb.query(**kwargs)
            for item in response.get("Items", []):
                for kind, attribute, index, print_ in msgspec.msgpack.decode(item["facts"]["B"]):
                    facts.append(FactKey(FactKind(kind), attribute, index, print_))
            if "LastEvaluatedKey" not in response:
                return facts
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def commit(self, lease: JobLease, new_version: int, now: float, summary: dict[str, object]) -> None:
        self.calls += 1
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key={"pk": _pk(lease.job_id), "sk": {"S": _STATE}},
                UpdateExpression="SET version = :version, updatedAt = :now, summary = :summary "
                "REMOVE leaseOwner, leaseExpires",
                ConditionExpression="leaseOwner = :owner",
                ExpressionAttributeValues={
                    ":version": {"N": str(new_version)},
                    ":now": {"N": str(int(now))},
                    ":owner": {"S": lease.owner},
                    ":summary": {"S": msgspec.json.encode(summary).decode()},
                },
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise LeaseHeld(f"{lease.job_id}: the lease expired before the commit") from None
            raise

    def release(self, lease: JobLease) -> None:
        self.calls += 1
        try:
            self.ddb.update_item(
                TableName=self.table_name,
                Key={"pk": _pk(lease.job_id), "sk": {"S": _STATE}},
                UpdateExpression="REMOVE leaseOwner, leaseExpires",
                ConditionExpression="leaseOwner = :owner",
                ExpressionAttributeValues={":owner": {"S": lease.owner}},
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
