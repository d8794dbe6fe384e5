"""A temporary subscription to a bus for `gtproc tail`: an encrypted SQS queue fed by one rule.

Everything it creates is named `gtproc-tail-*` and tagged `gtproc:tail`, with its creation time, so a
later tail can remove what a killed one left behind.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import boto3
import msgspec
from botocore.config import Config

NAME_PREFIX = "gtproc-tail-"
TAG = "gtproc:tail"
CREATED_TAG = "gtproc:created"  # epoch seconds
LEFTOVER_SECONDS = 24 * 3600
MAX_WAIT_SECONDS = 20  # SQS's longest long poll
# No retries past a few: a tail that cannot reach AWS should say so, not hang.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=30)


class TailError(Exception):
    """A failure to show as one line; `code` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _clients() -> tuple[Any, Any]:
    session = boto3.session.Session()  # AWS_ENDPOINT_URL and the default credential chain apply
    return session.client("events", config=_CONFIG), session.client("sqs", config=_CONFIG)


def error_code(error: Exception) -> str:
    return getattr(error, "response", {}).get("Error", {}).get("Code", "")


def error_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if response:
        found = response.get("Error", {})
        return f"{found.get('Code', 'Error')}: {found.get('Message', '')}".strip().rstrip(":")
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def bus_of_stack(stack: str) -> str:
    """The `EventBusName` output of a deployed gtproc stack."""
    from botocore.exceptions import BotoCoreError, ClientError

    cloudformation = boto3.session.Session().client("cloudformation", config=_CONFIG)
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if "does not exist" in error_message(error):
            raise TailError(f"stack {stack} does not exist") from None
        raise TailError(f"cannot describe stack {stack}: {error_message(error)}") from None
    except BotoCoreError as error:
        raise TailError(f"cannot describe stack {stack}: {error}") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for stack_ in stacks for o in stack_.get("Outputs", [])}
    if "EventBusName" not in outputs:
        raise TailError(f"stack {stack} has no EventBusName output (is it a gtproc stack?)")
    return outputs["EventBusName"]


class Subscription(msgspec.Struct):
    bus: str
    events: Any = None
    sqs: Any = None
    rule_name: str = ""
    rule_arn: str = ""
    queue_url: str = ""
    queue_arn: str = ""
    targets: list[str] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        if self.events is None or self.sqs is None:
            self.events, self.sqs = _clients()

    def check_bus(self) -> None:
        try:
            self.events.describe_event_bus(Name=self.bus)
        except Exception as error:
            if error_code(error) == "ResourceNotFoundException":
                raise TailError(f"bus {self.bus} does not exist") from None
            raise TailError(f"cannot read bus {self.bus}: {error_message(error)}") from None

    def reap(self, now: float | None = None) -> list[str]:
        """Delete tagged rules (on this bus) and queues of a tail that died more than a day ago."""
        cutoff = (time.time() if now is None else now) - LEFTOVER_SECONDS
        removed = []
        for rule in self._rules():
            tags = {t["Key"]: t["Value"] for t in self.events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]}
            if _old(tags, cutoff):
                targets = self.events.list_targets_by_rule(Rule=rule["Name"], EventBusName=self.bus)["Targets"]
                if targets:
                    self.events.remove_targets(Rule=rule["Name"], EventBusName=self.bus, Ids=[t["Id"] for t in targets])
                self.events.delete_rule(Name=rule["Name"], EventBusName=self.bus)
                removed.append(f"rule {rule['Name']}")
        for url in self._queues():
            try:
                tags = self.sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
                if _old(tags, cutoff):
                    self.sqs.delete_queue(QueueUrl=url)
                    removed.append(f"queue {url.rsplit('/', 1)[-1]}")
            except Exception as error:
                if error_code(error) not in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                    raise
        return removed

    def _rules(self) -> list[dict[str, Any]]:
        pages = self.events.get_paginator("list_rules").paginate(NamePrefix=NAME_PREFIX, EventBusName=self.bus)
        return [rule for page in pages for rule in page.get("Rules", [])]

    def _queues(self) -> list[str]:
        pages = self.sqs.get_paginator("list_queues").paginate(QueueNamePrefix=NAME_PREFIX)
        return [url for page in pages for url in page.get("QueueUrls", [])]

    def create(self, pattern: dict[str, Any], now: float | None = None) -> None:
        """The queue, then its rule, then the policy admitting only that rule, then the target."""
        created = int(time.time() if now is None else now)
        name = f"{NAME_PREFIX}{created}-{secrets.token_hex(4)}"
        tags = {TAG: "true", CREATED_TAG: str(created)}
        self.queue_url = self.sqs.create_queue(
            QueueName=name,
            Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": str(LEFTOVER_SECONDS)},
            tags=tags,
        )["QueueUrl"]
        self.queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.rule_arn = self.events.put_rule(
            Name=name,
            EventBusName=self.bus,
            EventPattern=json.dumps(pattern),
            State="ENABLED",
            Description="gtproc tail (temporary: deleted when the tail stops)",
            Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
        )["RuleArn"]
        self.rule_name = name
        self.sqs.set_queue_attributes(QueueUrl=self.queue_url, Attributes={"Policy": self.policy()})
        response = self.events.put_targets(
            Rule=name, EventBusName=self.bus, Targets=[{"Id": "tail", "Arn": self.queue_arn}]
        )
        self.targets = ["tail"]
        if response.get("FailedEntryCount"):
            entry = response["FailedEntries"][0]
            raise TailError(f"cannot target the queue from rule {name}: {entry.get('ErrorMessage', entry)}")

    def policy(self) -> str:
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "OnlyTheTailRule",
                        "Effect": "Allow",
                        "Principal": {"Service": "events.amazonaws.com"},
                        "Action": "sqs:SendMessage",
                        "Resource": self.queue_arn,
                        "Condition": {"ArnEquals": {"aws:SourceArn": self.rule_arn}},
                    }
                ],
            }
        )

    def receive(self, wait_seconds: int) -> list[dict[str, Any]]:
        return self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=max(0, min(MAX_WAIT_SECONDS, wait_seconds)),
        ).get("Messages", [])

    def acknowledge(self, messages: list[dict[str, Any]]) -> None:
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    def delete(self) -> list[str]:
        """Remove the target, the rule and the queue; return what could not be removed (one line each)."""
        left = []
        if self.rule_name:
            try:
                if self.targets:
                    self.events.remove_targets(Rule=self.rule_name, EventBusName=self.bus, Ids=self.targets)
                self.events.delete_rule(Name=self.rule_name, EventBusName=self.bus)
                self.rule_name = ""
            except Exception as error:
                left.append(f"rule {self.rule_name} on bus {self.bus} ({error_message(error)})")
        if self.queue_url:
            try:
                self.sqs.delete_queue(QueueUrl=self.queue_url)
                self.queue_url = ""
            except Exception as error:
                left.append(f"queue {self.queue_url} ({error_message(error)})")
        return left


def _old(tags: dict[str, str], cutoff: float) -> bool:
    created = tags.get(CREATED_TAG, "")
    return tags.get(TAG) == "true" and created.isdigit() and int(created) < cutoff
