"""`gtproc consolidate` on hostile worker-response trees and option files: each bad file is named on
stderr with its reason, the job's other objects are still written, and the exit code is the documented
one (1 when an object or a file was left out, 2 when an option file cannot be used)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from gtproc.cli.main import main

from tests.hostile import corpus
from tests.hostile.support import assert_clean, gtproc

BIRDS_DATA = Path(__file__).resolve().parents[1] / "unit" / "annotations" / "data" / "birds-open-images-clone"
ITERATION = Path("annotations") / "worker-response" / "iteration-1"


@pytest.fixture
def job(tmp_path: Path) -> Path:
    folder = tmp_path / "birds"
    shutil.copytree(BIRDS_DATA, folder)
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[dict[str, Any]], list[str]]:
    code = main(["consolidate", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, [json.loads(line) for line in out.splitlines()], err.splitlines()


def worker_file(job: Path, oid: str) -> Path:
    return next((job / ITERATION / oid).glob("*.json"))


@pytest.mark.parametrize("name", sorted(corpus.NOT_JSON))
def test_a_hostile_file_is_named_and_its_object_left_out(job: Path, capsys: Any, name: str) -> None:
    path = worker_file(job, "7")
    path.write_bytes(corpus.NOT_JSON[name])

    code, lines, err = run(capsys, job)

    assert code == 1
    assert len(lines) == 9 and "7" not in {line["datasetObjectId"] for line in lines}
    named = [line for line in err if line.startswith(f"gtproc consolidate: {path}: ")]
    assert len(named) == 1, err
    assert "iteration 1, object 7 left out" in "\n".join(err)


def test_nan_in_an_answer_is_refused_not_consolidated(job: Path, capsys: Any) -> None:
    path = worker_file(job, "7")
    path.write_bytes(path.read_bytes().replace(b'"submissionTime":"2019-04-18T16:10:53Z"', b'"submissionTime":NaN'))

    code, lines, err = run(capsys, job)

    assert code == 1 and len(lines) == 9
    assert any(f"{path}: not readable JSON: NaN is not a JSON number" in line for line in err), err


def test_a_bom_and_crlf_pretty_printing_are_read(job: Path, capsys: Any) -> None:
    path = worker_file(job, "7")
    pretty = json.dumps(json.loads(path.read_bytes()), indent=2).replace("\n", "\r\n")
    path.write_bytes(corpus.BOM + pretty.encode())

    code, lines, _ = run(capsys, job)

    assert code == 0 and len(lines) == 10


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (5, "answer must be an object"),
        ({"workerId": 5, "answerContent": {}}, "no workerId"),
        ({"workerId": None, "answerContent": {}}, "no workerId"),
        ({"workerId": "w", "answerContent": 5}, "must be an object"),
    ],
)
def test_a_bad_answer_is_named_and_the_files_other_answers_still_count(
    job: Path, capsys: Any, answer: Any, why: str
) -> None:
    path = worker_file(job, "7")
    document = json.loads(path.read_bytes())
    document["answers"].insert(0, answer)
    path.write_text(json.dumps(document))

    code, lines, err = run(capsys, job)

    assert code == 1  # a file was not wholly usable; every object was still consolidated
    assert len(lines) == 10
    named = [line for line in err if line.startswith(f"gtproc consolidate: {path}: answer 0: ")]
    assert len(named) == 1 and why in named[0], err
    (seven,) = [line for line in lines if line["datasetObjectId"] == "7"]
    assert seven["consolidatedAnnotation"]["content"]["birds-metadata"]["class-name"]
    assert "1 consolidated without an unreadable file" in err[-1]


@pytest.mark.parametrize("folder", corpus.NON_ASCII_DIGITS)
def test_an_object_folder_of_non_ascii_digits_is_not_an_object(job: Path, capsys: Any, folder: str) -> None:
    (job / ITERATION / folder).mkdir()
    shutil.copy(worker_file(job, "7"), job / ITERATION / folder / "2019-04-18_16:12:00.json")

    code, lines, _ = run(capsys, job)

    assert code == 0
    assert sorted(line["datasetObjectId"] for line in lines) == sorted(p.name for p in (job / ITERATION).iterdir())[:10]
    assert folder not in {line["datasetObjectId"] for line in lines}


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (corpus.deep_array(), "nesting too deep"),
        (b'["Duck", NaN]', "NaN is not a JSON number"),
        (b"", "empty"),
        (b'["\xff"]', "UTF-8"),
    ],
)
def test_a_hostile_categories_file_is_one_line_and_exit_2(job: Path, tmp_path: Path, content: bytes, why: str) -> None:
    categories = tmp_path / "categories.json"
    categories.write_bytes(content)

    result = gtproc("consolidate", job, "--label-categories", categories)

    assert result.returncode == 2 and result.stdout == ""
    (line,) = assert_clean(result, "consolidate")
    assert str(categories) in line and why in line


def test_a_categories_file_with_a_bom_is_read(job: Path, tmp_path: Path, capsys: Any) -> None:
    categories = tmp_path / "categories.json"
    names = sorted({line["class-name"] for line in _ground_truth_metadata()})
    categories.write_bytes(corpus.BOM + json.dumps(names).encode())

    code, lines, _ = run(capsys, job, "--label-categories", categories)

    assert code == 0 and len(lines) == 10


def _ground_truth_metadata() -> list[dict[str, Any]]:
    """The class names the real job's answers use: the categories a user would pass."""
    names = []
    for path in (BIRDS_DATA / ITERATION).glob("*/*.json"):
        for answer in json.loads(path.read_bytes())["answers"]:
            names.append({"class-name": answer["answerContent"]["crowd-image-classifier"]["label"]})
    return names


