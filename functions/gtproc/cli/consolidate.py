"""`gtproc consolidate JOB_DIR [--method NAME] [--label-attribute NAME] [--label-categories FILE] [--element NAME]`

Reads every worker-response file under JOB_DIR/annotations/worker-response/ (all iterations, in
order, carrying worker quality from one iteration to the next) and writes one JSON line per object
to stdout, in Ground Truth's consolidation-response form, then a summary line on stderr (`--json`:
one JSON object instead). Answers of a custom template are read by their shape under any element name
(--element picks one). Exit 0 when every object was consolidated from every answer, 1 when an object
was left out (an unusable worker-response file, no usable answer, over a bound) or an answer was not
used (no label, a broken mask, another task type's): each named on stderr, the others still written;
2 when the input cannot be read or an option is wrong (a label attribute Ground Truth would refuse,
categories that lack classes the answers use).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SOME_FAILED, EXIT_UNREADABLE = 0, 1, 2
MAX_FILE_BYTES = 16 * 1024 * 1024  # as the annotations function's default
_ITERATION = re.compile(r"iteration-([0-9]+)\Z")


def _is_object_index(name: str) -> bool:
    """Ground Truth's `<idx>` folder: ASCII digits (`str.isdigit` also takes '²', which `int` refuses)."""
    return name.isascii() and name.isdigit()


class InputError(Exception):
    pass


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "consolidate",
        help="consolidate the worker responses of a job folder into labels",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "job_dir", metavar="JOB_DIR", help="the job's output folder (<prefix>/<job>), local or s3://bucket/prefix/job/"
    )
    parser.add_argument("--method", metavar="NAME", help="consolidation method (default: the best for the task)")
    parser.add_argument("--label-attribute", metavar="NAME", help="label attribute name (default: the job name)")
    parser.add_argument(
        "--label-categories",
        metavar="FILE",
        type=Path,
        help='label categories: Ground Truth\'s category file ({"labels": [{"label": ...}]}) or a JSON list',
    )
    parser.add_argument(
        "--task-type",
        metavar="TYPE",
        type=_task_type,
        help="task type, e.g. image-classification or groundtruth/object-detection (default: inferred)",
    )
    parser.add_argument(
        "--element",
        metavar="NAME",
        help="custom templates: consolidate only this element of the answers (default: every element)",
    )
    parser.add_argument("--masks-dir", metavar="DIR", type=Path, help="where segmentation masks are written")
    parser.add_argument(
        "--live",
        action="store_true",
        help="as the deployed pipeline does: each object alone, in arrival order, with the quality so far",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the summary on stderr as one JSON object instead of a line"
    )
    parser.set_defaults(run=run)


def _task_type(text: str) -> str:
    from gtproc.domain.consolidation import METHODS

    name = text.removeprefix("groundtruth/")
    known = sorted(task.value for task in METHODS)
    if name not in known:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(known)}")
    return name


def load_categories(path: Path) -> list[str]:
    from gtproc.domain.jsontext import decode

    try:
        document = decode(path.read_bytes())
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise InputError(f"{path} is not JSON: {error}") from None
    if isinstance(document, dict) and isinstance(document.get("labels"), list):
        return [str(entry["label"]) for entry in document["labels"] if isinstance(entry, dict) and "label" in entry]
    if isinstance(document, list) and all(isinstance(name, str) for name in document):
        if not document:
            raise InputError(f"{path}: the category list is empty")
        return document
    raise InputError(f'{path}: expected {{"labels": [{{"label": ...}}]}} or a JSON list of names')


