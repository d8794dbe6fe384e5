"""Builders and hypothesis strategies of output-manifest lines, valid and broken on purpose.

Shared by the format tests: `from tests.unit.format.format_builders import ...`.
"""

from __future__ import annotations

import copy
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from gtproc.domain.validation import LineStatus, Rule
from hypothesis import settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=100, deadline=None, database=None)
DATE = "2024-05-01T10:11:12.123456"

# ---- fixed examples -------------------------------------------------------------------------------


def meta(type_: str, job: str = "job", **extra: Any) -> dict[str, Any]:
    base = {"job-name": f"labeling-job/{job}", "human-annotated": "yes", "creation-date": DATE, "type": type_}
    base.update({key.replace("_", "-"): value for key, value in extra.items()})
    return base


def line(
    attribute: str | None,
    label: Any,
    metadata: Any,
    source_ref: str | None = "s3://b/img/0001.jpg",
    source: str | None = None,
    **inputs: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if source_ref is not None:
        record["source-ref"] = source_ref
    if source is not None:
        record["source"] = source
    record.update(inputs)
    if attribute is not None:
        if label is not MISSING:
            record[attribute] = label
        record[f"{attribute}-metadata"] = metadata
    return record


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()  # a label that is absent (failed objects)


def classification(label: Any = 1, **extra: Any) -> dict[str, Any]:
    return line(
        "birds", label, meta("groundtruth/image-classification", "birds", class_name="Falcon", confidence=0.95, **extra)
    )


def bbox(boxes: list[dict[str, Any]] | None = None, attribute: str = "cats", **extra: Any) -> dict[str, Any]:
    if boxes is None:
        boxes = [{"class_id": 0, "left": 237, "top": 165, "width": 164, "height": 157}]
    ids = {str(box.get("class_id")) for box in boxes if isinstance(box, dict)}
    metadata = meta(
        "groundtruth/object-detection",
        attribute,
        class_map={i: f"c{i}" for i in ids},
        objects=[{"confidence": 0.09} for _ in boxes],
    )
    metadata.update({key.replace("_", "-"): value for key, value in extra.items()})
    label = {"annotations": boxes, "image_size": [{"width": 601, "height": 453, "depth": 3}]}
    return line(attribute, label, metadata)


def multilabel(label: Any = None, **extra: Any) -> dict[str, Any]:
    label = [6, 0] if label is None else label
    metadata = meta(
        "groundtruth/image-classification-multilabel",
        "bg",
        class_map={"6": "clouds", "0": "Canyon"},
        confidence_map={"6": 0.0, "0": 0.0},
    )
    metadata.update({key.replace("_", "-"): value for key, value in extra.items()})
    return line("bg-labeling", label, metadata)


def semseg(attribute: str = "S10-label3-ref", label: Any = None, **extra: Any) -> dict[str, Any]:
    label = (
        "s3://b/out/job/annotations/consolidated-annotation/output/0_2022-09-09T17:25:31.918770.png"
        if label is None
        else label
    )
    metadata = meta(
        "groundtruth/semantic-segmentation",
        "s10-label3",
        internal_color_map={
            "0": {"class-name": "BACKGROUND", "hex-color": "#ffffff", "confidence": 0},
            "1": {"class-name": "IC", "hex-color": "#2ca02c", "confidence": 0},
        },
    )
    metadata.update({key.replace("_", "-"): value for key, value in extra.items()})
    return line(attribute, label, metadata)


def text_span(entities: list[dict[str, Any]] | None = None, confidences: int | None = None) -> dict[str, Any]:
    if entities is None:
        entities = [{"endOffset": 22, "startOffset": 16, "label": "Date"}]
    count = len(entities) if confidences is None else confidences
    label = {"annotations": {"entities": entities, "labels": [{"label": "Date"}, {"label": "Person"}]}}
    metadata = meta("groundtruth/text-span", "ner", entities=[{"confidence": 0.08}] * count)
    return line("ner", label, metadata, source_ref=None, source="Bob was born on Jan 1 1990 in Springfield")


def custom(label: Any = None, **extra: Any) -> dict[str, Any]:
    label = {"annotation-ref": "s3://b/annotations/Letter 36-1-21e16c6e-ann.json"} if label is None else label
    metadata = {
        "type": "groundtruth/custom",
        "job-name": "legal-entity",
        "human-annotated": "yes",
        "creation-date": "2022-01-04T17:49:31.536000",
    }
    metadata.update({key.replace("_", "-"): value for key, value in extra.items()})
    return line("legal-entity", label, metadata)


def failed(reason: Any = "ClientError: worker task expired") -> dict[str, Any]:
    return line("birds", MISSING, {"failure-reason": reason})


def encode(record: Any) -> bytes:
    return orjson.dumps(record)


# ---- strategies of valid lines ---------------------------------------------------------------------

INPUT_KEYS = ["input_note", "input_page", "annotator-metadata", "input_meta"]
RESERVED = {"source", "annotator", "input"}

confidences = st.one_of(st.sampled_from([0, 0.0, 0.09, 0.95, 1, 1.0]), st.floats(0, 1))


@st.composite
def class_ids(draw: st.DrawFn, low: int = 0, high: int = 30) -> int | str:
    """Class ids: int or numeric string (docs), always canonical (no leading zeros)."""
    value = draw(st.integers(low, high))
    return str(value) if draw(st.booleans()) else value


@st.composite
def creation_dates(draw: st.DrawFn) -> str:
    moment = draw(st.datetimes(min_value=datetime(2018, 1, 1), max_value=datetime(2030, 12, 31)))
    style = draw(st.sampled_from(["micro", "milli", "none", "offset", "zulu", "zulu-lower", "space"]))
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if style == "micro":
        return f"{base}.{moment.microsecond:06d}"
    if style == "milli":
        return f"{base}.{moment.microsecond // 1000:03d}"
    if style == "offset":  # a real custom output [DLG]
        return f"{base}+0000"
    if style == "zulu":
        return f"{base}.{moment.microsecond // 1000:03d}Z"
    if style == "zulu-lower":  # RFC 3339 allows lower-case t and z
        return f"{base}z".replace("T", "t")
    if style == "space":
        return base.replace("T", " ")
    return base


# Label attribute names: [a-zA-Z0-9](-*[a-zA-Z0-9])*, never ending in -ref or -metadata (added where due).
base_names = (
    st.lists(st.text(string.ascii_letters + string.digits, min_size=1, max_size=6), min_size=1, max_size=3)
    .map("-".join)
    .filter(lambda name: not name.endswith(("-ref", "-metadata")) and name.lower() not in RESERVED)
)
words = st.text(string.ascii_letters + " ", min_size=1, max_size=12)
s3_uris = st.builds(
    lambda key: f"s3://bucket/{key}", st.text(string.ascii_letters + string.digits + "/_. é한", min_size=1, max_size=20)
)
json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(-1e6, 1e6), st.text(max_size=8)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b", "Info", "label", "é"]), inner, max_size=3),
    ),
    max_leaves=6,
)


