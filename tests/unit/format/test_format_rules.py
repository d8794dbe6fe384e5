"""One minimal broken line per rule code: the code, its 1-based line and the attribute it names."""

from __future__ import annotations

from typing import Any

import pytest
from gtproc.domain.lines import TooLong
from gtproc.domain.scan import validate_stream
from gtproc.domain.validation import LineStatus, Rule, validate_line

from tests.unit.format.format_builders import (
    MISSING,
    bbox,
    classification,
    custom,
    encode,
    failed,
    line,
    meta,
    multilabel,
    semseg,
    text_span,
)

MAX_LINE = 256 * 1024
GOOD = encode(classification())


def without(record: dict[str, Any], attribute: str, key: str) -> dict[str, Any]:
    del record[f"{attribute}-metadata"][key]
    return record


def with_meta(record: dict[str, Any], attribute: str, **values: Any) -> dict[str, Any]:
    record[f"{attribute}-metadata"].update({key.replace("_", "-"): value for key, value in values.items()})
    return record


BOX = {"class_id": 0, "left": 10, "top": 20, "width": 30, "height": 40}

# rule -> (the broken line, the attribute the error names)
CASES: dict[Rule, tuple[bytes, str | None]] = {
    Rule.UTF8: (b'{"source-ref":"s3://b/\xff.jpg"}', None),
    Rule.JSON: (b'{"source-ref":"s3://b/1.jpg"', None),
    Rule.TOO_DEEP: (b"[" * 100_000, None),
    Rule.LINE_TOO_LONG: (b'{"source":"' + b"x" * MAX_LINE + b'"}', None),
    Rule.NOT_OBJECT: (b'["s3://b/1.jpg"]', None),
    Rule.SOURCE_MISSING: (encode({"image": "s3://b/1.jpg"}), None),
    Rule.SOURCE_TYPE: (encode({"source-ref": "https://b/1.jpg"}), "source-ref"),
    Rule.ATTRIBUTE_NAME: (encode(bbox(attribute="cat_labels")), "cat_labels"),
    Rule.METADATA_SUFFIX: (
        encode(line("x-metadata", {}, meta("groundtruth/custom", "x"))),
        "x-metadata",
    ),
    Rule.REF_REQUIRED: (encode(semseg(attribute="S10-label3")), "S10-label3"),
    Rule.REF_FORBIDDEN: (encode(bbox(attribute="cats-ref")), "cats-ref"),
    Rule.LABEL_MISSING: (encode(line("cats", MISSING, bbox()["cats-metadata"])), "cats"),
    Rule.METADATA_NOT_OBJECT: (encode(line("cats", 1, "yes")), "cats"),
    Rule.TYPE_MISSING: (encode(without(classification(), "birds", "type")), "birds"),
    Rule.TYPE_INVALID: (encode(with_meta(classification(), "birds", type="")), "birds"),
    Rule.JOB_NAME: (encode(with_meta(classification(), "birds", job_name="")), "birds"),
    Rule.JOB_NAME_MISSING: (encode(without(classification(), "birds", "job-name")), "birds"),
    Rule.HUMAN_ANNOTATED: (encode(with_meta(classification(), "birds", human_annotated="maybe")), "birds"),
    Rule.HUMAN_ANNOTATED_MISSING: (encode(without(classification(), "birds", "human-annotated")), "birds"),
    Rule.CREATION_DATE: (encode(with_meta(classification(), "birds", creation_date="29/01/2019")), "birds"),
    Rule.CREATION_DATE_MISSING: (encode(without(classification(), "birds", "creation-date")), "birds"),
    Rule.FAILURE_REASON: (encode(failed(reason=42)), "birds"),
    Rule.ADJUSTMENT_STATUS: (encode(bbox(adjustment_status="partially")), "cats"),
    Rule.CLASS_INDEX: (encode(classification(label=-1)), "birds"),
    Rule.CLASS_NAME: (encode(without(classification(), "birds", "class-name")), "birds"),
    Rule.CONFIDENCE: (encode(with_meta(classification(), "birds", confidence=1.5)), "birds"),
    Rule.CONFIDENCE_MISSING: (encode(without(classification(), "birds", "confidence")), "birds"),
    Rule.CLASS_MAP: (encode(bbox(class_map=["c0"])), "cats"),
    Rule.CLASS_MAP_MISSING_ID: (encode(bbox([{**BOX, "class_id": 1}], class_map={"0": "Cat"})), "cats"),
    Rule.LABEL_SHAPE: (encode(multilabel(label=6)), "bg-labeling"),
    Rule.IMAGE_SIZE: (
        encode(
            line("cats", {"annotations": [], "image_size": [{"width": -1, "height": 4}]}, bbox([])["cats-metadata"])
        ),
        "cats",
    ),
    Rule.BOX_SHAPE: (encode(bbox([{**BOX, "left": "10"}])), "cats"),
    Rule.BOX_NEGATIVE: (encode(bbox([{**BOX, "width": -30}])), "cats"),
    Rule.OBJECTS_MISMATCH: (encode(bbox([BOX, BOX], objects=[{"confidence": 0.5}])), "cats"),
    Rule.LABEL_URI: (encode(semseg(label="https://b/0.png")), "S10-label3-ref"),
    Rule.COLOR_MAP: (
        encode(semseg(internal_color_map={"0": {"class-name": "BACKGROUND", "hex-color": "#fff"}})),
        "S10-label3-ref",
    ),
    Rule.SPAN: (encode(text_span([{"startOffset": 10, "endOffset": 4, "label": "Date"}])), "ner"),
    Rule.ENTITIES_MISMATCH: (encode(text_span(confidences=0)), "ner"),
}


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == set(Rule)


