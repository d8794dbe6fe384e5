"""`gtproc consolidate JOB_DIR [--method NAME] [--label-attribute NAME] [--label-categories FILE] [--element NAME]`

Reads every worker-response file under JOB_DIR/annotations/worker-response/ (all iterations, in
order, carrying worker quality from one iteration to the next) and writes one JSON line per object
to stdout, in Ground Truth's consolidation-response form. Answers of a custom template are read
by their shape under any element name (--element picks one). Exit 0 when every object was consolidated,
1 when some could not be (each named on stderr with the reason; the others are still written), 2 when
the folder cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SOME_FAILED, EXIT_UNREADABLE = 0, 1, 2
MAX_FILE_BYTES = 16 * 1024 * 1024  # as the annotations function's default
_ITERATION = re.compile(r"iteration-(\d+)\Z")


class InputError(Exception):
    pass


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "consolidate",
        help="consolidate the worker responses of a job folder into labels",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job_dir", metavar="JOB_DIR", type=Path, help="the job's output folder (<prefix>/<job>)")
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
    parser.set_defaults(run=run)


def _task_type(text: str) -> str:
    from gtproc.domain.consolidation import METHODS

    name = text.removeprefix("groundtruth/")
    known = sorted(task.value for task in METHODS)
    if name not in known:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(known)}")
    return name


def load_categories(path: Path) -> list[str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
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


def worker_responses(
    job_dir: Path, left_out: dict[tuple[int, str], str] | None = None
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """{iteration: {datasetObjectId: answers}} from the worker-response tree; unusable files go to left_out."""
    left_out = {} if left_out is None else left_out
    root = job_dir / "annotations" / "worker-response"
    if not root.is_dir():
        raise InputError(f"{root} is not a folder: is {job_dir} a Ground Truth job output folder?")
    iterations: dict[int, dict[str, list[dict[str, Any]]]] = {}
    for folder in root.iterdir():
        match = _ITERATION.match(folder.name)
        if not match or not folder.is_dir():
            continue
        objects = iterations.setdefault(int(match.group(1)), {})
        for object_dir in folder.iterdir():
            if not object_dir.name.isdigit():
                continue
            for path in sorted(object_dir.glob("*.json")):
                where = (int(match.group(1)), object_dir.name)
                try:
                    if path.stat().st_size > MAX_FILE_BYTES:
                        left_out[where] = f"{path}: over the limit of {MAX_FILE_BYTES} bytes"
                        continue
                    document = json.loads(path.read_bytes())
                except (OSError, ValueError, RecursionError) as error:
                    reason = "nesting too deep to decode" if isinstance(error, RecursionError) else error
                    left_out[where] = f"{path}: {reason}"
                    continue
                answers = document.get("answers") if isinstance(document, dict) else None
                if not isinstance(answers, list):
                    left_out[where] = f'{path}: no "answers" list'
                    continue
                objects.setdefault(object_dir.name, []).extend(answers)
    if not iterations:
        raise InputError(f"no iteration-<N> folders under {root}")
    return iterations


def run(args: argparse.Namespace) -> int:
    from gtproc.domain import consolidation as cons

    if args.method is not None and not any(args.method in methods for methods in cons.METHODS.values()):
        known = sorted({method for methods in cons.METHODS.values() for method in methods})
        print(f"gtproc consolidate: unknown method {args.method!r}; one of {', '.join(known)}", file=sys.stderr)
        return EXIT_UNREADABLE
    left_out: dict[tuple[int, str], str] = {}
    try:
        categories = load_categories(args.label_categories) if args.label_categories else None
        iterations = worker_responses(args.job_dir, left_out)
    except InputError as error:
        print(f"gtproc consolidate: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    job_name = args.job_dir.resolve().name
    attribute = args.label_attribute or job_name
    masks_dir = args.masks_dir or Path(f"{job_name}-masks")
    prior = None
    failed = 0
    now = datetime.now(UTC).replace(tzinfo=None)
    out = sys.stdout
    for iteration in sorted(iterations):
        objects = dict(sorted(iterations[iteration].items(), key=lambda item: int(item[0])))
        if args.live:
            objects = {oid: objects[oid] for oid in _arrival_order(args.job_dir, iteration, objects)}
            chunks = [{oid: answers} for oid, answers in objects.items()]
        else:
            chunks = [objects]
        for chunk in chunks:
            try:
                result, kept = _consolidate_chunk(
                    cons, args, chunk, iteration, attribute, job_name, categories, prior, now, masks_dir, left_out
                )
            except (ValueError, RecursionError, OverflowError) as error:
                print(f"gtproc consolidate: iteration {iteration}: {error}", file=sys.stderr)
                return EXIT_UNREADABLE
            for oid in chunk.keys() - kept:
                del iterations[iteration][oid]
            # Live: the state as the pipeline stores it (JSON), so the floats carried are the same.
            prior = json.loads(json.dumps(result.quality.to_json())) if args.live else result.quality
            for obj in result.objects:
                if obj.mask_png is not None:
                    path = masks_dir / f"iteration-{iteration}" / f"{obj.dataset_object_id}.png"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(obj.mask_png)
                for uri, png in obj.masks:  # a custom template's mask elements
                    path = Path(urllib.request.url2pathname(urllib.parse.urlparse(uri).path))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(png)
            for line in result.consolidation_response():
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            for failure in result.failures:
                failed += 1
                print(f"gtproc consolidate: object {failure.dataset_object_id}: {failure.reason}", file=sys.stderr)
    out.flush()
    for (iteration, oid), reason in sorted(left_out.items(), key=lambda item: (item[0][0], int(item[0][1]))):
        failed += 1
        # An object whose other files were read was consolidated without this one.
        what = "file skipped" if oid in iterations[iteration] else "left out"
        print(f"gtproc consolidate: iteration {iteration}: object {oid} {what}: {reason}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _arrival_order(job_dir: Path, iteration: int, objects: dict[str, Any]) -> list[str]:
    """Objects in the order `gtproc replay` writes their files: by key (`<id>/<time>.json`)."""
    folder = job_dir / "annotations" / "worker-response" / f"iteration-{iteration}"
    first = {oid: min((f"{oid}/{p.name}" for p in (folder / oid).glob("*.json")), default=oid) for oid in objects}
    return sorted(objects, key=lambda oid: first[oid])


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
    left_out: dict[tuple[int, str], str],
) -> tuple[Any, set[str]]:
    """Consolidate one batch, and name the objects that went in. An object that cannot be
    consolidated on its own (over a bound, a bad value) is left out, with its reason in left_out, and
    the others are consolidated together."""

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
                left_out[(iteration, oid)] = str(error) or type(error).__name__
                del objects[oid]
        return batch(objects), set(objects)