@pytest.mark.parametrize("kind", ["file", "symlink-loop", "missing"])
def test_a_job_dir_that_is_no_folder_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "job"
    if kind == "file":
        target.write_text("{}")
    elif kind == "symlink-loop":
        (tmp_path / "other").symlink_to(target)
        target.symlink_to(tmp_path / "other")

    result = gtproc("consolidate", target)

    assert result.returncode == 2 and result.stdout == ""
    (line,) = assert_clean(result, "consolidate")
    assert str(target) in line


@pytest.mark.parametrize("kind", ["folder", "symlink-loop"])
def test_a_worker_file_that_cannot_be_read_is_named_without_python_text(job: Path, capsys: Any, kind: str) -> None:
    path = job / ITERATION / "7" / "extra.json"
    if kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(path.with_name("other"))
        path.with_name("other").symlink_to(path)

    code, lines, err = run(capsys, job)

    assert code == 1 and len(lines) == 10  # object 7 still has its real file
    (named,) = [line for line in err if line.startswith(f"gtproc consolidate: {path}: ")]
    assert "Errno" not in named and "cannot read it: " in named, named


def test_a_masks_dir_that_is_a_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    from tests.cli.test_consolidate_cli_custom import _job

    job = _job(tmp_path)
    masks = tmp_path / "masks"
    masks.write_text("not a folder")

    result = gtproc("consolidate", job, "--masks-dir", masks)

    assert result.returncode == 2
    (line,) = assert_clean(result, "consolidate")
    assert f"cannot write a mask to {masks}" in line and "Not a directory" in line, line


def _add_answer(job: Path, oid: str, answer: Any) -> None:
    path = worker_file(job, oid)
    document = json.loads(path.read_bytes())
    document["answers"].append(answer)
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ({"crowd-image-classifier": {}}, "no label"),
        ({"crowd-image-classifier": {"label": ""}}, "no label"),
        ({"boundingBox": {"boundingBoxes": []}}, "an answer of object-detection, not image-classification"),
    ],
)
def test_an_answer_that_goes_into_no_label_is_named_and_exit_1(
    job: Path, capsys: Any, content: dict[str, Any], why: str
) -> None:
    _, before, _ = run(capsys, job)
    _add_answer(job, "7", {"workerId": "stray", "answerContent": content})

    code, lines, err = run(capsys, job)

    assert code == 1  # the job's type still comes from the others: the whole job is not refused
    assert [line["consolidatedAnnotation"]["content"]["birds"] for line in lines] == [
        line["consolidatedAnnotation"]["content"]["birds"] for line in before
    ]
    named = [line for line in err if "answer of worker stray is not used" in line]
    assert named == [f"gtproc consolidate: iteration 1, object 7: the answer of worker stray is not used: {why}"]
    assert "1 answer not used" in err[-1]