@dataclass
class Pair:
    attribute: str
    task: str
    label: Any  # MISSING for a failed object
    metadata: dict[str, Any]

    @property
    def failed(self) -> bool:
        return self.label is MISSING


@dataclass
class Generated:
    record: dict[str, Any]
    pairs: list[Pair] = field(default_factory=list)

    @property
    def status(self) -> LineStatus:
        if not self.pairs:
            return LineStatus.UNLABELED
        if any(pair.failed for pair in self.pairs):
            return LineStatus.FAILED
        return LineStatus.LABELED

    def encode(self) -> bytes:
        return orjson.dumps(self.record)


REF_TASKS = {
    "semantic-segmentation",
    "video-object-detection",
    "video-object-tracking",
    "point-cloud-tracking",
    "point-cloud-segmentation",
}
TEXT_TASKS = {"text-classification", "text-multilabel", "text-span"}
TASK_TYPE_STRINGS = {
    "image-classification": "groundtruth/image-classification",
    "text-classification": "groundtruth/text-classification",
    "label-verification": "groundtruth/label-verification",
    "image-multilabel": "groundtruth/image-classification-multilabel",
    "text-multilabel": "groundtruth/text-classification-multilabel",
    "bounding-box": "groundtruth/object-detection",
    "semantic-segmentation": "groundtruth/semantic-segmentation",
    "text-span": "groundtruth/text-span",
    "video-object-detection": "groundtruth/video-object-detection",
    "video-object-tracking": "groundtruth/video-object-tracking",
    "point-cloud-detection": "groundtruth/point_cloud_object_detection",
    "point-cloud-tracking": "groundtruth/point_cloud_object_tracking",
    "point-cloud-segmentation": "groundtruth/point_cloud_single_frame_semantic_segmentation",
}
TASKS = [*TASK_TYPE_STRINGS, "custom", "unknown", "failed"]


