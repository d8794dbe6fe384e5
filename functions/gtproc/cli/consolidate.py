"""`gtproc consolidate JOB_DIR [--method NAME] [--label-attribute NAME] [--label-categories FILE]`

Reads every worker-response file under JOB_DIR/annotations/worker-response/ (all iterations, in
order, carrying worker quality from one iteration to the next) and writes one JSON line per object
to stdout, in Ground Truth's consolidation-response form. Exit 0 when every object was consolidated,
1 when some could not be (reported on stderr), 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_SOME_FAILED, EXIT_UNREADABLE = 0, 1, 2
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


def worker_responses(job_dir: Path) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """{iteration: {datasetObjectId: answers}} from the worker-response tree."""
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
                try:
                    document = json.loads(path.read_bytes())
                except (OSError, ValueError) as error:
                    print(f"gtproc consolidate: skipping {path}: {error}", file=sys.stderr)
                    continue
                answers = document.get("answers") if isinstance(document, dict) else None
                if not isinstance(answers, list):
                    print(f'gtproc consolidate: skipping {path}: no "answers" list', file=sys.stderr)
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
    try:
        categories = load_categories(args.label_categories) if args.label_categories else None
        iterations = worker_responses(args.job_dir)
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
        if getattr(args, "live", False):
            objects = {oid: objects[oid] for oid in _arrival_order(args.job_dir, iteration, objects)}
            chunks = [{oid: answers} for oid, answers in objects.items()]
        else:
            chunks = [objects]
        for chunk in chunks:
            code, prior, some_failed = _consolidate_chunk(
                cons, args, chunk, iteration, attribute, job_name, categories, prior, now, masks_dir, out
            )
            failed += some_failed
            if code is not None:
                return code
    out.flush()
    return EXIT_SOME_FAILED if failed else EXIT_OK


def _arrival_order(job_dir: Path, iteration: int, objects: dict[str, Any]) -> list[str]:
    """Objects in the order `gtproc replay` writes their files: by key (`<id>/<time>.json`)."""
    folder = job_dir / "annotations" / "worker-response" / f"iteration-{iteration}"
    first = {oid: min((f"{oid}/{p.name}" for p in (folder / oid).glob("*.json")), default=oid) for oid in objects}
    return sorted(objects, key=lambda oid: first[oid])


def _consolidate_chunk(cons, args, objects, iteration, attribute, job_name, categories, prior, now, masks_dir, out):
    """Consolidate one batch; returns (exit code or None, the quality to carry, failures)."""
    failed = 0
    try:
        result = cons.consolidate(
            args.task_type,
            objects,
            label_attribute_name=attribute,
            job_name=job_name,
            categories=categories,
            method=args.method,
            prior=prior,
            creation_date=now,
            mask_uri=lambda oid, it=iteration: (masks_dir / f"iteration-{it}" / f"{oid}.png").resolve().as_uri(),
        )
    except ValueError as error:
        print(f"gtproc consolidate: iteration {iteration}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE, prior, failed
    # Live: the state as the pipeline stores it (JSON), so the floats carried are the same.
    prior = json.loads(json.dumps(result.quality.to_json())) if getattr(args, "live", False) else result.quality
    for obj in result.objects:
        if obj.mask_png is not None:
            path = masks_dir / f"iteration-{iteration}" / f"{obj.dataset_object_id}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(obj.mask_png)
    for line in result.consolidation_response():
        out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    for failure in result.failures:
        failed += 1
        print(f"gtproc consolidate: object {failure.dataset_object_id}: {failure.reason}", file=sys.stderr)
    return None, prior, failed
