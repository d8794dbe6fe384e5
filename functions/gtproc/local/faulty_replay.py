"""`gtproc replay --faults SEED`: the replay's Lambda and SQS under seeded faults, on a simulated clock.

The wired use cases' ports are wrapped in `faults.Faulty` (transient errors on every call, partial
PutEvents, instances killed with no cleanup, a second invocation of a run's records started in the
middle of it on another instance). Time is simulated: the use cases' leases, stale claims,
waits and deadlines all read this clock, through `wiring.local`. A failed or killed invocation's
records come back only after the queue's visibility timeout on that clock, a busy job's copy after its
delay; 5 receives dead-letter a record. At the end the faults stop and the dead-letter queues are
redriven, as an operator would once AWS is healthy again.
"""

from __future__ import annotations

import heapq
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gtproc.adapters import sqs as sqs_adapter
from gtproc.contract.layout import FUNCTION_TIMEOUT_SECONDS, MAX_RECEIVE_COUNT
from gtproc.handlers import wiring
from gtproc.local.faults import Faults, Faulty, InstanceKilled
from gtproc.usecases.ports import EventEntry

if TYPE_CHECKING:
    from gtproc.local.embedded import EmbeddedResources
    from gtproc.local.replay import Lambda, Replayer

# The stack's queue: 6x the function timeout (infra/constructs/pipeline.py).
VISIBILITY_SECONDS = 6 * FUNCTION_TIMEOUT_SECONDS
HIDDEN_SECONDS = 3600  # keeps a record out of moto's wall-clock sight until its simulated time


@dataclass
class FaultReport:
    seed: int
    injected: Counter[str] = field(default_factory=Counter)
    window_facts: int = 0  # facts PutEvents accepted that no record kept when the run ended: may repeat
    redriven: int = 0

    def kinds(self) -> Counter[str]:
        """Injected faults by kind: errors per port, PutEvents partial failures, kills."""
        kinds: Counter[str] = Counter()
        for what, n in self.injected.items():
            if what.startswith("error "):
                port = what.removeprefix("error ").split(".")[0]
                kinds[f"{port} error"] += n
            elif what.startswith("kill"):
                kinds["instance killed"] += n
            else:
                kinds[what] += n
        return kinds


def _entry_facts(entry: EventEntry) -> list[Any]:
    from gtproc.local.replay import Published, facts

    detail = json.loads(entry.detail)
    return sorted(facts([Published("", entry.detail_type, detail)]), key=repr)


class _Guarded:
    """A use case whose failed run ends the run for the faults' accounting (what it published unrecorded)."""

    def __init__(self, use_case: Callable[..., Any], faults: Faults) -> None:
        self._use_case, self._faults = use_case, faults

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return self._use_case(*args, **kwargs)
        except Exception:
            self._faults.run_ended()
            raise


class FaultyAWS:
    def __init__(self, seed: int, resources: EmbeddedResources) -> None:
        self.faults = Faults(seed)
        self.faults.fact_of = _entry_facts
        self.report = FaultReport(seed)
        self.resources = resources
        self.sqs = resources.client("sqs")
        self.now = time.time()  # a plausible start; from here on only simulated time passes
        self.later: list[tuple[float, int, Callable[[], None]]] = []
        self.seq = 0
        wiring.local = wiring.LocalRun(
            clock=lambda: self.now,
            sleep=self.sleep,
            port=lambda port, name: Faulty(port, self.faults, name),
            requeue=self.requeue,
            use_case=lambda use_case: _Guarded(use_case, self.faults),
        )
        wiring.process_manifest.cache_clear()
        wiring.consolidate_annotations.cache_clear()

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def _at(self, when: float, action: Callable[[], None]) -> None:
        self.seq += 1
        heapq.heappush(self.later, (when, self.seq, action))

    def requeue(self, record: Any, seconds: int) -> None:
        """The busy job's copy, sent when its delay has passed on the simulated clock."""
        self._at(self.now + seconds, lambda: sqs_adapter.requeue(record, 0))

    def release(self, final: bool) -> bool:
        """Send what is due on the simulated clock; when `final` and nothing is due, move the clock to
        the next thing that is. True if something was sent."""
        if final and self.later and self.later[0][0] > self.now:
            self.now = self.later[0][0]
        released = False
        while self.later and self.later[0][0] <= self.now:
            heapq.heappop(self.later)[2]()
            released = True
        return released

    def run_batch(
        self, function: Lambda, batch: list[dict[str, Any]], records: list[dict[str, Any]], nested: bool = False
    ) -> None:
        """One invocation under faults; its failed records, or all of a killed one's, come back later."""
        start = self.now
        self.faults.revive()
        if not nested:
            self.faults.concurrent = lambda: self._concurrently(function, batch)
        try:
            failed: set[str] | None = function.invoke(records)
        except InstanceKilled:
            self.now = start + FUNCTION_TIMEOUT_SECONDS  # Lambda ends the run at its timeout
            failed = None
            # The instance is gone with what it held: its unflushed metrics (shared by every Metrics).
            from aws_lambda_powertools import Metrics

            Metrics(namespace=wiring.METRICS_NAMESPACE).clear_metrics()
        else:
            self.now += 0.5
        finally:
            if not nested:
                self.faults.concurrent = None
        for message, record in zip(batch, records, strict=True):
            if message.get("duplicate"):
                continue  # a duplicate delivery shares its receipt handle with the original
            if failed is not None and record["messageId"] not in failed:
                function.settle(message, False)
            else:
                self._retry_later(function, message, start + VISIBILITY_SECONDS)

    def _concurrently(self, function: Lambda, batch: list[dict[str, Any]]) -> None:
        """The same records delivered to a second instance while the first is mid-run; it runs to its end.
        Its deliveries are duplicates: the first run's settlement decides what SQS keeps."""
        copies = [dict(message, duplicate=True) for message in batch]
        records = [function.to_record(message, duplicate=True) for message in copies]
        # The handlers are reentrant (a batch processor per call), so the nested run needs no swap.
        saved = self.faults.suspend()
        try:
            self.run_batch(function, copies, records, nested=True)
        finally:
            self.faults.resume(saved)

    def _retry_later(self, function: Lambda, message: dict[str, Any], visible_at: float) -> None:
        url, handle = function.pipeline.queue_url, message["ReceiptHandle"]
        count = function.receives[message["MessageId"]] = function.receives.get(message["MessageId"], 0) + 1
        if count >= MAX_RECEIVE_COUNT:
            self.sqs.send_message(QueueUrl=function.pipeline.dlq_url, MessageBody=message["Body"])
            self.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
            return
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=HIDDEN_SECONDS)
        self._at(
            visible_at,
            lambda: self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0),
        )

    def redrive(self, replayer: Replayer) -> None:
        """AWS is healthy again: move every dead-lettered message back to its queue and process it."""
        self.faults.enabled = False
        for pipeline in self.resources.pipelines.values():
            while True:
                batch = self.sqs.receive_message(QueueUrl=pipeline.dlq_url, MaxNumberOfMessages=10).get("Messages", [])
                if not batch:
                    break
                for message in batch:
                    self.sqs.send_message(QueueUrl=pipeline.queue_url, MessageBody=message["Body"])
                    self.sqs.delete_message(QueueUrl=pipeline.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                    self.report.redriven += 1
        replayer.deliver(final=True)
        self.report.injected = Counter(self.faults.injected)
        self.report.window_facts = sum(self.faults.window_facts.values())