@st.composite
def common_metadata(draw: st.DrawFn, type_string: str, attribute: str, custom: bool = False) -> dict[str, Any]:
    job = attribute.lower() if custom else f"labeling-job/{attribute.lower()}"
    metadata = {
        "job-name": job,
        "human-annotated": draw(st.sampled_from(["yes", "no"])),
        "creation-date": draw(creation_dates()),
        "type": type_string,
    }
    if draw(st.integers(0, 4)) == 0:
        metadata["adjustment-status"] = draw(st.sampled_from(["adjusted", "unadjusted"]))
    return metadata


def _class_map(ids: list[int | str], extra: list[int]) -> dict[str, str]:
    return {str(i): f"class {i}" for i in [*ids, *extra]}


@st.composite
def task_pair(draw: st.DrawFn, task: str, attribute: str) -> Pair:
    if task in REF_TASKS:
        attribute += "-ref"
    if task == "failed":
        metadata = {"failure-reason": draw(st.text(max_size=30))}
        if draw(st.booleans()):
            metadata["job-name"] = f"labeling-job/{attribute.lower()}"
        return Pair(attribute, task, MISSING, metadata)
    if task == "custom":
        type_string = draw(st.sampled_from(["groundtruth/custom", "groundTruth/custom"]))
        metadata = draw(common_metadata(type_string, attribute, custom=True))
        if draw(st.booleans()):
            metadata["worker-response-ref"] = "s3://b/out/job/annotations/worker-response/iteration-1/0/t.json"
        return Pair(attribute, task, draw(json_values), metadata)
    if task == "unknown":
        name = draw(st.from_regex(r"new-[a-z]{1,10}(-[a-z]{1,8})?", fullmatch=True))
        metadata = draw(common_metadata(f"groundtruth/{name}", attribute))
        return Pair(attribute, task, draw(json_values), metadata)

    metadata = draw(common_metadata(TASK_TYPE_STRINGS[task], attribute))
    if task in ("image-classification", "text-classification", "label-verification"):
        label = draw(class_ids(0, 1 if task == "label-verification" else 30))
        metadata["class-name"] = draw(words)
        metadata["confidence"] = draw(confidences)
        if task == "label-verification" and draw(st.booleans()):
            metadata["worker-feedback"] = [{"comment": draw(words)} for _ in range(draw(st.integers(1, 3)))]
    elif task in ("image-multilabel", "text-multilabel"):
        ids = draw(st.lists(st.integers(0, 12), unique=True, max_size=5))
        label = [str(i) if draw(st.booleans()) else i for i in ids]
        metadata["class-map"] = _class_map(ids, draw(st.lists(st.integers(13, 20), max_size=2)))
        if draw(st.booleans()):
            metadata["confidence-map"] = {str(i): draw(confidences) for i in ids}
    elif task == "bounding-box":
        boxes = []
        for _ in range(draw(st.integers(0, 5))):
            number = st.integers(0, 4000) | st.floats(0, 4000)
            box = {
                "class_id": draw(class_ids(0, 9)),
                "left": draw(number | st.integers(-5, 0)),
                "top": draw(number),
                "width": draw(number),
                "height": draw(number),
            }
            boxes.append(dict(draw(st.permutations(list(box.items())))))
        label = {"annotations": boxes}
        if draw(st.integers(0, 5)):
            label["image_size"] = [
                {"width": draw(st.integers(1, 5000)), "height": draw(st.integers(1, 5000)), "depth": 3}
            ]
        metadata["class-map"] = _class_map([int(box["class_id"]) for box in boxes], [])
        metadata["objects"] = [{"confidence": draw(confidences)} for _ in boxes]
    elif task == "semantic-segmentation":
        label = f"s3://b/out/{attribute}/annotations/consolidated-annotation/output/0_2022-09-09T17:25:31.918770.png"
        confidence = draw(confidences)
        metadata["internal-color-map"] = {
            str(i): {
                "class-name": draw(words),
                "hex-color": draw(st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)),
                "confidence": confidence,
            }
            for i in range(draw(st.integers(1, 4)))
        }
    elif task == "text-span":
        entities = []
        for _ in range(draw(st.integers(0, 4))):
            start = draw(st.integers(0, 200))
            entities.append({"endOffset": start + draw(st.integers(0, 30)), "startOffset": start, "label": draw(words)})
        labels = [{"label": entity["label"]} for entity in entities] or [{"label": "Date"}]
        if draw(st.booleans()):
            labels[0]["shortDisplayName"] = "D"
        label = {"annotations": {"entities": entities, "labels": labels}}
        metadata["entities"] = [{"confidence": draw(confidences)} for _ in entities]
    elif task in ("video-object-detection", "video-object-tracking"):
        label = f"s3://b/out/{attribute}/annotations/consolidated-annotation/output/0/SeqLabel.json"
        metadata["class-map"] = _class_map(draw(st.lists(st.integers(0, 9), max_size=3)), [])
    elif task == "point-cloud-detection":
        cuboids = []
        for _ in range(draw(st.integers(0, 3))):
            cuboids.append(
                {
                    "label": "Car",
                    "class-id": draw(st.integers(0, 5)),
                    "center-x": 1.5,
                    "center-y": -2.0,
                    "center-z": 0.3,
                    "length": 4.1,
                    "width": 1.8,
                    "height": 1.5,
                    "roll": 0,
                    "pitch": 0,
                    "yaw": 1.57,
                    "label-category-attributes": {},
                }
            )
        label = {"annotations": cuboids}
        metadata[draw(st.sampled_from(["class-map", "class_map"]))] = _class_map([c["class-id"] for c in cuboids], [])
        metadata["objects"] = [{"confidence": draw(confidences)} for _ in cuboids]
        if draw(st.booleans()):
            metadata["dataset-object-attributes"] = {}
    elif task == "point-cloud-tracking":
        label = f"s3://b/out/{attribute}/annotations/consolidated-annotation/output/0/SeqLabel.json"
        metadata["objects"] = [{"frame-no": i, "confidence": []} for i in range(draw(st.integers(0, 3)))]
        metadata["class-map"] = {"0": "Car"}
    elif task == "point-cloud-segmentation":
        label = f"s3://b/out/{attribute}/annotations/consolidated-annotation/output/0/frame.zlib"
        metadata["color-map"] = {"0": {"class-name": "Car", "hex-color": "#ff0000", "confidence": 0.5}}
    else:  # pragma: no cover - every task is handled above
        raise AssertionError(task)
    metadata = dict(draw(st.permutations(list(metadata.items()))))
    return Pair(attribute, task, label, metadata)


