"""Outcomes are enums, not bare strings or `bool | None`: what a handler, the CLI and the replay branch on."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import msgspec
import pytest
from gtproc.domain.comparison import Agreement, same_label
from gtproc.domain.groundtruth import TaskType
from gtproc.usecases.consolidate_annotations import AnnotationOutcome, Published
from gtproc.usecases.job_status import StatusOutcome
from gtproc.usecases.outcomes import FileStatus
from gtproc.usecases.ports import DescribedBy, JobInfo
from gtproc.usecases.process_manifest import ManifestOutcome
from gtproc.usecases.process_stream import StreamOutcome

OUTCOMES = [ManifestOutcome, AnnotationOutcome, StreamOutcome, StatusOutcome, JobInfo]


@pytest.mark.parametrize("outcome", [ManifestOutcome, AnnotationOutcome, StreamOutcome])
def test_what_became_of_a_file_or_message_is_a_file_status(outcome: type):
    assert typing.get_type_hints(outcome)["status"] is FileStatus


def test_where_a_jobs_facts_come_from_is_an_enum():
    assert typing.get_type_hints(JobInfo)["source"] is DescribedBy
    assert JobInfo(label_attribute_name="a").source is DescribedBy.INFERRED


@pytest.mark.parametrize("outcome", OUTCOMES, ids=lambda cls: cls.__name__)
def test_no_outcome_field_is_a_tri_state_bool(outcome: type):
    hints = typing.get_type_hints(outcome)
    tri_state = [f.name for f in msgspec.structs.fields(outcome) if hints[f.name] == (bool | None)]
    assert tri_state == []


def test_the_enums_keep_the_strings_logs_and_tests_always_compared():
    # Public: logged, counted and printed by the replay as these strings.
    assert [s.value for s in FileStatus] == ["processed", "skipped", "invalid", "unreadable"]
    assert FileStatus.PROCESSED == "processed" and f"{FileStatus.INVALID}" == "invalid"
    assert {p.value for p in Published} == {"now", "already", "nothing-usable"}


def test_no_function_of_the_core_answers_a_tri_state_bool():
    # `-> bool | None` makes every caller remember what None meant; an enum names it.
    package = Path(__file__).resolve().parents[2] / "functions" / "gtproc"
    found = [
        f"{path.relative_to(package)}:{node.lineno} {node.name}"
        for layer in ("domain", "usecases")
        for path in sorted((package / layer).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef)
        and node.returns is not None
        and ast.unparse(node.returns).replace(" ", "") in ("bool|None", "None|bool", "Optional[bool]")
    ]
    assert found == []


def test_a_comparison_says_same_different_or_not_comparable():
    cls = "groundtruth/image-classification"
    rose, tulip = (0, {"class-name": "rose"}), (1, {"class-name": "tulip"})
    assert same_label(cls, rose, (4, {"class-name": "rose"})) is Agreement.SAME
    assert same_label(cls, rose, tulip) is Agreement.DIFFERENT
    masks = TaskType.SEMANTIC_SEGMENTATION.groundtruth_type
    assert same_label(masks, ("s3://a/0.png", {}), ("s3://a/0.png", {})) is Agreement.NOT_COMPARABLE