@dataclass
class Responses:
    """{iteration: {datasetObjectId: answers}}, and the files that could not be used, per object."""

    iterations: dict[int, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    unreadable: dict[tuple[int, str], list[str]] = field(default_factory=dict)  # (iteration, id): reasons
    first_file: dict[tuple[int, str], str] = field(default_factory=dict)  # (iteration, id): first `<id>/<name>`

    def add(self, iteration: int, oid: str, name: str, where: str, data: bytes | str) -> None:
        """One worker-response file: its bytes, or why it could not be read."""
        oid = str(int(oid))  # folder `095` is object 95, as the annotations function reads the key
        objects = self.iterations.setdefault(iteration, {})
        file_key = f"{oid}/{name}"
        if (iteration, oid) not in self.first_file or file_key < self.first_file[(iteration, oid)]:
            self.first_file[(iteration, oid)] = file_key
        problem = data if isinstance(data, str) else None
        answers: list[dict[str, Any]] = []
        if problem is None:
            from gtproc.domain.jsontext import decode

            try:
                document = decode(data)
            except ValueError as error:
                problem = f"not readable JSON: {error}"
            else:
                found = document.get("answers") if isinstance(document, dict) else None
                if not isinstance(found, list):
                    problem = 'no "answers" list'
                else:
                    answers, problem = _usable_answers(found)
        if problem is not None:
            print(f"gtproc consolidate: {where}: {problem}", file=sys.stderr)
            self.unreadable.setdefault((iteration, oid), []).append(f"{name}: {problem}")
        if answers or problem is None:  # an empty list is read: the object is left out by name, not lost
            objects.setdefault(oid, []).extend(answers)


def _usable_answers(found: list[Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The answers consolidation can read, and why the others cannot (named by position), or None.
    A bad answer is this file's problem: it must not stop the job's other objects."""
    from gtproc.domain.consolidation import parse_answer

    usable, bad = [], []
    for position, raw in enumerate(found):
        try:
            parse_answer(raw)
        except (ValueError, RecursionError) as error:
            bad.append(f"answer {position}: {error}")
        else:
            usable.append(raw)
    if not bad:
        return usable, None
    more = f" (+{len(bad) - 3} more)" if len(bad) > 3 else ""
    return usable, "; ".join(bad[:3]) + more


def worker_responses(job_dir: Path, show_progress: bool = False) -> Responses:
    """The worker-response tree; a file that cannot be used is named on stderr and recorded."""
    from gtproc.cli.progress import bar

    root = job_dir / "annotations" / "worker-response"
    if not root.is_dir():
        raise InputError(f"{root} is not a folder: is {job_dir} a Ground Truth job output folder?")
    found = Responses()
    files: list[tuple[int, str, Path]] = []
    for folder in root.iterdir():
        match = _ITERATION.match(folder.name)
        if not match or not folder.is_dir():
            continue
        iteration = int(match.group(1))
        found.iterations.setdefault(iteration, {})
        for object_dir in folder.iterdir():
            if _is_object_index(object_dir.name):
                files.extend((iteration, object_dir.name, path) for path in sorted(object_dir.glob("*.json")))
    if not found.iterations:
        raise InputError(f"no iteration-<N> folders under {root}")
    progress = bar(str(job_dir), len(files), "files", show_progress)
    try:
        for iteration, oid, path in files:
            data: bytes | str
            try:
                if path.stat().st_size > MAX_FILE_BYTES:
                    data = f"over the limit of {MAX_FILE_BYTES} bytes"
                else:
                    data = path.read_bytes()
            except OSError as error:  # a folder named *.json, a symlink loop: the reason, not Python's text
                data = f"cannot read it: {error.strerror or error}"
            found.add(iteration, oid, path.name, str(path), data)
            progress.advance()
    finally:
        progress.close()
    return found


def s3_worker_responses(uri: str, show_progress: bool) -> Responses:
    """The same from `s3://bucket/prefix/job/`: a paginated listing, then parallel GETs. A file that
    cannot be read (denied, gone since the listing) is named and left out, as a local one would be."""
    from gtproc.adapters.s3source import S3Source, SourceError, parse_location
    from gtproc.cli.progress import bar

    try:
        job = parse_location(uri)
        source = S3Source()
        root = job.prefix + "annotations/worker-response/"
        listed = source.list(type(job)(job.bucket, root))
    except SourceError as error:
        raise InputError(str(error)) from None
    files: list[tuple[int, str, str, str, int]] = []  # iteration, id, name, key, size
    for key, size in listed:
        parts = key[len(root) :].split("/")
        match = _ITERATION.match(parts[0])
        # iteration-<N>/<id>/<time>.json, as the local glob takes it (video frames sit one level deeper)
        if not match or len(parts) != 3 or not _is_object_index(parts[1]) or not parts[2].endswith(".json"):
            continue
        files.append((int(match.group(1)), parts[1], parts[2], key, size))
    if not files:
        if not listed and not source.list(job):
            raise InputError(f"{job.uri}: nothing under this prefix: is it a Ground Truth job output folder?")
        raise InputError(f"no iteration-<N>/<id>/*.json worker responses under s3://{job.bucket}/{root}")
    found = Responses()
    wanted = [key for _, _, _, key, size in files if size <= MAX_FILE_BYTES]
    progress = bar(job.uri, len(files), "files", show_progress)
    bodies: dict[str, bytes | str] = {}
    try:
        for key, body in source.read_many(job.bucket, wanted, MAX_FILE_BYTES, progress.advance):
            bodies[key] = str(body) if isinstance(body, SourceError) else body
        failed = [problem for problem in bodies.values() if isinstance(problem, str)]
        if failed and len(failed) == len(files):  # e.g. no s3:GetObject: the input cannot be read at all
            raise InputError(f"none of the {len(files)} worker-response files could be read: {failed[0]}")
        for iteration, oid, name, key, size in files:
            if size > MAX_FILE_BYTES:
                progress.advance()
                found.add(iteration, oid, name, f"s3://{job.bucket}/{key}", f"over the limit of {MAX_FILE_BYTES} bytes")
            else:
                found.add(iteration, oid, name, f"s3://{job.bucket}/{key}", bodies.pop(key))
    finally:
        progress.close()
    return found


def check_options(
    args: argparse.Namespace, attribute: str, categories: list[str] | None, responses: Responses
) -> tuple[str | None, Any]:
    """Why the options cannot give output Ground Truth (and `gtproc validate`) would accept, or None; and
    the job's task type, from all of its answers (None when it has none)."""
    from gtproc.domain import consolidation as cons
    from gtproc.domain.validation import label_attribute_problem

    everything = {
        f"{iteration}/{oid}": answers
        for iteration, objects in responses.iterations.items()
        for oid, answers in objects.items()
    }
    if not everything:
        return None, None
    try:
        task = cons.task_of(args.task_type, everything)
    except ValueError as error:
        return str(error), None
    problem = label_attribute_problem(attribute, task.groundtruth_type)
    if problem is not None:
        if args.label_attribute is not None:
            return f"--label-attribute: {problem}", task
        # The attribute defaulted to the job folder's name: name the folder, and the flag as the way out.
        hint = "hint: pass --label-attribute NAME"
        return f"job folder name {attribute!r} as the label attribute: {problem}; {hint}", task
    if categories is not None:
        used = cons.answer_classes(task, everything)
        missing = sorted(used - set(categories))
        if missing:
            return (
                f"--label-categories {args.label_categories}: the answers also use"
                f" {', '.join(map(repr, missing))}, which the list lacks; their answers would be dropped"
            ), task
    return None, task


def run(args: argparse.Namespace) -> int:
    from gtproc.domain import consolidation as cons

    if args.method is not None and not any(args.method in methods for methods in cons.METHODS.values()):
        known = sorted({method for methods in cons.METHODS.values() for method in methods})
        print(f"gtproc consolidate: unknown method {args.method!r}; one of {', '.join(known)}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        categories = load_categories(args.label_categories) if args.label_categories else None
        from gtproc.cli.progress import on_terminal

        if args.job_dir.startswith("s3://"):
            responses = s3_worker_responses(args.job_dir, on_terminal())
            job_name = args.job_dir.rstrip("/").rsplit("/", 1)[-1]
        else:
            responses = worker_responses(Path(args.job_dir), on_terminal())
            job_name = Path(args.job_dir).resolve().name
    except InputError as error:
        print(f"gtproc consolidate: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    iterations = responses.iterations
    attribute = args.label_attribute or job_name
    problem, task = check_options(args, attribute, categories, responses)
    if problem is not None:
        print(f"gtproc consolidate: {problem}", file=sys.stderr)
        return EXIT_UNREADABLE
    # Every batch takes the job's type: one object (--live) or one iteration alone could read as
    # another type, and its quality state would not carry over to the next.
    if args.element is None and task is not None:
        args.task_type = task.value
    masks_dir = args.masks_dir or Path(f"{job_name}-masks")
    prior = None
    summary = Summary()
    now = datetime.now(UTC).replace(tzinfo=None)
    out = sys.stdout
    for iteration in sorted(iterations):
        objects = dict(sorted(iterations[iteration].items(), key=lambda item: int(item[0])))
        summary.iterations += 1
        for (unread_iteration, oid), reasons in sorted(responses.unreadable.items()):
            if unread_iteration == iteration and oid not in objects:
                summary.leave_out(iteration, oid, "no usable worker-response file (" + "; ".join(reasons) + ")")
        if args.live:
            objects = {oid: objects[oid] for oid in _arrival_order(responses, iteration, objects)}
            chunks = [{oid: answers} for oid, answers in objects.items()]
        else:
            chunks = [objects] if objects else []
        for chunk in chunks:
            try:
                result, kept = _consolidate_chunk(
                    cons, args, chunk, iteration, attribute, job_name, categories, prior, now, masks_dir, summary
                )
            except (ValueError, RecursionError, OverflowError) as error:
                print(f"gtproc consolidate: iteration {iteration}: {error}", file=sys.stderr)
                return EXIT_UNREADABLE
            if result is None:
                continue
            # Live: the state as the pipeline stores it (JSON), so the floats carried are the same.
            prior = json.loads(json.dumps(result.quality.to_json())) if args.live else result.quality
            if kept:
                summary.task = summary.task or result.task_type.value
                summary.method = summary.method or args.method or next((o.method for o in result.objects), "")
            try:
                _write_masks(result.objects, masks_dir, iteration)
            except OSError as error:  # e.g. --masks-dir names a file
                where = error.filename or masks_dir
                print(f"gtproc consolidate: cannot write a mask to {where}: {error.strerror or error}", file=sys.stderr)
                return EXIT_UNREADABLE
            lines = result.consolidation_response()
            for line in lines:
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            summary.consolidated += len(lines)
            for unused in result.unused:
                summary.skip(iteration, unused, whole=True)
            for unused in result.unused_shapes:
                summary.skip(iteration, unused, whole=False)
            for failure in result.failures:
                summary.leave_out(iteration, failure.dataset_object_id, failure.reason)
        for (unread_iteration, oid), reasons in responses.unreadable.items():
            if unread_iteration == iteration and oid in objects and not summary.is_left_out(iteration, oid):
                summary.partial.append({"iteration": iteration, "datasetObjectId": oid, "skipped": reasons})
    out.flush()
    summary.report(args.json)
    unused = summary.unused or summary.unused_shapes
    return EXIT_SOME_FAILED if summary.left_out or summary.partial or unused else EXIT_OK


def _write_masks(objects: Any, masks_dir: Path, iteration: int) -> None:
    for obj in objects:
        if obj.mask_png is not None:
            path = masks_dir / f"iteration-{iteration}" / f"{obj.dataset_object_id}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(obj.mask_png)
        for uri, png in obj.masks:  # a custom template's mask elements
            path = Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(png)


def _arrival_order(responses: Responses, iteration: int, objects: dict[str, Any]) -> list[str]:
    """Objects in the order `gtproc replay` writes their files: by key (`<id>/<time>.json`)."""
    return sorted(objects, key=lambda oid: responses.first_file.get((iteration, oid), oid))


def _consolidate_chunk(
    cons: Any,
    args: argparse.Namespace,
    objects: dict[str, list[dict[str, Any]]],
    iteration: int,
    attribute: str,
    job_name: str,
    categories: list[str] | None,
    prior: Any,
    now: datetime,
    masks_dir: Path,
    summary: Summary,
) -> tuple[Any, set[str]]:
    """Consolidate one batch, and name the objects that went in. An object that cannot be
    consolidated on its own (over a bound, a bad value) is left out, named in the summary, and the
    others are consolidated together."""

    def batch(objects: dict[str, list[dict[str, Any]]]) -> Any:
        return cons.consolidate(
            args.task_type,
            objects,
            label_attribute_name=attribute,
            job_name=job_name,
            categories=categories,
            method=args.method,
            prior=prior,
            creation_date=now,
            mask_uri=lambda oid: (masks_dir / f"iteration-{iteration}" / f"{oid}.png").resolve().as_uri(),
            element=args.element,
        )

    objects = dict(objects)
    try:
        return batch(objects), set(objects)
    except (ValueError, RecursionError, OverflowError):
        for oid in list(objects):
            try:
                batch({oid: objects[oid]})
            except (ValueError, RecursionError, OverflowError) as error:
                summary.leave_out(iteration, oid, str(error) or type(error).__name__)
                del objects[oid]
        if not objects:  # nothing left: no batch, and the quality carried stays as it was
            return None, set()
        return batch(objects), set(objects)


@dataclass
class Summary:
    iterations: int = 0
    consolidated: int = 0
    task: str = ""
    method: str = ""
    left_out: list[dict[str, Any]] = field(default_factory=list)
    partial: list[dict[str, Any]] = field(default_factory=list)  # consolidated without some unreadable file
    unused: list[dict[str, Any]] = field(default_factory=list)  # answers that went into no label
    unused_shapes: list[dict[str, Any]] = field(default_factory=list)  # answers used without some shapes

    def leave_out(self, iteration: int, oid: str, reason: str) -> None:
        print(f"gtproc consolidate: iteration {iteration}, object {oid} left out: {reason}", file=sys.stderr)
        self.left_out.append({"iteration": iteration, "datasetObjectId": oid, "reason": reason})

    def skip(self, iteration: int, unused: Any, whole: bool) -> None:
        """An answer not used (whole), or used without some of its shapes."""
        oid, worker, reason = unused.dataset_object_id, unused.worker_id, unused.reason
        what = f" is not used: {reason}" if whole else f": {reason}, not used"
        print(
            f"gtproc consolidate: iteration {iteration}, object {oid}: the answer of worker {worker}{what}",
            file=sys.stderr,
        )
        entry = {"iteration": iteration, "datasetObjectId": oid, "workerId": worker, "reason": reason}
        (self.unused if whole else self.unused_shapes).append(entry)

    def is_left_out(self, iteration: int, oid: str) -> bool:
        return any(item["iteration"] == iteration and item["datasetObjectId"] == oid for item in self.left_out)

    def report(self, as_json: bool) -> None:
        objects = self.consolidated + len(self.left_out)
        if as_json:
            document = {
                "objects": objects,
                "consolidated": self.consolidated,
                "leftOut": len(self.left_out),
                "method": self.method or None,
                "taskType": self.task or None,
                "iterations": self.iterations,
                "leftOutObjects": self.left_out,
                "objectsMissingFiles": self.partial,
                "unusedAnswers": self.unused,
                "unusedShapes": self.unused_shapes,
            }
            print(json.dumps(document, separators=(",", ":")), file=sys.stderr)
            return
        partial = f", {len(self.partial)} consolidated without an unreadable file" if self.partial else ""
        if self.unused:
            partial += f", {len(self.unused)} answer{'' if len(self.unused) == 1 else 's'} not used"
        if self.unused_shapes:
            n = len(self.unused_shapes)
            partial += f", {n} answer{'' if n == 1 else 's'} used without some shapes"
        method = f"; method {self.method} ({self.task})" if self.method else ""
        print(
            f"gtproc consolidate: {objects} object{'' if objects == 1 else 's'}: {self.consolidated} consolidated,"
            f" {len(self.left_out)} left out{partial}{method}; {self.iterations} iteration"
            f"{'' if self.iterations == 1 else 's'}",
            file=sys.stderr,
        )
