"""`gtproc report`: the page it writes, bad input (one line, exit 2), an empty job, and S3 input on moto."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from gtproc.cli.main import main

from tests.report.report_support import BROKEN, CARS, FLOWERS, PETS_TRUTH, answer, cats_and_dogs, write_responses

SECTIONS = ("summary", "progress", "balance", "confidence", "workers", "crowd", "look-at", "problems")


def report(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str]:
    code = main(["report", *map(str, argv)])
    return code, capsys.readouterr().err


def charts(page: str) -> list[str]:
    return re.findall(r'<figure class="chart" data-chart="([^"]+)"><svg', page)


def summary_cards(page: str) -> dict[str, str]:
    return dict(
        (k, v) for v, k in re.findall(r'<div class="card" data-key="[^"]+"><b>([^<]*)</b><span>([^<]*)</span>', page)
    )


def assert_self_contained(page: str) -> None:
    """Nothing the browser would fetch: no src/href to anything, no stylesheet link, no CSS import or url()."""
    assert not re.search(r"\s(src|href)\s*=", page)
    assert "<link" not in page and "@import" not in page and "url(http" not in page
    assert "<script src" not in page


def test_classification_job(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "flowers.html"
    code, err = report(capsys, FLOWERS, "-o", out)
    assert code == 0, err
    assert err.strip() == f"gtproc report: {out}: 40 objects, 37 labeled, 6 workers"
    page = out.read_text()
    assert_self_contained(page)
    for section in SECTIONS:
        assert f'<section id="{section}">' in page
    assert 'id="task"' not in page  # no box or entity view for classification
    assert charts(page) == [
        "progress",
        "class-balance",
        "confidence",
        "workers-scatter",
        "flagged-confusion",
        "crowd-confusion",
    ]
    cards = summary_cards(page)
    assert cards["objects"] == "40" and cards["auto"] == "12" and cards["failed"] == "3"
    assert "WHL64SLCG3XEFR7GSHXKMC2YDM</code> ⚑" in page  # the spammer is flagged
    assert page.count(" ⚑</td>") == 1
    assert "ClientError: All workers declined the annotation task" in page


def test_bounding_box_job_has_its_own_views(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "cars.html"
    code, _ = report(capsys, CARS, "-o", out)
    page = out.read_text()
    assert code == 0
    assert "boxes" in charts(page) and "crowd-confusion" not in charts(page)
    assert "<h2>9. Bounding boxes</h2>" in page
    assert "median time" in page and re.search(r"<td class=n data-v=\"\d+\.\d+\">\d+ s</td>", page)


def test_truth_adds_accuracy_ece_and_reliability(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    job = cats_and_dogs(tmp_path)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps(PETS_TRUTH))
    out = tmp_path / "pets.html"
    code, err = report(capsys, job, "-o", out, "--truth", truth, "--method", "majority-vote")
    assert code == 0, err
    page = out.read_text()
    assert "reliability" in charts(page)
    table = page[page.index('<table id="truth">') :].split("</table>")[0]
    assert "<td>Ground Truth</td><td class=n>11</td><td class=n>90.9%</td>" in table
    assert "<td>gtproc</td><td class=n>10</td><td class=n>100.0%</td><td class=n>0.165</td>" in table
    assert "accuracy on truth" in page
    assert "majority-vote" in page


def test_bad_input_job_lists_its_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "broken.html"
    code, _ = report(capsys, BROKEN, "-o", out)
    page = out.read_text()
    assert code == 0
    problems = page[page.index('<section id="problems">') :]
    for code_name in ("json-invalid", "not-object", "source-missing", "box-negative-size", "class-map-missing-id"):
        assert f"<code>{code_name}</code>" in problems
    assert "an empty manifest (0 objects)" in problems


def test_a_job_with_nothing_to_show_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "empty-job" / "annotations").mkdir(parents=True)
    out = tmp_path / "empty.html"
    code, err = report(capsys, tmp_path / "empty-job", "-o", out)
    page = out.read_text()
    assert code == 0 and "(nothing to show yet)" in err
    assert "Nothing to show yet" in page and charts(page) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{missing}"], "is not a folder"),
        (["{job}", "--method", "best"], "unknown method 'best'"),
        (["{job}", "--method", "iou-cluster-median"], "method 'iou-cluster-median' is not one of"),
        (["{job}", "--truth", "{bad_truth}"], "bad.json is not JSON"),
        (["{job}", "--truth", "{list_truth}"], 'expected a JSON object {"datasetObjectId": "class", ...}'),
        (["{job}", "--truth", "{missing}"], "cannot read"),
        (["{job}", "--labels", "labels/"], "--labels takes an s3:// URI"),
        (["s3://"], "an s3:// URI needs a bucket and a key"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], argv, message):
    (tmp_path / "bad.json").write_text("{")
    (tmp_path / "list.json").write_text("[1]")
    names = {
        "missing": tmp_path / "nope",
        "job": FLOWERS,
        "bad_truth": tmp_path / "bad.json",
        "list_truth": tmp_path / "list.json",
    }
    out = tmp_path / "out.html"
    code, err = report(capsys, *[a.format(**names) for a in argv], "-o", out)
    assert code == 2
    assert err.startswith("gtproc report: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    code, err = report(capsys, FLOWERS, "-o", tmp_path / "no" / "such" / "dir.html")
    assert code == 2 and err.startswith("gtproc report: cannot write") and err.count("\n") == 1


# ---- s3:// on moto --------------------------------------------------------------------------------


BUCKET = "gt-output"  # the bucket of the s3 fixture (tests/conftest.py)


def upload(client: Any, folder: Path, prefix: str, skip: str = "") -> None:
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not (skip and relative.startswith(skip)):
            client.put_object(Bucket=BUCKET, Key=f"{prefix}{relative}", Body=path.read_bytes())


def test_s3_job_reads_like_the_local_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str], s3: Any):
    upload(s3, FLOWERS, "gt-jobs/flowers-classification/")
    local, remote = tmp_path / "local.html", tmp_path / "s3.html"
    assert report(capsys, FLOWERS, "-o", local)[0] == 0
    code, err = report(capsys, f"s3://{BUCKET}/gt-jobs/flowers-classification/", "-o", remote)
    assert code == 0, err
    page = remote.read_text()
    assert summary_cards(page) == summary_cards(local.read_text())
    assert charts(page) == charts(local.read_text())
    assert f"s3://{BUCKET}/gt-jobs/flowers-classification/manifests/output/output.manifest" in page


def test_s3_labels_so_far_stand_in_for_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], s3: Any):
    upload(s3, FLOWERS, "flowers-classification/", skip="manifests/")
    lines = []
    for index, line in enumerate((FLOWERS / "manifests" / "output" / "output.manifest").read_text().splitlines()):
        record = json.loads(line)
        metadata = record["flowers-classification-metadata"]
        item = {"datasetObjectId": str(index), "sourceRef": record["source-ref"], "iteration": 2}
        if "failure-reason" in metadata:
            item |= {"status": "failed", "failureReason": metadata["failure-reason"]}
        else:
            item |= {"status": "labeled", "label": record["flowers-classification"], "metadata": metadata}
            item["humanAnnotated"] = metadata["human-annotated"] == "yes"
        lines.append(json.dumps(item))
    labels = "labels/gt-output/flowers-classification/"
    s3.put_object(Bucket=BUCKET, Key=f"{labels}part-00000001-a-0.jsonl", Body="\n".join(lines[:20]) + "\n")
    s3.put_object(Bucket=BUCKET, Key=f"{labels}part-00000002-a-0.jsonl", Body="\n".join(lines[20:]) + "\n")
    out = tmp_path / "labels.html"
    code, err = report(
        capsys, f"s3://{BUCKET}/flowers-classification", "-o", out, "--labels", f"s3://{BUCKET}/{labels}"
    )
    assert code == 0, err
    cards = summary_cards(out.read_text())
    assert (cards["labeled"], cards["human"], cards["auto"], cards["failed"]) == ("37", "25", "12", "3")


def test_s3_missing_bucket_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], s3: Any):
    code, err = report(capsys, "s3://no-such-bucket/job/", "-o", tmp_path / "x.html")
    assert code == 2 and err.startswith("gtproc report: cannot read s3://no-such-bucket/job/") and err.count("\n") == 1


def _entity_job(tmp: Path) -> Path:
    job = tmp / "ner-job"
    spans = [[(0, 5, "PER"), (10, 14, "ORG")], [(0, 5, "PER")], [(0, 4, "PER"), (10, 14, "ORG")]]
    for oid in range(3):
        answers = [
            answer(f"w{n}", {"crowd-entity-annotation": {"entities": [
                {"label": label, "startOffset": s, "endOffset": e} for s, e, label in spans[(oid + n) % 3]
            ]}}, f"2024-01-01T10:0{oid}:0{n}Z")
            for n in range(3)
        ]  # fmt: skip
        write_responses(job, 1, oid, answers)
    return job


def _multilabel_job(tmp: Path) -> Path:
    job = tmp / "tags-job"
    picks = [["a", "b"], ["a"], ["b", "c"]]
    for oid in range(4):
        answers = [
            answer(
                f"w{n}",
                {"crowd-image-classifier-multi-select": {"labels": picks[(oid + n) % 3]}},
                "2024-01-01T10:00:00Z",
            )
            for n in range(3)
        ]
        write_responses(job, 1, oid, answers)
    return job


def test_named_entities_get_the_span_view(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "ner.html"
    code, err = report(capsys, _entity_job(tmp_path), "-o", out)
    page = out.read_text()
    assert code == 0, err
    assert "<h2>9. Named entities</h2>" in page and "spans" in charts(page)
    assert "crowd-confusion" not in charts(page) and "groundtruth/text-span" in page


def test_multi_label_job_without_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "tags.html"
    code, err = report(capsys, _multilabel_job(tmp_path), "-o", out)
    page = out.read_text()
    assert code == 0, err
    assert summary_cards(page)["answers"] == "12" and 'id="task"' not in page
    assert "No object has both a gtproc and a Ground Truth label to compare." in page  # no manifest yet
    assert charts(page)[:2] == ["progress", "class-balance"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_progress_line_only_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tty: bool):
    stream = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    assert main(["report", str(FLOWERS), "-o", str(tmp_path / "r.html")]) == 0
    text = stream.getvalue()
    if tty:
        # 31 of the 34 files: the 3 consolidation requests are not read
        assert "\rreading 31/31 files [" in text and "\r" + " " * 78 + "\r" in text
    else:
        assert "\r" not in text
    assert text.rstrip().endswith("40 objects, 37 labeled, 6 workers")


def test_without_the_report_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if `pip install .` without [report]
    code, err = report(capsys, FLOWERS, "-o", tmp_path / "r.html")
    assert code == 2 and err == "gtproc report: needs matplotlib: pip install 'gtproc[report]'\n"