@st.composite
def valid_lines(draw: st.DrawFn, tasks: list[str] | None = None, max_pairs: int = 2) -> Generated:
    """A valid line of 0..max_pairs label pairs (a chain when 2) plus input keys, keys shuffled."""
    tasks = tasks or TASKS
    names = [draw(base_names) + ("" if position == 0 else f"-{position}") for position in range(max_pairs)]
    count = draw(st.integers(0, max_pairs)) if max_pairs else 0
    if draw(st.integers(0, 9)) and count == 0 and max_pairs:
        count = 1  # mostly labeled lines
    pairs = [draw(task_pair(draw(st.sampled_from(tasks)), name)) for name in names[:count]]
    attributes = {pair.attribute for pair in pairs}
    if len(attributes) < len(pairs) or attributes & {f"{a}-metadata" for a in attributes}:
        pairs = pairs[:1]
    record: dict[str, Any] = {}
    if pairs and pairs[0].task in TEXT_TASKS:
        record["source"] = draw(st.text(max_size=40))
    else:
        record["source-ref"] = draw(s3_uris)
    if draw(st.integers(0, 2)):
        record["input_note"] = draw(st.text(max_size=10))
    for key in draw(st.lists(st.sampled_from(INPUT_KEYS[1:]), unique=True, max_size=2)):
        # `annotator-metadata` ends with -metadata but is an input key: no type, no job-name
        record[key] = {"Info": draw(words)} if key.endswith("-metadata") else draw(json_values)
    for pair in pairs:
        if not pair.failed:
            record[pair.attribute] = pair.label
        record[f"{pair.attribute}-metadata"] = pair.metadata
    record = dict(draw(st.permutations(list(record.items()))))
    return Generated(record, pairs)


