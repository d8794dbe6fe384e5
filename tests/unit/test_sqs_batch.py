"""The handlers' SQS partial response (handlers/sqs_batch.py) next to Powertools' own, case by case."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from gtproc.handlers.sqs_batch import process_sqs_batch

from tests.conftest import FakeLambdaContext


def _record(n: int, body: str = "ok") -> dict[str, Any]:
    return {
        "messageId": f"m-{n}",
        "receiptHandle": "r",
        "body": body,
        "attributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:queue-{n}",
    }


class _Recorder:
    """A record handler that fails on the bodies it is told to; it records what it was given."""

    def __init__(self, with_context: bool) -> None:
        self.seen: list[tuple[str, dict[str, Any], object]] = []
        self.with_context = with_context

    def handler(self) -> Any:
        if self.with_context:

            def with_context(record: Any, lambda_context: Any = None) -> None:
                self._handle(record, lambda_context)

            return with_context

        def without(record: Any) -> None:
            self._handle(record, None)

        return without

    def _handle(self, record: Any, context: object) -> None:
        self.seen.append((record.body, record.raw_event, record.event_source_arn, record.message_id, context))
        if record.body.startswith("fail"):
            raise ValueError(f"bad body {record.body}")
        if record.body == "key":
            raise KeyError("missing")


def _run(ours: bool, event: Any, with_context: bool, context: Any) -> tuple[Any, list[Any]]:
    recorder = _Recorder(with_context)
    try:
        if ours:
            result: Any = process_sqs_batch(event, recorder.handler(), context, pass_context=with_context)
        else:
            processor = BatchProcessor(event_type=EventType.SQS)
            result = process_partial_response(event, recorder.handler(), processor, context)
    except Exception as error:
        children = [(t, str(v)) for t, v, _ in getattr(error, "child_exceptions", [])]
        result = (type(error), error.args, children)
    return result, recorder.seen


BATCHES = {
    "all succeed": [_record(1), _record(2), _record(3)],
    "one fails": [_record(1), _record(2, "fail-2"), _record(3)],
    "two fail, one a KeyError": [_record(1, "key"), _record(2), _record(3, "fail-3")],
    "all fail": [_record(1, "fail-1"), _record(2, "key")],
    "the only one fails": [_record(1, "fail-1")],
    "one": [_record(1)],
}
MALFORMED = {
    "no Records": {},
    "empty Records": {"Records": []},
    "Records not a list": {"Records": "x"},
    "not a dict": ["x"],
    "None": None,
}


@pytest.mark.parametrize("with_context", [True, False])
@pytest.mark.parametrize("context", [None, FakeLambdaContext()])
@pytest.mark.parametrize("name", [*BATCHES, *MALFORMED])
def test_same_response_error_and_calls_as_powertools(name: str, context: Any, with_context: bool) -> None:
    event = {"Records": BATCHES[name]} if name in BATCHES else MALFORMED[name]
    ours, ours_seen = _run(True, event, with_context, context)
    theirs, theirs_seen = _run(False, event, with_context, context)
    assert ours == theirs
    assert ours_seen == theirs_seen
    if name in BATCHES:
        assert len(ours_seen) == len(BATCHES[name])  # every record handled, in order
        if with_context and context is not None:
            assert all(seen[-1] is context for seen in ours_seen)


def test_all_failed_is_powertools_error_with_its_message() -> None:
    with pytest.raises(BatchProcessingError, match=r"All records failed processing\. 2 individual errors") as raised:
        process_sqs_batch({"Records": BATCHES["all fail"]}, _Recorder(False).handler())
    assert [type(v) for _, v, _ in raised.value.child_exceptions] == [ValueError, KeyError]
    assert "bad body fail-1" in str(raised.value)  # the children's tracebacks, as Powertools formats them


def test_a_partial_failure_names_the_failed_messages() -> None:
    response = process_sqs_batch({"Records": BATCHES["two fail, one a KeyError"]}, _Recorder(False).handler())
    assert response == {"batchItemFailures": [{"itemIdentifier": "m-1"}, {"itemIdentifier": "m-3"}]}


def test_an_interrupt_is_not_a_record_failure() -> None:
    def interrupted(record: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_sqs_batch({"Records": [_record(1)]}, interrupted)


@pytest.mark.parametrize(
    "module",
    [
        "gtproc.handlers.manifests",
        "gtproc.handlers.annotations",
        "gtproc.handlers.streaming",
        "gtproc.handlers.job_status",
    ],
)
def test_the_sqs_handlers_import_no_powertools_batch_package(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if '.data_classes' in m or '.batch' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
