"""Read a job's output tree, from a local folder or an S3 prefix, into JobFiles.

Files are classified with the contract's key parser (`domain/keys.py`), so the report sees exactly the
files the pipelines would react to. A file that cannot be used is kept as a problem, never raised.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from gtproc.domain.consolidation.answers import parse_answer
from gtproc.domain.jsontext import JsonProblem, decode, finite_number
from gtproc.domain.keys import Area, parse_output_key

Progress = Callable[[int, int], None]  # (files done, files in all)
_READ_THREADS = 16  # S3 GETs are latency-bound: a few in flight at once


_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?\Z")


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time as Ground Truth writes them (`Z`, `+0000`, or no zone: UTC), naive UTC."""
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        return None
    base, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(base)
    except ValueError:
        return None
    if fraction:
        moment += timedelta(microseconds=round(float(fraction) * 1e6))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment


class InputError(Exception):
    """The job cannot be read at all; the message is shown as one line."""


@dataclass(slots=True)
class Answer:
    worker_id: str
    raw: dict[str, Any]  # the answer as the worker-response file holds it
    submitted: str | None
    accepted: str | None
    seconds: float | None  # submission - acceptance, or timeSpentInSeconds


@dataclass(slots=True)
class Manifest:
    where: str
    iteration: int | None  # None: the final manifest
    data: bytes


@dataclass
class JobFiles:
    name: str
    where: str
    manifests: list[Manifest] = field(default_factory=list)  # intermediate by iteration, then the final one
    # {iteration: {datasetObjectId: answers}}, object ids in numeric order
    responses: dict[int, dict[str, list[Answer]]] = field(default_factory=dict)
    # {datasetObjectId: (iteration, content)} from Ground Truth's consolidation-response files, newest last
    ground_truth: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    unusable: list[tuple[str, str]] = field(default_factory=list)  # (file, why)
    labels_so_far: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.manifests or self.responses or self.ground_truth or self.labels_so_far)


class LocalTree:
    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise InputError(f"{root} is not a folder")
        self.root = root
        self.name = root.resolve().name
        self.where = str(root)

    def files(self) -> list[str]:
        return sorted(str(p.relative_to(self.root)) for p in self.root.rglob("*") if p.is_file())

    def read(self, relative: str) -> bytes:
        return (self.root / relative).read_bytes()

    def display(self, relative: str) -> str:
        return str(self.root / relative)


class S3Tree:
    """`s3://bucket/prefix/job/`: the default credential chain, AWS_ENDPOINT_URL honoured (adapters.aws)."""

    def __init__(self, uri: str) -> None:
        from gtproc.adapters.s3 import S3Objects, parse_s3_uri

        try:
            self.bucket, key = parse_s3_uri(uri if uri.endswith("/") else uri + "/")
        except ValueError as error:
            raise InputError(str(error)) from None
        self.prefix = key.rstrip("/") + "/"
        self.name = self.prefix.rstrip("/").rsplit("/", 1)[-1]
        self.where = f"s3://{self.bucket}/{self.prefix}"
        self.store = S3Objects()

    def files(self) -> list[str]:
        return sorted(
            key[len(self.prefix) :] for key in _s3_call(self.where, self.store.list_keys, self.bucket, self.prefix)
        )

    def read(self, relative: str) -> bytes:
        from gtproc.usecases.ports import ObjectMissing

        try:
            return _s3_call(self.display(relative), self.store.read, self.bucket, self.prefix + relative)
        except ObjectMissing:
            raise OSError("it was deleted while the report was read") from None

    def display(self, relative: str) -> str:
        return f"s3://{self.bucket}/{self.prefix}{relative}"


