"""New-label detection: which facts of a manifest write have not been published for the job yet.

An object counts as labeled, for a label attribute, the first time a valid line carries that label;
rewrites, duplicates and out-of-order writes find it in the ledger and publish nothing again. Only the
job's own label attributes are published: on a chained job's line, the earlier job's pair is input.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import msgspec

from gtproc.domain.groundtruth import (
    MULTILABEL_TYPES,
    SINGLE_LABEL_TYPES,
    LineError,
    TaskType,
    job_name_in,
    normalize_job_name,
    task_type_of,
)
from gtproc.domain.identity import object_index
from gtproc.domain.ledger import FactKey, FactKind, Ledger, fingerprint
from gtproc.domain.scan import ScannedLine
from gtproc.domain.validation import LineStatus


class LineLabel(msgspec.Struct, frozen=True):
    """A line's label of one of the job's attributes (the use case turns it into the event's object)."""

    dataset_object_id: str
    source: str | None
    source_ref: str | None
    label: Any
    metadata: dict[str, Any]
    human_annotated: bool


class LineFailure(msgspec.Struct, frozen=True):
    dataset_object_id: str
    source: str | None
    source_ref: str | None
    failure_reason: str


class LabeledFinding(msgspec.Struct, frozen=True):
    key: FactKey
    object: LineLabel
    publish: bool = True  # False: already published by a run that died; only its label line is missing


class FailedFinding(msgspec.Struct, frozen=True):
    key: FactKey
    object: LineFailure
    publish: bool = True


class InvalidFinding(msgspec.Struct, frozen=True):
    key: FactKey
    errors: list[LineError]


Finding = LabeledFinding | FailedFinding | InvalidFinding


class JobTally(msgspec.Struct):
    """What the final manifest says about the whole job, for `Labeling Job Completed`."""

    objects: int = 0
    labeled: int = 0
    failed: int = 0
    unlabeled: int = 0
    human_labeled: int = 0
    auto_labeled: int = 0
    invalid_lines: int = 0
    class_counts: Counter[str] = msgspec.field(default_factory=Counter)


class Detector:
    def __init__(
        self,
        job_name: str,
        ledger: Ledger,
        tally: JobTally | None = None,
        relabel: set[tuple[str, str, int]] | None = None,
    ) -> None:
        self.job = normalize_job_name(job_name)
        self.ledger = ledger
        self.tally = tally
        # (kind, attribute, index) of facts a dead run published: found again, they yield their label
        # line for the labels so far, without being published again.
        self.relabel = relabel or set()
        # Label pairs of other jobs, {job-name: attributes}: all a manifest holds when its folder is misnamed.
        self.foreign: dict[str, set[str]] = {}

    def is_own(self, attribute: str, pair_job_name: str) -> bool:
        if pair_job_name:
            return normalize_job_name(pair_job_name) == self.job
        # Failed metadata need not name the job: fall back on what is known of the job's attributes.
        return attribute in self.ledger.own_attributes or attribute.lower() == self.job

    def observe(self, line: ScannedLine) -> Iterator[Finding]:
        tally = self.tally
        if line.status is LineStatus.INVALID:
            if tally is not None:
                tally.objects += 1
                tally.invalid_lines += 1
            print_ = fingerprint(line._data)
            if not self.ledger.known(FactKind.INVALID, "", line.index, print_):
                yield InvalidFinding(FactKey(FactKind.INVALID, "", line.index, print_), line.errors)
            return
        source_print = fingerprint(line.source_ref if line.source_ref is not None else line.source)
        # A streaming job's dedup id names the object wherever it appears; other lines, their index.
        index = line.index if line.object_id is None else object_index(line.object_id)
        object_id = str(line.index) if line.object_id is None else line.object_id
        own_labeled = own_failed = None
        for attribute, failed, pair_job_name in line.attributes:
            kind = FactKind.FAILED if failed else FactKind.LABELED
            known = self.ledger.known(kind, attribute, index, source_print)
            relabel = known and (kind, attribute, index) in self.relabel
            # Back at its index after another object: published already, so only its label line again.
            returned = not known and self.ledger.seen_before(kind, attribute, index, source_print)
            if known and tally is None and not relabel:
                if not failed:  # only the job's own labels are ever published: this attribute is its own
                    self.ledger.own_attributes.add(attribute)
                continue
            if failed and not pair_job_name:
                pair_job_name = job_name_in(line.record().get(attribute + "-metadata"))
            if not self.is_own(attribute, pair_job_name):
                if pair_job_name and len(self.foreign) < 16:
                    self.foreign.setdefault(pair_job_name, set()).add(attribute)
                continue
            if failed:
                own_failed = attribute
            else:
                own_labeled = attribute
                self.ledger.own_attributes.add(attribute)
            if known and not relabel:
                continue
            if relabel:
                self.relabel.discard((kind, attribute, index))
            key = FactKey(kind, attribute, index, source_print)
            if returned:
                self.ledger.add(key)  # the index's latest again; committed with the run
            pair = line.pair(attribute)
            # A line names its object by `source-ref` or, failing that, by `source`: never both.
            source, source_ref = (line.source, None) if line.source_ref is None else (None, line.source_ref)
            if failed:
                failure = LineFailure(object_id, source, source_ref, pair.failure_reason or "")
                yield FailedFinding(key, failure, publish=not (relabel or returned))
            else:
                obj = LineLabel(object_id, source, source_ref, pair.label, pair.metadata, pair.human_annotated)
                yield LabeledFinding(key, obj, publish=not (relabel or returned))
        if tally is not None:
            tally.objects += 1
            if own_labeled is not None:
                tally.labeled += 1
                pair = line.pair(own_labeled)
                if pair.human_annotated:
                    tally.human_labeled += 1
                else:
                    tally.auto_labeled += 1
                tally.class_counts.update(class_names(pair.task_type, pair.label, pair.metadata))
            elif own_failed is not None:
                tally.failed += 1
            else:
                tally.unlabeled += 1


def class_names(type_string: str, label: Any, metadata: dict[str, Any]) -> list[str]:
    """The class names a label uses: one per classification, one per box, entity or picked class."""
    task_type = task_type_of(type_string)
    if task_type in SINGLE_LABEL_TYPES:
        name = metadata.get("class-name")
        return [name] if isinstance(name, str) else []
    class_map = metadata.get("class-map") or metadata.get("class_map") or {}
    if task_type in MULTILABEL_TYPES and isinstance(label, list):
        return [str(class_map.get(str(class_id), class_id)) for class_id in label]
    if task_type is TaskType.OBJECT_DETECTION and isinstance(label, dict):
        return [str(class_map.get(str(box.get("class_id")), box.get("class_id"))) for box in label["annotations"]]
    if task_type is TaskType.TEXT_SPAN and isinstance(label, dict):
        return [entity["label"] for entity in label["annotations"]["entities"]]
    return []