@pytest.mark.parametrize("rule", list(Rule), ids=[rule.value for rule in Rule])
def test_rule_in_a_stream(rule: Rule) -> None:
    broken, attribute = CASES[rule]
    data = GOOD + b"\n" + broken + b"\n" + GOOD + b"\n"
    report = validate_stream([data], "m", max_line_bytes=MAX_LINE)
    assert [(e.line, e.attribute, e.code) for e in report.errors] == [(2, attribute, rule.value)]
    assert report.errors[0].message
    assert (report.lines, report.labeled, report.invalid) == (3, 2, 1)


@pytest.mark.parametrize("rule", list(Rule), ids=[rule.value for rule in Rule])
def test_rule_in_the_reference(rule: Rule) -> None:
    broken, attribute = CASES[rule]
    data: bytes | TooLong = TooLong(len(broken)) if rule is Rule.LINE_TOO_LONG else broken
    result = validate_line(7, data)
    assert result.status is LineStatus.INVALID
    assert [(e.line, e.attribute, e.code) for e in result.errors] == [(7, attribute, rule.value)]


def test_rule_codes_are_stable() -> None:
    """Scripts filter on these strings: renaming one is a breaking change."""
    assert {rule.name: rule.value for rule in Rule} == {
        "UTF8": "utf8-invalid",
        "JSON": "json-invalid",
        "TOO_DEEP": "json-too-deep",
        "LINE_TOO_LONG": "line-too-long",
        "NOT_OBJECT": "not-object",
        "SOURCE_MISSING": "source-missing",
        "SOURCE_TYPE": "source-invalid",
        "ATTRIBUTE_NAME": "attribute-name",
        "METADATA_SUFFIX": "label-metadata-suffix",
        "REF_REQUIRED": "ref-suffix-required",
        "REF_FORBIDDEN": "ref-suffix-forbidden",
        "LABEL_MISSING": "label-missing",
        "METADATA_NOT_OBJECT": "metadata-not-object",
        "TYPE_MISSING": "type-missing",
        "TYPE_INVALID": "type-invalid",
        "JOB_NAME": "job-name-invalid",
        "JOB_NAME_MISSING": "job-name-missing",
        "HUMAN_ANNOTATED": "human-annotated-invalid",
        "HUMAN_ANNOTATED_MISSING": "human-annotated-missing",
        "CREATION_DATE": "creation-date-invalid",
        "CREATION_DATE_MISSING": "creation-date-missing",
        "FAILURE_REASON": "failure-reason-invalid",
        "ADJUSTMENT_STATUS": "adjustment-status-invalid",
        "CLASS_INDEX": "class-index",
        "CLASS_NAME": "class-name-invalid",
        "CONFIDENCE": "confidence-range",
        "CONFIDENCE_MISSING": "confidence-missing",
        "CLASS_MAP": "class-map-invalid",
        "CLASS_MAP_MISSING_ID": "class-map-missing-id",
        "LABEL_SHAPE": "label-shape",
        "IMAGE_SIZE": "image-size-invalid",
        "BOX_SHAPE": "box-invalid",
        "BOX_NEGATIVE": "box-negative-size",
        "OBJECTS_MISMATCH": "objects-mismatch",
        "LABEL_URI": "label-uri",
        "COLOR_MAP": "color-map-invalid",
        "SPAN": "span-invalid",
        "ENTITIES_MISMATCH": "entities-mismatch",
    }


