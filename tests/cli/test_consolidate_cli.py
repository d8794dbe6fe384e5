"""`gtproc consolidate JOB_DIR`: the real birds job against Ground Truth's own labels, options, exit codes,
and a three-iteration bounding-box job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gtproc.cli.main import main

TESTS = Path(__file__).resolve().parents[1]
BIRDS_DATA = TESTS / "unit" / "annotations" / "data"  # from the real job: tests/unit/annotations/data/README.md
BIRDS = "birds-open-images-clone"
CARS_JOB = TESTS.parent / "events" / "jobs" / "bbox-three-iterations" / "cars-bbox"
METADATA_KEYS = {"class-name", "confidence", "type", "job-name", "human-annotated", "creation-date"}


def ground_truth() -> dict[str, dict]:
    """{datasetObjectId: the output-manifest line Ground Truth wrote} for the birds job's iteration 1."""
    path = BIRDS_DATA / f"{BIRDS}.output-lines.jsonl"
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {str(item["line_index"]): item["line"] for item in items}


GT = ground_truth()


def gt_categories() -> list[str]:
    """The job's classes by GT's index; 3 and 5 never appear in iteration 1 (stand-ins), Canary is 9."""
    names = [f"unseen-{i}" for i in range(10)]
    for line in GT.values():
        names[line[BIRDS]] = line[f"{BIRDS}-metadata"]["class-name"]
    names[9] = "Canary"
    return names


@pytest.fixture
def birds(tmp_path: Path) -> Path:
    """A copy of the real job folder, named after the job (its label attribute name too)."""
    job = tmp_path / BIRDS
    shutil.copytree(BIRDS_DATA / BIRDS, job)
    assert len(list((job / "annotations" / "worker-response" / "iteration-1").iterdir())) == 10
    return job


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, list[dict], str]:
    code = main(["consolidate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def contents(lines: list[dict], attribute: str = BIRDS) -> dict[str, tuple[object, dict]]:
    found = {}
    for line in lines:
        content = line["consolidatedAnnotation"]["content"]
        found[line["datasetObjectId"]] = (content[attribute], content[f"{attribute}-metadata"])
    return found


def test_one_line_per_object_in_consolidation_response_form(birds: Path, capsys):
    code, lines, err = run(capsys, birds)

    assert code == 0
    assert err == (
        "gtproc consolidate: 10 objects: 10 consolidated, 0 left out; method dawid-skene (image-classification);"
        " 1 iteration\n"
    )
    assert [line["datasetObjectId"] for line in lines] == sorted(GT, key=int)  # numeric order
    for line in lines:
        assert set(line) == {"datasetObjectId", "consolidatedAnnotation"}
        assert set(line["consolidatedAnnotation"]) == {"content"}
        content = line["consolidatedAnnotation"]["content"]
        assert set(content) == {BIRDS, f"{BIRDS}-metadata"}
        label, metadata = content[BIRDS], content[f"{BIRDS}-metadata"]
        assert type(label) is int
        assert set(metadata) == METADATA_KEYS
        assert metadata["type"] == "groundtruth/image-classification"
        assert metadata["job-name"] == f"labeling-job/{BIRDS}"
        assert metadata["human-annotated"] == "yes"
        assert 0 <= metadata["confidence"] <= 1
        assert len(metadata["creation-date"]) == len("2019-04-18T16:12:02.463660")


def test_class_names_equal_ground_truths_own_labels(birds: Path, capsys):
    _, lines, _ = run(capsys, birds)
    ours = contents(lines)
    assert set(ours) == set(GT)
    for object_id, line in GT.items():
        assert ours[object_id][1]["class-name"] == line[f"{BIRDS}-metadata"]["class-name"], object_id


def test_output_is_compact_json_lines(birds: Path, capsys):
    assert main(["consolidate", str(birds)]) == 0
    out = capsys.readouterr().out
    assert out.endswith("\n")
    for line in out.splitlines():
        assert line == json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":"))


def test_label_attribute_option(birds: Path, capsys):
    code, lines, _ = run(capsys, birds, "--label-attribute", "birds")
    assert code == 0 and len(lines) == 10
    for line in lines:
        assert set(line["consolidatedAnnotation"]["content"]) == {"birds", "birds-metadata"}
        assert line["consolidatedAnnotation"]["content"]["birds-metadata"]["job-name"] == f"labeling-job/{BIRDS}"


def test_label_categories_in_ground_truths_file_shape_give_ground_truths_indexes(birds: Path, tmp_path: Path, capsys):
    categories = tmp_path / "data.json"
    categories.write_text(json.dumps({
        "document-version": "2018-11-28", "labels": [{"label": name} for name in gt_categories()]}))  # fmt: skip

    code, lines, _ = run(capsys, birds, "--label-categories", categories)

    assert code == 0
    ours = contents(lines)
    for object_id, line in GT.items():
        assert ours[object_id][0] == line[BIRDS], object_id  # the int label is GT's own
        assert ours[object_id][1]["class-name"] == line[f"{BIRDS}-metadata"]["class-name"]


