"""The labels so far (the label-part lines the manifests pipeline writes) back into Ground Truth's
output-line shape: one line per object, in datasetObjectId order, `source` or `source-ref` first,
then `<attr>` and `<attr>-metadata` for each label attribute (chained jobs put several on a line).

A failed object is written as Ground Truth writes it: no `<attr>`, and `<attr>-metadata` holding
`failure-reason`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from gtproc.domain.identity import decimal_index

STATUSES = ("labeled", "failed", "all")


class PartLineError(ValueError):
    """A label-part line that cannot be exported; the message names the rule broken."""


class ExportedObject(msgspec.Struct):
    dataset_object_id: int
    source_key: str  # "source" or "source-ref"
    source: str
    pairs: dict[str, tuple[str, Any]] = msgspec.field(default_factory=dict)  # attribute: (status, label or failure)


class Export(msgspec.Struct):
    """Objects by datasetObjectId; a later line for the same object and attribute replaces an earlier one
    (parts are read in name order, which is the order their versions were committed)."""

    objects: dict[int, ExportedObject] = msgspec.field(default_factory=dict)

    def add(self, record: Any) -> None:
        if not isinstance(record, dict):
            raise PartLineError("a label-part line must be a JSON object")
        oid = record.get("datasetObjectId")
        index = decimal_index(oid) if isinstance(oid, str) else None
        if index is None:
            raise PartLineError(f"datasetObjectId must be a string of digits, got {str(oid)[:40]!r}")
        attribute = record.get("labelAttributeName")
        if not isinstance(attribute, str) or not attribute:
            raise PartLineError("labelAttributeName is missing")
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
        obj = self.objects.get(index)
        if obj is None:
            obj = self.objects[index] = ExportedObject(index, source_key, source)
        obj.pairs[attribute] = (status, value)

    def lines(self, status: str = "all") -> list[dict[str, Any]]:
        """The output lines for `status` (labeled, failed or all), in datasetObjectId order. With a
        status, only that status's pairs are written, and an object with none is left out."""
        out = []
        for index in sorted(self.objects):
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