def test_unused_answers_are_listed_in_the_json_summary(job: Path, capsys: Any) -> None:
    _add_answer(job, "7", {"workerId": "stray", "answerContent": {"crowd-image-classifier": {}}})

    code, _, err = run(capsys, job, "--json")

    summary = json.loads(err[-1])
    assert code == 1 and summary["leftOut"] == 0
    assert summary["unusedAnswers"] == [
        {"iteration": 1, "datasetObjectId": "7", "workerId": "stray", "reason": "no label"}
    ]


def test_without_a_majority_type_the_job_is_refused_with_the_counts(job: Path, capsys: Any) -> None:
    box = {"boundingBox": {"boundingBoxes": []}}
    for oid in ("7", "36", "40", "92", "95", "153", "172", "195", "244", "250"):
        path = worker_file(job, oid)
        document = json.loads(path.read_bytes())
        boxes = [{"workerId": f"box-{a['workerId']}", "answerContent": box} for a in document["answers"]]
        document["answers"] = boxes + document["answers"]
        path.write_text(json.dumps(document))

    code, lines, err = run(capsys, job)

    assert code == 2 and not lines
    assert "cannot infer one task type" in err[-1] and "object-detection (" in err[-1]


def test_an_empty_answers_list_leaves_its_object_out_by_name(job: Path, capsys: Any) -> None:
    (job / ITERATION / "300").mkdir()
    (job / ITERATION / "300" / "2019-04-18_16:12:00.json").write_text('{"answers": []}')

    code, lines, err = run(capsys, job, "--json")

    assert code == 1 and len(lines) == 10
    assert [o["datasetObjectId"] for o in json.loads(err[-1])["leftOutObjects"]] == ["300"]


def test_a_folder_with_a_leading_zero_is_the_same_object(job: Path, capsys: Any) -> None:
    # The annotations function reads `.../iteration-1/07/...` as object 7: so does the CLI.
    (job / ITERATION / "07").mkdir()
    late = {"workerId": "late", "answerContent": {"crowd-image-classifier": {}}}
    (job / ITERATION / "07" / "2019-04-18_16:20:00.json").write_text(json.dumps({"answers": [late]}))

    code, lines, err = run(capsys, job)

    assert code == 1 and len(lines) == 10
    assert [line["datasetObjectId"] for line in lines].count("7") == 1
    assert "gtproc consolidate: iteration 1, object 7: the answer of worker late is not used: no label" in err


def test_a_repeated_answer_of_a_worker_is_named_and_the_first_counts(job: Path, capsys: Any) -> None:
    _, before, _ = run(capsys, job)
    first = json.loads(worker_file(job, "7").read_bytes())["answers"][0]
    again = {**first, "answerContent": {"crowd-image-classifier": {"label": "Swan"}}}
    (job / ITERATION / "07").mkdir()
    (job / ITERATION / "07" / "2019-04-18_16:20:00.json").write_text(json.dumps({"answers": [again]}))

    code, lines, err = run(capsys, job, "--json")

    assert code == 1
    assert [line["consolidatedAnnotation"]["content"]["birds"] for line in lines] == [
        line["consolidatedAnnotation"]["content"]["birds"] for line in before
    ]
    (unused,) = json.loads(err[-1])["unusedAnswers"]
    assert unused == {
        "iteration": 1,
        "datasetObjectId": "7",
        "workerId": first["workerId"],
        "reason": "a repeated answer of this worker; the first counts",
    }