def test_label_categories_as_a_plain_list(birds: Path, tmp_path: Path, capsys):
    names = sorted(gt_categories(), reverse=True)
    categories = tmp_path / "categories.json"
    categories.write_text(json.dumps(names))

    code, lines, _ = run(capsys, birds, "--label-categories", categories)

    assert code == 0 and len(lines) == 10
    for label, metadata in contents(lines).values():
        assert names[label] == metadata["class-name"]


@pytest.mark.parametrize(
    ("body", "message"),
    [("{not json", "is not JSON"), ('{"labels": "Duck"}', "expected"), ("[1, 2]", "expected")],
)
def test_unusable_label_categories_file(birds: Path, tmp_path: Path, capsys, body: str, message: str):
    categories = tmp_path / "categories.json"
    categories.write_text(body)
    code, lines, err = run(capsys, birds, "--label-categories", categories)
    assert (code, lines) == (2, [])
    assert message in err and err.count("\n") == 1


def test_missing_label_categories_file(birds: Path, tmp_path: Path, capsys):
    code, lines, err = run(capsys, birds, "--label-categories", tmp_path / "nope.json")
    assert (code, lines) == (2, [])
    assert "cannot read" in err


def test_majority_vote_method(birds: Path, capsys):
    code, lines, _ = run(capsys, birds, "--method", "majority-vote")
    assert code == 0 and len(lines) == 10
    ours = contents(lines)
    for object_id, line in GT.items():
        assert ours[object_id][1]["class-name"] == line[f"{BIRDS}-metadata"]["class-name"], object_id
    # majority vote's confidence is the winning share of the 5 workers
    assert {round(metadata["confidence"] * 5, 6) % 1 for _, metadata in ours.values()} == {0}


def test_unknown_method_exits_2_with_a_one_line_message(birds: Path, capsys):
    code, lines, err = run(capsys, birds, "--method", "best-guess")
    assert (code, lines) == (2, [])
    assert err.count("\n") == 1
    assert err.startswith("gtproc consolidate:")
    assert "best-guess" in err and "majority-vote" in err


def test_missing_folder_exits_2(tmp_path: Path, capsys):
    code, lines, err = run(capsys, tmp_path / "no-such-job")
    assert (code, lines) == (2, [])
    assert "no-such-job" in err and err.count("\n") == 1


def test_folder_without_iterations_exits_2(tmp_path: Path, capsys):
    (tmp_path / "job" / "annotations" / "worker-response").mkdir(parents=True)
    code, _, err = run(capsys, tmp_path / "job")
    assert code == 2
    assert "iteration" in err


def test_unreadable_worker_file_leaves_its_object_out_and_exits_1(birds: Path, capsys):
    broken = birds / "annotations" / "worker-response" / "iteration-1" / "7"
    path = next(broken.glob("*.json"))
    path.write_text("{oops")
    code, lines, err = run(capsys, birds)
    assert code == 1
    assert "7" not in {line["datasetObjectId"] for line in lines} and len(lines) == 9
    assert f"{path}: not readable JSON" in err
    assert "iteration 1, object 7 left out: no usable worker-response file" in err
    assert err.splitlines()[-1].startswith("gtproc consolidate: 10 objects: 9 consolidated, 1 left out;")


def test_hostile_files_are_left_out_by_name_and_the_others_still_written(birds: Path, capsys):
    responses = birds / "annotations" / "worker-response" / "iteration-1"
    deep = b'{"answers":[{"workerId":"w","answerContent":{"x":' + b"[" * 100_000 + b"]" * 100_000 + b"}}]}"
    next((responses / "36").glob("*.json")).write_bytes(deep)
    labels = [f"c{i}" for i in range(1001)]
    many = {
        "answers": [{"workerId": f"w{n}", "answerContent": {"crowd-image-classifier": {"label": n}}} for n in labels]
    }
    next((responses / "40").glob("*.json")).write_text(json.dumps(many))
    code, lines, err = run(capsys, birds)
    assert code == 1
    ids = {path.name for path in responses.iterdir()}
    assert {line["datasetObjectId"] for line in lines} == ids - {"36", "40"}
    left_out = [line for line in err.splitlines() if " left out: " in line and "objects:" not in line]
    assert len(left_out) == 2
    assert left_out[0].startswith("gtproc consolidate: iteration 1, object 36 left out: no usable worker-response")
    assert left_out[0].endswith("nesting too deep to decode)")
    assert left_out[1] == "gtproc consolidate: iteration 1, object 40 left out: 1001 classes, over the limit of 1000"
    assert err.splitlines()[-1].startswith(
        f"gtproc consolidate: {len(ids)} objects: {len(ids) - 2} consolidated, 2 left"
    )


