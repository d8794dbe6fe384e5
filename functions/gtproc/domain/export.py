"""The labels so far (the label-part lines the manifests pipeline writes) back into Ground Truth's
output-line shape: one line per object, in datasetObjectId order, `source` or `source-ref` first,
then `<attr>` and `<attr>-metadata` for each label attribute (chained jobs put several on a line).

A failed object is written as Ground Truth writes it: no `<attr>`, and `<attr>-metadata` holding
`failure-reason`. Every pair is checked by `gtproc validate`'s own rules before it is kept, so the export
validates. Objects are named as the ledger names them (`object_index`): "01" is object 1, and a streaming
job's dedup id (any other string) is an object of its own, written after the numbered ones.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gtproc.domain.identity import object_index
from gtproc.domain.validation import Rule, validate_record

STATUSES = ("labeled", "failed", "all")


PART_LINE_RULE = "part-line"  # a line that is no label-part line at all
SOURCE_CONFLICT_RULE = "source-conflict"  # an object seen with two sources
SOURCE_KEYS = ("source", "source-ref")


class PartLineError(ValueError):
    """A label-part line that cannot be exported; `rule` is the code of the rule broken."""

    def __init__(self, message: str, rule: str = PART_LINE_RULE) -> None:
        super().__init__(message)
        self.rule = rule


class ExportedObject(msgspec.Struct):
    dataset_object_id: str  # as the first line for the object spelled it
    source_key: str  # "source" or "source-ref"
    source: str
    pairs: dict[str, tuple[str, Any]] = msgspec.field(default_factory=dict)  # attribute: (status, label or failure)


class Export(msgspec.Struct):
    """Objects by the `object_index` of their datasetObjectId; a later line for the same object and
    attribute replaces an earlier one (parts are read in name order, the order their versions were committed)."""

    objects: dict[int, ExportedObject] = msgspec.field(default_factory=dict)

    def add(self, record: Any) -> None:
        if not isinstance(record, dict):
            raise PartLineError("a label-part line must be a JSON object")
        oid = record.get("datasetObjectId")
        if not isinstance(oid, str) or not oid:
            raise PartLineError(f"datasetObjectId must be a non-empty string, got {str(oid)[:40]!r}")
        attribute = record.get("labelAttributeName")
        if not isinstance(attribute, str) or not attribute:
            raise PartLineError("labelAttributeName is missing")
        if attribute in SOURCE_KEYS:  # the pair would overwrite the line's source
            raise PartLineError(f"label attribute name `{attribute}` is a source key", Rule.ATTRIBUTE_NAME)
        status = record.get("status")
        if status not in ("labeled", "failed"):
            raise PartLineError(f"status must be labeled or failed, got {status!r}")
        if isinstance(record.get("sourceRef"), str):
            source_key, source = "source-ref", record["sourceRef"]
        elif isinstance(record.get("source"), str):
            source_key, source = "source", record["source"]
        else:
            raise PartLineError("neither source nor sourceRef is a string")
        if status == "labeled":
            if "label" not in record or not isinstance(record.get("metadata"), dict):
                raise PartLineError("a labeled object needs label and a metadata object")
            if record.get("labelOmitted"):
                raise PartLineError("the label was left out of this line")
            value: Any = (record["label"], record["metadata"])
        else:
            reason = record.get("failureReason")
            if not isinstance(reason, str):
                raise PartLineError("a failed object needs a failureReason string")
            value = reason
        _check_pair(source_key, source, attribute, value)
        index = object_index(oid)  # the ledger's identity: "01" and "1" are one object
        obj = self.objects.get(index)
        if obj is None:
            obj = self.objects[index] = ExportedObject(oid, source_key, source)
        elif (obj.source_key, obj.source) != (source_key, source):
            # Which of the two is the object cannot be told from the parts: keep the first, say so.
            spelled = "" if obj.dataset_object_id == oid else f" (as {_show(obj.dataset_object_id)})"
            raise PartLineError(
                f"datasetObjectId {_show(oid)} has {obj.source_key} {_show(obj.source)} in an earlier line{spelled},"
                f" {source_key} {_show(source)} here: this line is left out",
                SOURCE_CONFLICT_RULE,
            )
        obj.pairs[attribute] = (status, value)

    def lines(self, status: str = "all") -> list[dict[str, Any]]:
        """The output lines for `status` (labeled, failed or all), in datasetObjectId order. With a
        status, only that status's pairs are written, and an object with none is left out."""
        out = []
        for index in sorted(self.objects, key=self._order):
            obj = self.objects[index]
            line: dict[str, Any] = {obj.source_key: obj.source}
            for attribute, (pair_status, value) in obj.pairs.items():
                if status != "all" and pair_status != status:
                    continue
                if pair_status == "labeled":
                    label, metadata = value
                    line[attribute] = label
                    line[f"{attribute}-metadata"] = metadata
                else:
                    line[f"{attribute}-metadata"] = {"failure-reason": value}
            if len(line) > 1:
                out.append(line)
        return out

    def _order(self, index: int) -> tuple[int, int, str]:
        # Numbered objects by number, then dedup ids (negative hashes) by their text.
        return (0, index, "") if index >= 0 else (1, 0, self.objects[index].dataset_object_id)


def _check_pair(source_key: str, source: str, attribute: str, value: Any) -> None:
    """The pair as its own output line, through `gtproc validate`'s rules: an export it would refuse is
    no export."""
    if isinstance(value, tuple):
        label, metadata = value
        line = {source_key: source, attribute: label, f"{attribute}-metadata": metadata}
    else:
        line = {source_key: source, f"{attribute}-metadata": {"failure-reason": value}}
    errors = validate_record(1, line).errors
    if errors:
        texts = [f"{error.attribute}: {error.message}" if error.attribute else error.message for error in errors]
        rest = "".join(f"; [{error.code}] {text}" for error, text in zip(errors[1:], texts[1:], strict=True))
        raise PartLineError(texts[0] + rest, errors[0].code)


def _show(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