def _s3_call(where: str, call: Callable[..., Any], *args: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return call(*args)
    except ClientError as error:
        raise InputError(f"cannot read {where}: {error.response.get('Error', {}).get('Message', error)}") from None
    except BotoCoreError as error:
        raise InputError(f"cannot read {where}: {error}") from None


def open_tree(location: str) -> LocalTree | S3Tree:
    return S3Tree(location) if location.startswith("s3://") else LocalTree(Path(location))


def read_labels_so_far(uri: str) -> list[dict[str, Any]]:
    """Every line of the `part-*.jsonl` files directly under a `labelsUri`, parts in name order (a job
    nested in this job's path keeps its parts one folder deeper: they are not this job's)."""
    tree = S3Tree(uri)
    labels: list[dict[str, Any]] = []
    for relative in tree.files():
        if "/" in relative or not relative.startswith("part-"):
            continue
        for number, line in enumerate(tree.read(relative).splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = decode(line)
            except JsonProblem as error:
                raise InputError(f"{tree.display(relative)}:{number}: not JSON: {error}") from None
            if isinstance(item, dict) and "datasetObjectId" in item:
                labels.append(item)
    return labels


def load_job(location: str, labels_uri: str | None = None, progress: Progress | None = None) -> JobFiles:
    tree = open_tree(location)
    job = JobFiles(tree.name, tree.where)
    wanted = []
    for relative in tree.files():
        parsed = parse_output_key(f"{tree.name}/{relative}")
        if parsed is None or parsed.job_name != tree.name or parsed.prefix:
            continue
        if parsed.area is Area.WORKER_RESPONSE and parsed.is_video_frame:
            continue
        if parsed.area in (Area.WORKER_RESPONSE, Area.CONSOLIDATION_RESPONSE) or parsed.is_manifest:
            wanted.append((relative, parsed))
    contents = _read_all(tree, [relative for relative, _ in wanted], progress)
    responses: dict[int, dict[int, list[Answer]]] = {}
    consolidations = []
    for (relative, parsed), data in zip(wanted, contents, strict=True):
        where = tree.display(relative)
        if isinstance(data, str):
            job.unusable.append((where, data))
        elif parsed.is_manifest:
            job.manifests.append(Manifest(where, parsed.iteration, data))
            if not data.strip():
                job.unusable.append((where, "an empty manifest (0 objects)"))
        elif parsed.area is Area.WORKER_RESPONSE:
            answers = _answers(where, data, job.unusable)
            if answers:
                responses.setdefault(parsed.iteration or 0, {}).setdefault(parsed.object_index or 0, []).extend(answers)
        else:
            consolidations.append((parsed.iteration or 0, relative, where, data))
    job.manifests.sort(key=lambda m: (m.iteration is None, m.iteration or 0))
    job.responses = {
        iteration: {str(oid): objects[oid] for oid in sorted(objects)}
        for iteration, objects in sorted(responses.items())
    }
    for iteration, _, where, data in sorted(consolidations, key=lambda c: (c[0], c[1])):
        _consolidation_response(where, iteration, data, job)
    if labels_uri:
        job.labels_so_far = read_labels_so_far(labels_uri)
    return job


def _read_all(tree: LocalTree | S3Tree, relatives: list[str], progress: Progress | None) -> list[bytes | str]:
    """Each file's bytes, or why it could not be read (a str)."""

    def read(relative: str) -> bytes | str:
        try:
            return tree.read(relative)
        except OSError as error:
            return f"cannot read it: {error.strerror or error}"
        except InputError as error:
            return str(error)

    total = len(relatives)
    results: list[bytes | str] = []
    if isinstance(tree, S3Tree) and total > 1:
        with ThreadPoolExecutor(_READ_THREADS) as pool:
            for data in pool.map(read, relatives):
                results.append(data)
                _tick(progress, len(results), total)
    else:
        for relative in relatives:
            results.append(read(relative))
            _tick(progress, len(results), total)
    return results


def _tick(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and (done == total or done % 200 == 0):
        progress(done, total)


def _answers(where: str, data: bytes, unusable: list[tuple[str, str]]) -> list[Answer]:
    try:
        document = decode(data)
    except JsonProblem as error:
        unusable.append((where, f"not JSON: {error}"))
        return []
    raw_answers = document.get("answers") if isinstance(document, dict) else None
    if not isinstance(raw_answers, list):
        unusable.append((where, 'no "answers" list'))
        return []
    answers, bad = [], []
    for position, raw in enumerate(raw_answers):
        try:
            parsed = parse_answer(raw)
        except ValueError as error:
            bad.append(f"answer {position}: {error}")
            continue
        answers.append(Answer(parsed.worker_id, raw, *_times(raw)))
    if bad:
        unusable.append((where, "; ".join(bad[:3]) + (f" (+{len(bad) - 3} more)" if len(bad) > 3 else "")))
    return answers


def _times(raw: dict[str, Any]) -> tuple[str | None, str | None, float | None]:
    submitted, accepted = raw.get("submissionTime"), raw.get("acceptanceTime")
    submitted = submitted if isinstance(submitted, str) else None
    accepted = accepted if isinstance(accepted, str) else None
    seconds = None
    if submitted and accepted:
        start, end = parse_time(accepted), parse_time(submitted)
        if start is not None and end is not None and end >= start:
            seconds = (end - start).total_seconds()
    if seconds is None and accepted:
        seconds = finite_number(raw.get("timeSpentInSeconds"))
    return submitted, accepted, seconds


def _consolidation_response(where: str, iteration: int, data: bytes, job: JobFiles) -> None:
    try:
        document = decode(data)
    except JsonProblem as error:
        job.unusable.append((where, f"not JSON: {error}"))
        return
    if not isinstance(document, list):
        job.unusable.append((where, "not a JSON array of consolidations"))
        return
    for item in _items(document):
        content = (item.get("consolidatedAnnotation") or {}).get("content")
        if isinstance(content, dict) and item.get("datasetObjectId") is not None:
            job.ground_truth[str(item["datasetObjectId"])] = (iteration, content)


def _items(document: list[Any]) -> Iterator[dict[str, Any]]:
    return (item for item in document if isinstance(item, dict))