def test_bounding_box_job_over_three_iterations(capsys):
    code, lines, err = run(capsys, CARS_JOB)

    assert code == 0
    assert err == (
        "gtproc consolidate: 30 objects: 30 consolidated, 0 left out;"
        " method iou-cluster-median (object-detection); 3 iterations\n"
    )
    worker_files = sorted((CARS_JOB / "annotations" / "worker-response").glob("iteration-*/*/*.json"))
    by_iteration = {}
    for path in worker_files:
        by_iteration.setdefault(int(path.parts[-3].removeprefix("iteration-")), []).append(path.parts[-2])
    expected_order = [oid for it in sorted(by_iteration) for oid in sorted(by_iteration[it], key=int)]
    assert [line["datasetObjectId"] for line in lines] == expected_order  # by iteration, then numeric id
    assert len(lines) == len(set(expected_order)) == 30
    for label, metadata in contents(lines, "cars-bbox").values():
        assert set(label) == {"image_size", "annotations"}
        assert metadata["type"] == "groundtruth/object-detection"
        assert len(metadata["objects"]) == len(label["annotations"])
        assert {metadata["class-map"][str(box["class_id"])] for box in label["annotations"]} <= {"car", "truck", "bus"}
    zero = contents(lines, "cars-bbox")["15"]
    assert zero[0]["annotations"] == [] and zero[1]["class-map"] == {}


def test_task_type_in_ground_truth_form_and_early_usage_errors(capsys, tmp_path):
    jobs = Path(__file__).resolve().parents[2] / "events" / "jobs" / "bbox-three-iterations" / "cars-bbox"
    assert main(["consolidate", str(jobs), "--task-type", "groundtruth/object-detection"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines and all("cars-bbox" in line["consolidatedAnnotation"]["content"] for line in lines)

    # A bad method is refused before any file is read: the folder does not even exist.
    assert main(["consolidate", str(tmp_path / "nowhere"), "--method", "nope"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown method 'nope'" in err

    empty = tmp_path / "categories.json"
    empty.write_text("[]")
    assert main(["consolidate", str(jobs), "--label-categories", str(empty)]) == 2
    assert "the category list is empty" in capsys.readouterr().err


# ---- the first hour: checks before the run, the summary, --json, exit 1 for anything left out ----------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("bad name!", "does not match"), ("birds-metadata", "must not end with `-metadata`"), ("birds-ref", "-ref")],
)
def test_a_label_attribute_ground_truth_would_refuse_exits_2(birds: Path, capsys, name: str, fragment: str):
    code, lines, err = run(capsys, birds, "--label-attribute", name)
    assert (code, lines) == (2, [])
    assert err.count("\n") == 1 and "--label-attribute" in err and fragment in err


def test_a_job_folder_name_ground_truth_would_refuse_names_the_folder(birds: Path, capsys):
    folder = birds.rename(birds.with_name("bad name!"))
    code, lines, err = run(capsys, folder)
    assert (code, lines) == (2, [])
    assert err.count("\n") == 1 and "job folder name 'bad name!'" in err and "does not match" in err
    assert "--label-attribute:" not in err and "hint: pass --label-attribute" in err


def test_a_label_attribute_the_validator_accepts_is_accepted(birds: Path, tmp_path: Path, capsys):
    code, lines, _ = run(capsys, birds, "--label-attribute", "birds-v2")
    assert code == 0
    manifest = tmp_path / "out.manifest"
    manifest.write_text(
        "".join(
            json.dumps(
                {"source-ref": f"s3://b/{line['datasetObjectId']}.jpg", **line["consolidatedAnnotation"]["content"]}
            )
            + "\n"
            for line in lines
        )
    )
    assert main(["validate", str(manifest)]) == 0
    capsys.readouterr()


def test_categories_lacking_the_answers_classes_exit_2_naming_them(birds: Path, tmp_path: Path, capsys):
    used = {line[f"{BIRDS}-metadata"]["class-name"] for line in GT.values()}
    dropped = sorted(used)[:2]
    categories = tmp_path / "categories.json"
    categories.write_text(json.dumps([name for name in gt_categories() if name not in dropped]))
    code, lines, err = run(capsys, birds, "--label-categories", categories)
    assert (code, lines) == (2, [])
    assert err.count("\n") == 1 and all(repr(name) in err for name in dropped)


def test_json_summary(birds: Path, capsys):
    next((birds / "annotations" / "worker-response" / "iteration-1" / "36").glob("*.json")).write_text("[]")
    code, lines, err = run(capsys, birds, "--json")
    assert code == 1 and len(lines) == 9
    summary = json.loads(err.splitlines()[-1])
    assert summary["objects"] == 10 and summary["consolidated"] == 9 and summary["leftOut"] == 1
    assert summary["method"] == "dawid-skene" and summary["taskType"] == "image-classification"
    assert [(o["iteration"], o["datasetObjectId"]) for o in summary["leftOutObjects"]] == [(1, "36")]


def test_an_object_with_one_unreadable_file_among_good_ones_exits_1(capsys, tmp_path: Path):
    job = tmp_path / "cars-bbox"
    shutil.copytree(CARS_JOB, job)
    folder = job / "annotations" / "worker-response" / "iteration-1" / "14"
    (folder / "2099-01-01_00:00:00.json").write_text("{oops")
    code, lines, err = run(capsys, job, "--json")
    assert code == 1 and "14" in {line["datasetObjectId"] for line in lines}
    summary = json.loads(err.splitlines()[-1])
    assert summary["leftOut"] == 0 and summary["objectsMissingFiles"][0]["datasetObjectId"] == "14"