def test_live_keeps_the_jobs_type_for_every_object_with_a_stray_answer(job: Path, capsys: Any) -> None:
    # --live consolidates one object at a time: each must take the job's type, not its own answers'.
    _add_answer(job, "7", {"workerId": "stray", "answerContent": {"boundingBox": {"boundingBoxes": []}}})
    path = worker_file(job, "36")
    path.write_text(json.dumps({"answers": [{"workerId": "s2", "answerContent": {"boundingBox": {}}}]}))

    code, lines, err = run(capsys, job, "--live", "--json")

    summary = json.loads(err[-1])
    assert code == 1 and summary["taskType"] == "image-classification"
    assert len(lines) == 9 and "36" not in {line["datasetObjectId"] for line in lines}
    assert [o["datasetObjectId"] for o in summary["leftOutObjects"]] == ["36"]
    assert sorted((u["datasetObjectId"], u["workerId"]) for u in summary["unusedAnswers"]) == [
        ("36", "s2"),
        ("7", "stray"),
    ]


CARS = Path(__file__).resolve().parents[2] / "events" / "jobs" / "bbox-three-iterations" / "cars-bbox"


@pytest.fixture
def cars(tmp_path: Path) -> Path:
    folder = tmp_path / "cars-bbox"
    shutil.copytree(CARS, folder)
    return folder


def _break_boxes(job: Path, broken: dict[str, Any], how_many: int) -> tuple[str, int]:
    path = worker_file(job, "14")
    document = json.loads(path.read_bytes())
    first = document["answers"][0]
    boxes = first["answerContent"]["boundingBox"]["boundingBoxes"]
    for box in boxes[:how_many]:
        box.update(broken)
    path.write_text(json.dumps(document))
    return first["workerId"], len(boxes)


@pytest.mark.parametrize(
    "broken",
    [{"width": -5}, {"left": None}, {"height": 10**400}, {"top": "x"}],
    ids=["negative", "null", "huge", "text"],
)
def test_a_box_without_usable_coordinates_is_named_and_the_answers_other_boxes_used(
    cars: Path, capsys: Any, broken: dict[str, Any]
) -> None:
    worker, boxes = _break_boxes(cars, broken, 1)

    code, lines, err = run(capsys, cars, "--json")

    assert code == 1 and len(lines) == 30
    reason = f"1 of its {boxes} bounding boxes has no usable coordinates"
    assert f"gtproc consolidate: iteration 1, object 14: the answer of worker {worker}: {reason}, not used" in err
    summary = json.loads(err[-1])
    assert summary["unusedShapes"] == [{"iteration": 1, "datasetObjectId": "14", "workerId": worker, "reason": reason}]
    assert summary["unusedAnswers"] == []


def test_an_answer_whose_every_box_is_broken_is_unused_not_a_vote_for_no_boxes(
    cars: Path, tmp_path: Path, capsys: Any
) -> None:
    # The label is the one made without that answer at all: not one where it votes "nothing here".
    without = tmp_path / "without" / "cars-bbox"
    shutil.copytree(cars, without)
    path = worker_file(without, "14")
    document = json.loads(path.read_bytes())
    document["answers"] = document["answers"][1:]
    path.write_text(json.dumps(document))
    _, expected, _ = run(capsys, without)
    worker, boxes = _break_boxes(cars, {"width": -5}, 99)

    code, lines, err = run(capsys, cars, "--json")

    assert code == 1
    summary = json.loads(err[-1])
    reason = f"none of its {boxes} bounding boxes has usable coordinates"
    assert summary["unusedAnswers"] == [{"iteration": 1, "datasetObjectId": "14", "workerId": worker, "reason": reason}]

    def content(found: list[dict[str, Any]]) -> dict[str, Any]:
        (line,) = [line for line in found if line["datasetObjectId"] == "14"]
        metadata = line["consolidatedAnnotation"]["content"]["cars-bbox-metadata"]
        return {**line["consolidatedAnnotation"]["content"], "cars-bbox-metadata": {**metadata, "creation-date": ""}}

    assert content(lines) == content(expected)
