"""An SQS batch's partial response, as Powertools' `process_partial_response` with a `BatchProcessor(
EventType.SQS)` gives it, without importing its batch package at a cold start.

That package imports every event data class Powertools has (Kinesis, Kafka, DynamoDB streams, API
Gateway, ...): ~40 ms of each cold start, for the SQS one the handlers use. Here each record is
handled in order; a record that raises is reported in `batchItemFailures`; when all of them fail,
Powertools' BatchProcessingError is raised with its message. An event that is not a batch of SQS
records goes to Powertools itself, for its own error. `tests/unit/test_sqs_batch.py` holds the two
side by side.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

# Powertools' batch module logs each failure at debug level on its own logger: so do we.
_logger = logging.getLogger("aws_lambda_powertools.utilities.batch.base")


class SqsMessage:
    """One SQS record, with what the handlers read of Powertools' SQSRecord."""

    __slots__ = ("raw_event",)

    def __init__(self, raw_event: dict[str, Any]) -> None:
        self.raw_event = raw_event

    @property
    def body(self) -> str:
        return self.raw_event["body"]

    @property
    def message_id(self) -> str:
        return self.raw_event["messageId"]

    @property
    def event_source_arn(self) -> str:
        return self.raw_event["eventSourceARN"]


def process_sqs_batch(
    event: Any, record_handler: Callable[..., Any], context: Any = None, *, pass_context: bool = False
) -> dict[str, Any]:
    """`pass_context`: call `record_handler(record, lambda_context=context)` (Powertools passes the
    context to a record handler that has a `lambda_context` parameter)."""
    records = event.get("Records", []) if isinstance(event, dict) else None
    if not records or not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        return _powertools(event, record_handler, context)
    failed: list[SqsMessage] = []
    errors: list[Any] = []
    for raw in records:
        message = SqsMessage(raw)
        try:
            if pass_context and context is not None:
                record_handler(record=message, lambda_context=context)
            else:
                record_handler(record=message)
        except Exception:
            info = sys.exc_info()
            _logger.debug(f"Record processing exception: {info[0]}:{info[1]}")
            errors.append(info)
            failed.append(message)
    if not failed:
        return {"batchItemFailures": []}
    if len(errors) == len(records):
        from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

        raise BatchProcessingError(
            msg=f"All records failed processing. {len(errors)} individual errors logged separately below.",
            child_exceptions=errors,
        )
    return {"batchItemFailures": [{"itemIdentifier": message.message_id} for message in failed]}


def _powertools(event: Any, record_handler: Callable[..., Any], context: Any) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    response: dict[str, Any] = process_partial_response(
        event=event, record_handler=record_handler, processor=BatchProcessor(event_type=EventType.SQS), context=context
    )
    return response
