"""One Ground Truth vocabulary: every layer names task types, answers, line errors and jobs the same way."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest
from gtproc.contract import events
from gtproc.domain import consolidation as cons
from gtproc.domain import groundtruth as gt
from gtproc.domain.validation import validate_line

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions" / "gtproc"


def test_consolidation_and_validation_share_one_task_type():
    assert cons.TaskType is gt.TaskType
    assert cons.WorkerAnswer is gt.WorkerAnswer
    assert events.LineError is gt.LineError


@pytest.mark.parametrize("task", list(gt.TaskType))
def test_each_metadata_type_maps_back_to_its_task_type(task: gt.TaskType):
    expected = None if task is gt.TaskType.UNKNOWN else task
    assert gt.task_type_of(task.groundtruth_type) is expected
    assert gt.task_type_of(task.groundtruth_type.upper()) is expected


def test_only_the_consolidated_types_have_methods():
    assert list(cons.METHODS) == list(gt.CONSOLIDATED_TYPES)
    assert gt.TaskType.VIDEO_TRACKING not in cons.METHODS and gt.TaskType.CUSTOM not in cons.METHODS


@pytest.mark.parametrize(
    ("arn", "task"),
    [
        ("arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox", gt.TaskType.OBJECT_DETECTION),
        ("arn:aws:lambda:us-east-1:432418664414:function:ACS-NamedEntityRecognition", gt.TaskType.TEXT_SPAN),
        ("arn:aws:lambda:us-east-1:111122223333:function:my-consolidation", None),
    ],
)
def test_built_in_consolidation_lambdas_name_their_task(arn: str, task: gt.TaskType | None):
    assert gt.task_of_consolidation_arn(arn) is task


@pytest.mark.parametrize(
    ("given", "normalized", "metadata"),
    [
        ("Cars-BBox", "cars-bbox", "labeling-job/cars-bbox"),
        ("labeling-job/Cars-BBox", "cars-bbox", "labeling-job/cars-bbox"),
        ("arn:aws:sagemaker:us-east-1:111122223333:labeling-job/Cars-BBox", None, "labeling-job/cars-bbox"),
    ],
)
def test_job_name_rules(given: str, normalized: str | None, metadata: str):
    if normalized is not None:
        assert gt.normalize_job_name(given) == normalized
    assert gt.metadata_job_name(given) == metadata
    assert gt.normalize_job_name(gt.metadata_job_name(given)) == gt.normalize_job_name(gt.job_name_of_arn(given))


def test_job_name_in_metadata_takes_either_spelling_and_nothing_else():
    assert gt.job_name_in({"job-name": "labeling-job/a"}) == "labeling-job/a"
    assert gt.job_name_in({"job_name": "labeling-job/b"}) == "labeling-job/b"
    assert gt.job_name_in({"job-name": 7}) == "" and gt.job_name_in(None) == ""


def test_a_line_error_is_encoded_the_same_in_validate_json_and_in_events():
    result = validate_line(3, b'{"source": 5}')
    (error,) = result.errors
    assert error.as_dict() == {"line": 3, "attribute": "source", "code": error.code, "message": error.message}
    detail = msgspec.json.decode(msgspec.json.encode(error))
    assert detail == {"line": 3, "attribute": "source", "code": "source-invalid", "message": error.message}
    without_attribute = gt.LineError(line=1, code="json", message="not valid JSON")
    assert msgspec.json.encode(without_attribute) == b'{"line":1,"code":"json","message":"not valid JSON"}'
    assert without_attribute.as_dict()["attribute"] is None


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_no_layer_spells_a_task_type_itself():
    # Task types are written once, in the vocabulary; elsewhere they are TaskType members.
    names = {t.value for t in gt.TaskType if t not in (gt.TaskType.CUSTOM, gt.TaskType.UNKNOWN)}
    names |= {t.groundtruth_type for t in gt.TaskType}
    offenders = {
        str(path.relative_to(FUNCTIONS)): sorted(found)
        for path in FUNCTIONS.rglob("*.py")
        if path.name != "groundtruth.py" and (found := _string_constants(path) & names)
    }
    assert offenders == {}


def test_a_job_arn_names_its_job_and_other_arns_none():
    arn = gt.job_arn("Cars-BBox", "eu-west-1", "111122223333")
    assert arn == "arn:aws:sagemaker:eu-west-1:111122223333:labeling-job/cars-bbox"
    assert gt.job_name_in_arn(arn) == "cars-bbox"
    assert gt.job_name_in_arn("arn:aws:sagemaker:eu-west-1:111122223333:workteam/private-crowd/team") is None


def test_no_layer_spells_the_job_name_rules_itself():
    # The `labeling-job/` prefix (metadata job names, job ARNs) is written once, in the vocabulary.
    offenders = sorted(
        str(path.relative_to(FUNCTIONS))
        for path in FUNCTIONS.rglob("*.py")
        if path.name != "groundtruth.py" and any(gt.JOB_NAME_PREFIX in text for text in _string_constants(path))
    )
    assert offenders == []


@pytest.mark.parametrize("concept", ["TaskType", "WorkerAnswer", "LineError", "JobInfo"])
def test_each_concept_is_defined_once(concept: str):
    # Only imported and re-exported elsewhere: a second class or alias of the name would be a second definition.
    definitions = []
    for path in sorted(FUNCTIONS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            named = [t.id for t in targets if isinstance(t, ast.Name)]
            if (isinstance(node, ast.ClassDef) and node.name == concept) or concept in named:
                definitions.append(str(path.relative_to(FUNCTIONS)))
    assert len(definitions) == 1, definitions