@pytest.mark.parametrize(
    ("record", "rule", "attribute"),
    [
        pytest.param({"source": 5}, Rule.SOURCE_TYPE, "source", id="source-not-a-string"),
        pytest.param({"source-ref": None, "source": None}, Rule.SOURCE_MISSING, None, id="both-null"),
        pytest.param(classification(label="1.0"), Rule.CLASS_INDEX, "birds", id="class-index-float-string"),
        pytest.param(classification(label=True), Rule.CLASS_INDEX, "birds", id="class-index-bool"),
        pytest.param(classification(label="٣"), Rule.CLASS_INDEX, "birds", id="class-index-non-ascii-digit"),
        pytest.param(with_meta(classification(), "birds", confidence=True), Rule.CONFIDENCE, "birds", id="conf-bool"),
        pytest.param(with_meta(classification(), "birds", confidence="0.5"), Rule.CONFIDENCE, "birds", id="conf-str"),
        pytest.param(with_meta(classification(), "birds", type=7), Rule.TYPE_INVALID, "birds", id="type-int"),
        pytest.param(
            with_meta(classification(), "birds", creation_date=1556000000), Rule.CREATION_DATE, "birds", id="date-epoch"
        ),
        pytest.param(bbox([{**BOX, "height": -1}]), Rule.BOX_NEGATIVE, "cats", id="negative-height"),
        pytest.param(bbox(["box"]), Rule.BOX_SHAPE, "cats", id="box-not-object"),
        pytest.param(bbox([{**BOX, "class_id": "a"}]), Rule.CLASS_INDEX, "cats", id="box-class-id"),
        pytest.param(bbox([BOX], objects=[{"confidence": 2}]), Rule.CONFIDENCE, "cats", id="object-confidence"),
        pytest.param(bbox([BOX], objects=None), Rule.OBJECTS_MISMATCH, "cats", id="objects-missing"),
        pytest.param(
            line("cats", {"annotations": "x"}, bbox()["cats-metadata"]),
            Rule.LABEL_SHAPE,
            "cats",
            id="bbox-annotations-not-list",
        ),
        pytest.param(multilabel(label=["x"]), Rule.CLASS_INDEX, "bg-labeling", id="multilabel-entry"),
        pytest.param(multilabel(label=[7]), Rule.CLASS_MAP_MISSING_ID, "bg-labeling", id="multilabel-missing-id"),
        pytest.param(multilabel(confidence_map={"6": 1.2}), Rule.CONFIDENCE, "bg-labeling", id="confidence-map"),
        pytest.param(multilabel(confidence_map=[0.5]), Rule.CONFIDENCE, "bg-labeling", id="confidence-map-list"),
        pytest.param(semseg(internal_color_map=[]), Rule.COLOR_MAP, "S10-label3-ref", id="color-map-not-object"),
        pytest.param(
            semseg(internal_color_map={"0": {"hex-color": "#ffffff"}}),
            Rule.COLOR_MAP,
            "S10-label3-ref",
            id="color-map-no-class-name",
        ),
        pytest.param(
            text_span([{"startOffset": -1, "endOffset": 4, "label": "Date"}]), Rule.SPAN, "ner", id="span-negative"
        ),
        pytest.param(text_span([{"startOffset": 1, "endOffset": 4}]), Rule.SPAN, "ner", id="span-no-label"),
        pytest.param(
            line("ner", {"annotations": {}}, text_span()["ner-metadata"], source="t"),
            Rule.LABEL_SHAPE,
            "ner",
            id="span-no-entities",
        ),
        pytest.param(
            failed(reason=None) | {"birds-metadata": {"failure-reason": None, "type": "x"}},
            Rule.LABEL_MISSING,
            "birds",
            id="null-failure-reason-is-no-reason",
        ),
        pytest.param(
            line("cats", MISSING, {"job-name": "labeling-job/cats"}),
            Rule.LABEL_MISSING,
            "cats",
            id="label-missing-job-name-only",
        ),
        pytest.param(custom(adjustment_status="x"), Rule.ADJUSTMENT_STATUS, "legal-entity", id="custom-adjustment"),
    ],
)
def test_rule_variants(record: dict[str, Any], rule: Rule, attribute: str | None) -> None:
    result = validate_line(1, encode(record))
    assert [(e.attribute, e.code) for e in result.errors] == [(attribute, rule.value)]


def test_several_errors_on_one_line_are_all_reported() -> None:
    record = with_meta(classification(label=-1), "birds", human_annotated="maybe", confidence=3)
    result = validate_line(4, encode(record))
    assert sorted(e.code for e in result.errors) == sorted([Rule.CLASS_INDEX, Rule.HUMAN_ANNOTATED, Rule.CONFIDENCE])
    assert {e.line for e in result.errors} == {4}


def test_errors_of_two_pairs_name_each_attribute() -> None:
    record = bbox([{**BOX, "width": -1}]) | {
        "cats2": {"annotations": [], "image_size": None},
        "cats2-metadata": meta(
            "groundtruth/object-detection", "cats2", class_map={}, objects=[], human_annotated="perhaps"
        ),
    }
    result = validate_line(1, encode(record))
    assert sorted((e.attribute, e.code) for e in result.errors) == [
        ("cats", Rule.BOX_NEGATIVE),
        ("cats2", Rule.HUMAN_ANNOTATED),
    ]


def test_messages_name_the_offending_value() -> None:
    (error,) = validate_line(1, encode(with_meta(classification(), "birds", human_annotated="maybe"))).errors
    assert '"maybe"' in error.message
    (error,) = validate_line(1, encode(with_meta(classification(), "birds", confidence=1.5))).errors
    assert "1.5" in error.message
    long_value = "z" * 500
    (error,) = validate_line(1, encode(with_meta(classification(), "birds", creation_date=long_value))).errors
    assert len(error.message) < 200
