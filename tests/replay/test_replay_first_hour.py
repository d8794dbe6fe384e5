"""What a first try of `gtproc replay` tells: the job's own folder, why nothing reached a pipeline,
verdicts only the handler's outcome supports, every write accounted for, quiet logs, plurals."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
from gtproc.cli.main import main

pytestmark = pytest.mark.integration

JOBS = Path(__file__).resolve().parents[2] / "events" / "jobs"
BBOX_JOB = JOBS / "bbox-three-iterations" / "cars-bbox"
MANIFEST_FACTS = ("Objects Labeled", "Objects Failed", "Validation Failed", "Labeling Job Completed")


def replay(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def manifest_events(path: Path) -> list[tuple[str, str, int]]:
    lines = [json.loads(raw) for raw in path.read_text(encoding="utf-8").splitlines()]
    found = []
    for line in lines:
        detail = line["detail"]
        if line["detail-type"] in ("Objects Labeled", "Objects Failed"):
            found += [(line["detail-type"], detail["jobName"], int(o["datasetObjectId"])) for o in detail["objects"]]
        elif line["detail-type"] == "Labeling Job Completed":
            found.append((line["detail-type"], detail["jobName"], detail["labeled"]))
    return sorted(found)


def test_the_job_folder_replays_as_that_job(tmp_path: Path, capsys) -> None:
    code, out, err = replay(capsys, str(BBOX_JOB), "--quiet", "--events-out", str(tmp_path / "folder.jsonl"))
    assert code == 0, err
    assert (
        replay(
            capsys,
            str(JOBS / "bbox-three-iterations.plan.jsonl"),
            "--quiet",
            "--events-out",
            str(tmp_path / "plan.jsonl"),
        )[0]
        == 0
    )
    folder, plan = manifest_events(tmp_path / "folder.jsonl"), manifest_events(tmp_path / "plan.jsonl")
    assert folder == plan
    assert ("Labeling Job Completed", "cars-bbox", 30) in folder
    assert "38 routed" in out  # 42 files, 4 consolidation requests


def test_the_job_folder_goes_under_the_prefix(tmp_path: Path, capsys) -> None:
    events = tmp_path / "events.jsonl"
    code, _, err = replay(capsys, str(BBOX_JOB), "--prefix", "gt-output/", "--quiet", "--events-out", str(events))
    assert code == 0, err
    completed = [json.loads(raw) for raw in events.read_text().splitlines() if "Labeling Job Completed" in raw]
    assert (
        completed[0]["detail"]["manifestUri"]
        == "s3://gt-output-bucket/gt-output/cars-bbox/manifests/output/output.manifest"
    )


def test_a_prefix_that_matches_nothing_exits_1_naming_it(capsys) -> None:
    code, out, err = replay(capsys, str(JOBS / "adjustment-chained.plan.jsonl"), "--prefix", "gt-output")
    assert code == 1
    assert "nothing new" not in out
    assert "not routed: not under the prefix 'gt-output'" in out
    (message,) = err.strip().splitlines()
    assert "the prefix 'gt-output' matches no key" in message


def test_a_folder_without_the_ground_truth_layout_exits_1(tmp_path: Path, capsys) -> None:
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "output.manifest").write_text('{"source-ref": "s3://b/a.jpg"}\n')
    code, out, err = replay(capsys, str(tmp_path))
    assert code == 1
    (message,) = err.strip().splitlines()
    assert "no file is at a Ground Truth output key" in message and "manifests/ or annotations/" in message
    assert "1 file outside Ground Truth's output layout" in out


def test_an_empty_folder_exits_1(tmp_path: Path, capsys) -> None:
    code, out, err = replay(capsys, str(tmp_path))
    assert (code, out) == (1, "")
    assert "the folder is empty" in err and str(tmp_path) in err


def test_an_empty_manifest_is_not_called_published_before(tmp_path: Path, capsys) -> None:
    (tmp_path / "empty.manifest").write_bytes(b"")
    plan = tmp_path / "p.plan.jsonl"
    plan.write_text(
        json.dumps({"key": "job/manifests/intermediate/1/output.manifest", "file": "empty.manifest"}) + "\n"
    )
    code, out, _ = replay(capsys, str(plan))
    assert code == 0
    assert "nothing new" not in out
    assert "nothing to publish: the manifest is empty (0 lines)" in out


def test_a_misnamed_job_folder_warns_naming_both_names(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "cars-v2"
    shutil.copytree(BBOX_JOB / "manifests", folder / "manifests")
    code, out, err = replay(capsys, str(folder), "--quiet")
    assert code == 0
    (warning,) = err.strip().splitlines()  # once per job, not once per manifest
    assert "warning" in warning and "'cars-v2'" in warning and "labeling-job/cars-bbox" in warning
    code, out, err = replay(capsys, str(folder))
    assert out.count("  warning: ") == 4 and "nothing new" not in out


def test_own_labels_give_no_warning_even_on_a_chained_job(capsys) -> None:
    code, _, err = replay(capsys, str(JOBS / "adjustment-chained.plan.jsonl"), "--quiet")
    assert code == 0 and "warning" not in err


def test_every_write_is_accounted_for(capsys) -> None:
    code, out, _ = replay(capsys, str(JOBS / "bbox-three-iterations.plan.jsonl"))
    assert code == 0
    summary = re.search(r"^(\d+) writes: (\d+) routed .*; not routed: (\d+) consolidation requests \(", out, re.M)
    assert summary is not None, out
    assert int(summary[1]) == int(summary[2]) + int(summary[3]) == 43
    told = [line for line in out.splitlines() if not line.startswith(" ")]
    counted = sum(int(line.split()[0]) for line in told if re.match(r"\d+ (worker|consolidation)", line))
    assert counted + sum(line.startswith("write ") for line in told) == 43
    assert out.count("not routed: only the post-annotation Lambda reads them") == 4


def test_logs_only_with_verbose_and_as_the_stack_sets_the_functions(capsys) -> None:
    plan = str(JOBS / "adjustment-chained.plan.jsonl")
    code, out, err = replay(capsys, plan)
    assert code == 0
    assert "{" not in out + err  # no raw log or metric line
    code, out, err = replay(capsys, plan, "--verbose")
    assert code == 0 and "{" not in out
    logs = [json.loads(line) for line in err.splitlines() if line.startswith('{"level"')]
    assert logs and {log["service"] for log in logs} == {"gtproc"}
    assert {log["function_memory_size"] for log in logs if log["function_name"] == "gtproc-manifests"} == {1024}


def test_quiet_and_verbose_exclude_each_other(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["replay", str(BBOX_JOB), "--quiet", "--verbose"])
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_counts_have_their_plurals(capsys) -> None:
    _, out, _ = replay(capsys, str(JOBS / "adjustment-chained.plan.jsonl"))
    assert re.search(r"Labeling Job Completed +1 event +1 fact$", out, re.M), out
    assert "1 events" not in out and "1 objects" not in out and "1 facts" not in out
    assert "dead-letter queues: 0 messages" in out


@pytest.mark.parametrize("seed", [1, 2, 3, 7])
def test_chaos_events_show_under_the_write_that_caused_them(capsys, seed: int) -> None:
    code, out, _ = replay(capsys, str(JOBS / "bbox-three-iterations.plan.jsonl"), "--chaos", str(seed))
    assert code == 0
    header = ""
    shown = 0
    account = out.split("\n\n")[0]  # the summary follows a blank line
    for line in account.splitlines():
        if not line.startswith(" "):
            header = line
            continue
        if "Objects Labeled" in line or "Labeling Job Completed" in line:
            shown += 1
            match = re.search(r"\(iteration (\d+)\)", line)
            if match:
                assert header.startswith(f"write cars-bbox/manifests/intermediate/{match[1]}/"), (header, line)
            else:
                assert header == "write cars-bbox/manifests/output/output.manifest", (header, line)
        if "Annotations Consolidated" in line or "Consolidation Compared" in line:
            iteration = re.search(r"\(iteration (\d+)\)", line)[1]
            assert f"(iteration {iteration})" in header, (header, line)
    assert shown >= 4


def test_a_replay_raises_no_python_warning(capsys) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for seed in (1, 2, 3):  # chaos delivers more messages than Powertools' 100-value flush
            assert (
                main(["replay", str(JOBS / "classification-failed-auto.plan.jsonl"), "--quiet", "--chaos", str(seed)])
                == 0
            )
    capsys.readouterr()


def test_handlers_on_the_embedded_aws_never_flush_an_empty_metric_set() -> None:
    """The cause of Powertools' "No application metrics to publish": with metrics disabled it never
    cleared its set, which flushed itself on the 100th value, mid-batch, and left the handler's own
    flush empty. The embedded AWS keeps metrics enabled, as Lambda does."""
    from contextlib import redirect_stdout
    from io import StringIO

    from gtproc.handlers import annotations
    from gtproc.local.embedded import embedded_aws
    from gtproc.local.replay import _Context

    event = json.loads((JOBS.parent / "triggers" / "sqs-wrapping-s3-test-event.json").read_text())
    with embedded_aws(), warnings.catch_warnings(), redirect_stdout(StringIO()):
        warnings.simplefilter("error")
        for _ in range(150):
            assert annotations.handler(event, _Context("annotations")) == {"batchItemFailures": []}
