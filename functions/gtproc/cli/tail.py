"""`gtproc tail --bus NAME | --stack NAME`: print gtproc's events as they are published.

A temporary encrypted SQS queue, fed by one rule on the bus that matches the filters, is created at
start and deleted on every exit. Exit 0 after --max-events or Ctrl-C (or SIGTERM), 1 when --timeout
passes first, 2 when the bus cannot be found or subscribed to.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from gtproc.contract.events import DEFAULT_EVENT_SOURCE, DETAIL_TYPES

EXIT_OK, EXIT_TIMEOUT, EXIT_ERROR = 0, 1, 2
SUMMARY_WIDTH = 80  # a label or message is cut to this many characters in the one-line summary


class Stopped(BaseException):
    """SIGTERM: stop as Ctrl-C does (a BaseException, so that no `except Exception` on the way swallows it)."""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "tail",
        help="print the events gtproc publishes on its bus as they arrive",
        description="Print gtproc's events as they arrive, through a temporary queue deleted on exit.",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--bus", metavar="NAME", help="the event bus gtproc publishes on")
    where.add_argument("--stack", metavar="NAME", help="a deployed gtproc stack: its EventBusName output")
    parser.add_argument(
        "--detail-type",
        action="append",
        default=[],
        metavar="T",
        choices=list(DETAIL_TYPES),
        help="only events of this detail type (repeatable; default all)",
    )
    parser.add_argument("--job", metavar="J", help="only events whose detail.jobName is J")
    parser.add_argument(
        "--source", default=DEFAULT_EVENT_SOURCE, metavar="S", help="the events' source (the stack's eventSource)"
    )
    parser.add_argument("--json", action="store_true", help="print each whole event as one JSON line")
    parser.add_argument("--max-events", type=_positive, metavar="N", help="stop after N events (exit 0)")
    parser.add_argument(
        "--timeout", type=_positive, metavar="S", help="stop after S seconds (exit 1 if fewer events came)"
    )
    parser.set_defaults(run=run)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def run(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from gtproc.adapters.tail import Subscription, TailError, bus_of_stack, error_message
    from gtproc.contract.consuming import event_pattern

    err = sys.stderr
    subscription = None
    printed = 0
    try:
        with _sigterm_stops():
            try:
                bus = args.bus or bus_of_stack(args.stack)
                subscription = Subscription(bus)
                subscription.check_bus()
                _reap(subscription, err)
                pattern = event_pattern(args.detail_type, source=args.source, job=args.job)
                try:
                    subscription.create(pattern)
                except (ClientError, BotoCoreError) as error:
                    raise TailError(f"cannot subscribe to bus {bus}: {error_message(error)}") from None
                what = ", ".join(args.detail_type) or "all events"
                job = f" of job {args.job}" if args.job else ""
                print(f"gtproc tail: {what}{job} on bus {bus} (Ctrl-C stops)", file=err, flush=True)
                printed = _print_events(subscription, args, sys.stdout)
            except TailError as error:
                print(f"gtproc tail: {error}", file=err)
                return error.code
            except (ClientError, BotoCoreError) as error:
                print(f"gtproc tail: {error_message(error)}", file=err)
                return EXIT_ERROR
            except (KeyboardInterrupt, Stopped):
                return EXIT_OK
            except BrokenPipeError:  # `gtproc tail ... | head -1`: the reader has what it wanted
                _silence_stdout()
                return EXIT_OK
            finally:
                if subscription is not None:
                    _delete(subscription, err)
    except (KeyboardInterrupt, Stopped):  # a second Ctrl-C while cleaning up
        return EXIT_OK
    if args.max_events and printed >= args.max_events:
        return EXIT_OK
    if args.timeout:
        have = f"{printed} of {args.max_events}" if args.max_events else str(printed)
        print(f"gtproc tail: {args.timeout} s passed with {have} events", file=err)
        return EXIT_TIMEOUT if args.max_events or not printed else EXIT_OK
    return EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail on the closed pipe."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # a stdout with no file descriptor (embedded, captured)
        pass


def _reap(subscription: Any, err: IO[str]) -> None:
    from gtproc.adapters.tail import error_message

    try:
        removed = subscription.reap()
    except Exception as error:  # a leftover costs little; never a reason not to tail
        print(f"gtproc tail: leftovers not checked: {error_message(error)}", file=err)
        return
    for item in removed:
        print(f"gtproc tail: removed the leftover {item}", file=err)


def _delete(subscription: Any, err: IO[str]) -> None:
    try:  # the cleanup must finish, whatever else is pressed or sent
        previous = {stop: signal.signal(stop, signal.SIG_IGN) for stop in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        previous = {}
    try:
        for item in subscription.delete():
            print(f"gtproc tail: could not delete {item}; a later tail removes it after a day", file=err)
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


@contextmanager
def _sigterm_stops() -> Iterator[None]:
    def stop(signum: int, frame: Any) -> None:
        raise Stopped

    try:
        previous = signal.signal(signal.SIGTERM, stop)
    except ValueError:  # not the main thread: SIGTERM keeps its handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _print_events(subscription: Any, args: argparse.Namespace, out: IO[str]) -> int:
    deadline = time.monotonic() + args.timeout if args.timeout else None
    printed = 0
    while True:
        wait = 20 if deadline is None else int(min(20, max(0.0, deadline - time.monotonic())))
        messages = subscription.receive(wait)
        done = []
        for message in messages:
            if args.max_events and printed >= args.max_events:
                break
            out.write(format_event(message["Body"], as_json=args.json) + "\n")
            printed += 1
            done.append(message)
        out.flush()
        subscription.acknowledge(done)  # after printing: a tail killed mid-print loses nothing it showed
        if args.max_events and printed >= args.max_events:
            return printed
        if deadline is not None and time.monotonic() >= deadline:
            return printed


def format_event(body: str, *, as_json: bool = False) -> str:
    """One line: the whole event as compact JSON, or a human summary."""
    try:
        event = json.loads(body)
    except ValueError:
        return body.replace("\n", " ")
    if as_json:
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        return _cut(json.dumps(event, ensure_ascii=False), 200)
    detail, detail_type = event["detail"], str(event.get("detail-type", "?"))
    when = str(event.get("time", ""))[11:19] or "--:--:--"
    job = f"{detail.get('bucket', '?')}/{detail.get('jobPath', detail.get('jobName', '?'))}"
    return f"{when} {detail_type:<24} {job}: {_summary(detail_type, detail)}"


def _summary(detail_type: str, d: dict[str, Any]) -> str:
    iteration = "final manifest" if d.get("iteration") is None else f"iteration {d.get('iteration')}"
    if detail_type in ("Objects Labeled", "Objects Failed"):
        objects = d.get("objects") or []
        ids = ", ".join(str(o.get("datasetObjectId")) for o in objects[:5] if isinstance(o, dict))
        more = f" +{len(objects) - 5}" if len(objects) > 5 else ""
        verb = "labeled" if detail_type == "Objects Labeled" else "failed"
        return f"{d.get('count', len(objects))} {verb} ({d.get('labelAttributeName')}, {iteration}): {ids}{more}"
    if detail_type == "Validation Failed":
        errors = d.get("errors") or [{}]
        first = errors[0] if isinstance(errors[0], dict) else {}
        return _cut(
            f"{d.get('invalidCount')} invalid lines in {d.get('manifestUri')}; line {first.get('line')}:"
            f" [{first.get('code')}] {first.get('message')}"
        )
    if detail_type == "Labeling Job Completed":
        return (
            f"{d.get('objects')} objects: {d.get('labeled')} labeled, {d.get('failed')} failed,"
            f" {d.get('unlabeled')} unlabeled, {d.get('invalidLines')} invalid; labels {d.get('labelsUri')}"
        )
    if detail_type == "Annotations Consolidated":
        return (
            f"{iteration} object {d.get('datasetObjectId')}: {_label(d.get('label'), d.get('metadata'))}"
            f" (agreement {_number(d.get('agreement'))} of {d.get('workers')} workers, {d.get('method')})"
        )
    if detail_type == "Consolidation Compared":
        verdict = "agrees with" if d.get("agree") else "differs from"
        return f"{iteration} object {d.get('datasetObjectId')}: gtproc {verdict} Ground Truth"
    if detail_type == "Annotation File Invalid":
        return _cut(f"[{d.get('code')}] {d.get('fileUri')}: {d.get('message')}")
    return _cut(json.dumps(d, ensure_ascii=False))


def _label(label: Any, metadata: Any) -> str:
    if isinstance(metadata, dict) and isinstance(metadata.get("class-name"), str):
        return metadata["class-name"]
    if isinstance(label, dict) and isinstance(label.get("annotations"), list):
        return f"{len(label['annotations'])} boxes"
    return _cut(json.dumps(label, ensure_ascii=False), 40)


def _number(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else str(value)


def _cut(text: str, width: int = SUMMARY_WIDTH * 2) -> str:
    text = " ".join(text.split())  # one line, whatever the message holds
    return text if len(text) <= width else text[: width - 1] + "…"