# ---- mutations: one broken rule each -----------------------------------------------------------------


@dataclass
class Mutant:
    data: bytes
    code: str
    attribute: str | None
    name: str


Mutation = Callable[[st.DrawFn, Generated], Mutant | None]
MUTATIONS: dict[str, Mutation] = {}


def mutation(function: Mutation) -> Mutation:
    MUTATIONS[function.__name__] = function
    return function


def _labeled(generated: Generated) -> Pair | None:
    pair = generated.pairs[0] if generated.pairs else None
    return pair if pair is not None and not pair.failed else None


def _mutant(record: dict[str, Any], code: str, attribute: str | None, name: str) -> Mutant:
    return Mutant(orjson.dumps(record), code, attribute, name)


def _placeholder_mutant(generated: Generated, raw: bytes, code: str, name: str) -> Mutant:
    record = copy.deepcopy(generated.record)
    record["input_note"] = "@@PLACEHOLDER@@"
    data = orjson.dumps(record).replace(b'"@@PLACEHOLDER@@"', raw)
    return Mutant(data, code, None, name)


@mutation
def negative_box_width(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task != "bounding-box" or not pair.label["annotations"]:
        return None
    record = copy.deepcopy(generated.record)
    boxes = record[pair.attribute]["annotations"]
    box = boxes[draw(st.integers(0, len(boxes) - 1))]
    box[draw(st.sampled_from(["width", "height"]))] = draw(st.sampled_from([-1, -0.5, -4000]))
    return _mutant(record, Rule.BOX_NEGATIVE, pair.attribute, "negative_box_width")


@mutation
def class_id_missing_from_class_map(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None:
        return None
    record = copy.deepcopy(generated.record)
    metadata = record[pair.attribute + "-metadata"]
    label = record[pair.attribute]
    if pair.task == "bounding-box" and label["annotations"]:
        ids = [box["class_id"] for box in label["annotations"]]
    elif pair.task in ("image-multilabel", "text-multilabel") and label:
        ids = label
    elif pair.task == "point-cloud-detection" and label["annotations"]:
        ids = [cuboid["class-id"] for cuboid in label["annotations"]]
    else:
        return None
    class_map = metadata.get("class-map", metadata.get("class_map"))
    del class_map[str(draw(st.sampled_from(ids)))]
    return _mutant(record, Rule.CLASS_MAP_MISSING_ID, pair.attribute, "class_id_missing_from_class_map")


@mutation
def class_id_with_leading_zero(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    """`"05"` with a class-map keyed `"05"`: the reference reads the id as 5 and finds no `"5"`."""
    pair = _labeled(generated)
    if pair is None:
        return None
    record = copy.deepcopy(generated.record)
    metadata = record[pair.attribute + "-metadata"]
    if pair.task == "bounding-box" and pair.label["annotations"]:
        boxes = record[pair.attribute]["annotations"]
        target = str(draw(st.sampled_from([box["class_id"] for box in boxes])))
        for box in boxes:
            if str(box["class_id"]) == target:
                box["class_id"] = "0" + target
    elif pair.task in ("image-multilabel", "text-multilabel") and pair.label:
        target = str(draw(st.sampled_from(pair.label)))
        record[pair.attribute] = ["0" + target if str(i) == target else i for i in pair.label]
    else:
        return None
    class_map = metadata["class-map"]
    class_map["0" + target] = class_map.pop(target)
    return _mutant(record, Rule.CLASS_MAP_MISSING_ID, pair.attribute, "class_id_with_leading_zero")


@mutation
def confidence_out_of_range(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None:
        return None
    record = copy.deepcopy(generated.record)
    metadata = record[pair.attribute + "-metadata"]
    bad = draw(st.sampled_from([1.5, -0.1, 2, 100]))
    if "confidence" in metadata:
        metadata["confidence"] = bad
    elif pair.task in ("bounding-box", "text-span") and metadata.get("objects", metadata.get("entities")):
        entries = metadata.get("objects", metadata.get("entities"))
        entries[draw(st.integers(0, len(entries) - 1))]["confidence"] = bad
    elif metadata.get("confidence-map"):
        key = draw(st.sampled_from(sorted(metadata["confidence-map"])))
        metadata["confidence-map"][key] = bad
    elif pair.task == "semantic-segmentation":
        key = draw(st.sampled_from(sorted(metadata["internal-color-map"])))
        metadata["internal-color-map"][key]["confidence"] = bad
    else:
        return None
    return _mutant(record, Rule.CONFIDENCE, pair.attribute, "confidence_out_of_range")


def _metadata_value(name: str, key: str, values: list[Any], code: str) -> Mutation:
    def mutate(draw: st.DrawFn, generated: Generated) -> Mutant | None:
        pair = _labeled(generated)
        if pair is None:
            return None
        record = copy.deepcopy(generated.record)
        record[pair.attribute + "-metadata"][key] = draw(st.sampled_from(values))
        return _mutant(record, code, pair.attribute, name)

    mutate.__name__ = name
    return mutation(mutate)


_metadata_value("human_annotated_maybe", "human-annotated", ["maybe", "YES", True, 1], Rule.HUMAN_ANNOTATED)
_metadata_value(
    "bad_creation_date",
    "creation-date",
    ["yesterday", "2019-13-01T00:00:00", "29/01/2019 13:29", 20190129, "", "2019-01-29T25:00:00"],
    Rule.CREATION_DATE,
)
_metadata_value("empty_job_name", "job-name", ["", 42, ["job"]], Rule.JOB_NAME)
_metadata_value("bad_adjustment_status", "adjustment-status", ["maybe", "ADJUSTED", 1], Rule.ADJUSTMENT_STATUS)


def _metadata_drop(name: str, key: str, code: str) -> Mutation:
    def mutate(draw: st.DrawFn, generated: Generated) -> Mutant | None:
        pair = _labeled(generated)
        if pair is None:
            return None
        record = copy.deepcopy(generated.record)
        del record[pair.attribute + "-metadata"][key]
        return _mutant(record, code, pair.attribute, name)

    mutate.__name__ = name
    return mutation(mutate)


_metadata_drop("missing_type", "type", Rule.TYPE_MISSING)
_metadata_drop("missing_human_annotated", "human-annotated", Rule.HUMAN_ANNOTATED_MISSING)
_metadata_drop("missing_creation_date", "creation-date", Rule.CREATION_DATE_MISSING)
_metadata_drop("missing_job_name", "job-name", Rule.JOB_NAME_MISSING)


@mutation
def objects_length_mismatch(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task not in ("bounding-box", "text-span"):
        return None
    record = copy.deepcopy(generated.record)
    key = "objects" if pair.task == "bounding-box" else "entities"
    entries = record[pair.attribute + "-metadata"][key]
    if entries and draw(st.booleans()):
        entries.pop()
    else:
        entries.append({"confidence": 0.5})
    code = Rule.OBJECTS_MISMATCH if pair.task == "bounding-box" else Rule.ENTITIES_MISMATCH
    return _mutant(record, code, pair.attribute, "objects_length_mismatch")


def _rename(record: dict[str, Any], old: str, new: str) -> dict[str, Any] | None:
    if new in record or f"{new}-metadata" in record:
        return None
    renamed = {}
    for key, value in record.items():
        if key == old:
            key = new
        elif key == f"{old}-metadata":
            key = f"{new}-metadata"
        renamed[key] = value
    return renamed


@mutation
def ref_suffix_on_plain_task(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task in REF_TASKS or pair.task in ("custom", "unknown"):
        return None
    record = _rename(generated.record, pair.attribute, pair.attribute + "-ref")
    if record is None:
        return None
    return _mutant(record, Rule.REF_FORBIDDEN, pair.attribute + "-ref", "ref_suffix_on_plain_task")


@mutation
def missing_ref_suffix(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task not in REF_TASKS:
        return None
    new = pair.attribute.removesuffix("-ref")
    record = _rename(generated.record, pair.attribute, new)
    if record is None:
        return None
    return _mutant(record, Rule.REF_REQUIRED, new, "missing_ref_suffix")


@mutation
def label_not_a_uri(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task not in REF_TASKS:
        return None
    record = copy.deepcopy(generated.record)
    record[pair.attribute] = draw(st.sampled_from(["https://b/0.png", "/tmp/0.png", 0, None]))
    return _mutant(record, Rule.LABEL_URI, pair.attribute, "label_not_a_uri")


@mutation
def bad_hex_color(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task != "semantic-segmentation":
        return None
    record = copy.deepcopy(generated.record)
    color_map = record[pair.attribute + "-metadata"]["internal-color-map"]
    color_map[draw(st.sampled_from(sorted(color_map)))]["hex-color"] = draw(st.sampled_from(["#fff", "red", "#12345g"]))
    return _mutant(record, Rule.COLOR_MAP, pair.attribute, "bad_hex_color")


@mutation
def bad_class_index(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task not in ("image-classification", "text-classification", "label-verification"):
        return None
    record = copy.deepcopy(generated.record)
    record[pair.attribute] = draw(st.sampled_from([-1, "abc", 1.5, "1.0", None, [1], "-1", "٣"]))
    return _mutant(record, Rule.CLASS_INDEX, pair.attribute, "bad_class_index")


@mutation
def span_reversed(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task != "text-span" or not pair.label["annotations"]["entities"]:
        return None
    record = copy.deepcopy(generated.record)
    entities = record[pair.attribute]["annotations"]["entities"]
    entity = entities[draw(st.integers(0, len(entities) - 1))]
    entity["startOffset"] = entity["endOffset"] + draw(st.integers(1, 5))
    return _mutant(record, Rule.SPAN, pair.attribute, "span_reversed")


@mutation
def label_removed(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None:
        return None
    record = copy.deepcopy(generated.record)
    del record[pair.attribute]
    return _mutant(record, Rule.LABEL_MISSING, pair.attribute, "label_removed")


@mutation
def metadata_not_an_object(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None:
        return None
    record = copy.deepcopy(generated.record)
    record[pair.attribute + "-metadata"] = draw(st.sampled_from(["yes", 1, None, [1]]))
    return _mutant(record, Rule.METADATA_NOT_OBJECT, pair.attribute, "metadata_not_an_object")


@mutation
def failure_reason_not_a_string(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = generated.pairs[0] if generated.pairs else None
    if pair is None or not pair.failed:
        return None
    record = copy.deepcopy(generated.record)
    record[pair.attribute + "-metadata"]["failure-reason"] = draw(st.sampled_from([42, ["x"], {"a": 1}, True]))
    return _mutant(record, Rule.FAILURE_REASON, pair.attribute, "failure_reason_not_a_string")


@mutation
def missing_source(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    record = {k: v for k, v in generated.record.items() if k not in ("source", "source-ref")}
    return _mutant(record, Rule.SOURCE_MISSING, None, "missing_source")


@mutation
def source_ref_not_s3(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    if "source-ref" not in generated.record:
        return None
    record = dict(generated.record)
    record["source-ref"] = draw(st.sampled_from(["https://b/k.jpg", "b/k.jpg", 3, "S3://b/k.jpg"]))
    return _mutant(record, Rule.SOURCE_TYPE, "source-ref", "source_ref_not_s3")


@mutation
def invalid_utf8_in_input_key(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    raw = draw(st.sampled_from([b'"\xff"', b'"caf\xc3"', b'"\xed\xa0\x80"', b'"a\xc0\xafb"']))
    return _placeholder_mutant(generated, raw, Rule.UTF8, "invalid_utf8_in_input_key")


@mutation
def out_of_range_number_in_input_key(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    raw = draw(st.sampled_from([b"1e999", b"-1e999", b"[1e400]"]))
    return _placeholder_mutant(generated, raw, Rule.JSON, "out_of_range_number_in_input_key")


@mutation
def invalid_utf8_in_custom_label(draw: st.DrawFn, generated: Generated) -> Mutant | None:
    pair = _labeled(generated)
    if pair is None or pair.task not in ("custom", "unknown"):
        return None
    record = copy.deepcopy(generated.record)
    record[pair.attribute] = {"note": "@@PLACEHOLDER@@"}
    data = orjson.dumps(record).replace(b'"@@PLACEHOLDER@@"', b'"\xfe"')
    return Mutant(data, Rule.UTF8, None, "invalid_utf8_in_custom_label")


# Mutations that apply to any line or any labeled pair; the others depend on the task type.
GENERIC = {
    "missing_source",
    "source_ref_not_s3",
    "invalid_utf8_in_input_key",
    "out_of_range_number_in_input_key",
    "human_annotated_maybe",
    "bad_creation_date",
    "empty_job_name",
    "bad_adjustment_status",
    "missing_type",
    "missing_human_annotated",
    "missing_creation_date",
    "missing_job_name",
    "label_removed",
    "metadata_not_an_object",
}


@st.composite
def mutants(draw: st.DrawFn, generated: Generated) -> Mutant:
    """One rule-breaking mutation that applies to `generated`, a task-specific one when there is one."""
    specific = sorted(set(MUTATIONS) - GENERIC)
    generic = sorted(GENERIC)
    if draw(st.integers(0, 3)):
        order = [*draw(st.permutations(specific)), *draw(st.permutations(generic))]
    else:
        order = draw(st.permutations(sorted(MUTATIONS)))
    for name in order:
        found = MUTATIONS[name](draw, generated)
        if found is not None:
            return found
    raise AssertionError("missing_source always applies")


LABELED_TASKS = [task for task in TASKS if task != "failed"]
SINGLE_LABEL = ["image-classification", "text-classification", "label-verification"]
MULTILABEL = ["image-multilabel", "text-multilabel"]
# The task types each mutation applies to (as the first pair of a line).
MUTATION_TASKS: dict[str, list[str]] = {
    **{name: LABELED_TASKS for name in GENERIC},
    "missing_source": TASKS,
    "source_ref_not_s3": TASKS,
    "invalid_utf8_in_input_key": TASKS,
    "out_of_range_number_in_input_key": TASKS,
    "negative_box_width": ["bounding-box"],
    "class_id_missing_from_class_map": ["bounding-box", *MULTILABEL, "point-cloud-detection"],
    "class_id_with_leading_zero": ["bounding-box", *MULTILABEL],
    "confidence_out_of_range": [*SINGLE_LABEL, "bounding-box", "text-span", *MULTILABEL, "semantic-segmentation"],
    "objects_length_mismatch": ["bounding-box", "text-span"],
    "ref_suffix_on_plain_task": [*SINGLE_LABEL, *MULTILABEL, "bounding-box", "text-span", "point-cloud-detection"],
    "missing_ref_suffix": sorted(REF_TASKS),
    "label_not_a_uri": sorted(REF_TASKS),
    "bad_hex_color": ["semantic-segmentation"],
    "bad_class_index": SINGLE_LABEL,
    "span_reversed": ["text-span"],
    "failure_reason_not_a_string": ["failed"],
    "invalid_utf8_in_custom_label": ["custom", "unknown"],
}
