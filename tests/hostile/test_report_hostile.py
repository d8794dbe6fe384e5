"""`gtproc report` on hostile job files: a file that cannot be read is listed among the page's unusable
files and the rest of the job is still reported (exit 0); a hostile --truth file is one line, exit 2."""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest

from tests.hostile import corpus
from tests.hostile.support import assert_clean, gtproc
from tests.report.report_support import cats_and_dogs

pytest.importorskip("matplotlib")

RESPONSE = "annotations/worker-response/iteration-1/{}/2024-01-01_10:00:00.json"
CONSOLIDATION = "annotations/consolidated-annotation/consolidation-response/iteration-1/2024-01-01_10:05:00.json"


def test_hostile_files_are_listed_as_unusable_and_the_job_still_reported(tmp_path: Path) -> None:
    job = cats_and_dogs(tmp_path)
    hostile = {"1": corpus.deep_array(), "2": corpus.deep_object(), "3": corpus.NOT_JSON["nan"]}
    for oid, content in hostile.items():
        (job / RESPONSE.format(oid)).write_bytes(content)
    consolidation = job / CONSOLIDATION
    consolidation.parent.mkdir(parents=True)
    content = {"pets": 0, "pets-metadata": {"class-name": "cat"}}
    items = [{"datasetObjectId": oid, "consolidatedAnnotation": {"content": content}} for oid in ("\u00b2", "0")]
    consolidation.write_text(json.dumps(items))
    page_file = tmp_path / "report.html"

    result = gtproc("report", job, "-o", page_file)

    assert result.returncode == 0, result.stderr[-3000:]
    assert_clean(result, "report")
    page = html.unescape(page_file.read_text(encoding="utf-8"))
    unusable = page[page.index('id="unusable"') :]
    for oid, why in (("1", "nesting too deep"), ("2", "nesting too deep"), ("3", "NaN is not a JSON number")):
        row = unusable[unusable.index(f"/{oid}/2024-01-01_10:00:00.json") :]
        assert why in row[: row.index("</tr>")], oid


@pytest.mark.parametrize(
    ("content", "why"),
    [(corpus.deep_array(), "nesting too deep"), (b'{"0": NaN}', "NaN is not a JSON number"), (b"", "empty")],
)
def test_a_hostile_truth_file_is_one_line_and_exit_2(tmp_path: Path, content: bytes, why: str) -> None:
    job = cats_and_dogs(tmp_path)
    truth = tmp_path / "truth.json"
    truth.write_bytes(content)

    result = gtproc("report", job, "-o", tmp_path / "report.html", "--truth", truth)

    assert result.returncode == 2
    (line,) = assert_clean(result, "report")
    assert str(truth) in line and why in line, line
    assert not (tmp_path / "report.html").exists()


def test_a_truth_file_with_a_bom_is_read(tmp_path: Path) -> None:
    job = cats_and_dogs(tmp_path)
    truth = tmp_path / "truth.json"
    truth.write_bytes(corpus.BOM + json.dumps({str(oid): "cat" if oid < 5 else "dog" for oid in range(10)}).encode())

    result = gtproc("report", job, "-o", tmp_path / "report.html", "--truth", truth)

    assert result.returncode == 0, result.stderr


def test_numbers_past_floats_range_are_no_numbers_not_a_crash(tmp_path: Path) -> None:
    # 10**400 is valid JSON; float() of it raises OverflowError.
    job = cats_and_dogs(tmp_path)
    huge = "1" + "0" * 400
    manifest = job / "manifests" / "output" / "output.manifest"
    text = manifest.read_text()
    assert '"confidence": 0.95' in text or '"confidence":0.95' in text
    manifest.write_text(
        text.replace('"confidence": 0.95', f'"confidence": {huge}', 1).replace(
            '"confidence":0.95', f'"confidence":{huge}', 1
        )
    )
    response = job / RESPONSE.format("3")
    document = json.loads(response.read_text())
    document["answers"][0].pop("submissionTime")
    response.write_text(json.dumps(document).replace('"workerId"', f'"timeSpentInSeconds": {huge}, "workerId"', 1))
    page_file = tmp_path / "report.html"

    result = gtproc("report", job, "-o", page_file)

    assert result.returncode == 0, result.stderr[-3000:]
    assert_clean(result, "report")
    assert page_file.stat().st_size > 0
