"""`gtproc validate`: exit codes, --json shape, --max-errors, unreadable inputs, several inputs, s3:// on moto."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from gtproc.cli.main import main

REAL = Path(__file__).resolve().parents[1] / "unit" / "format" / "data"
REPORT_KEYS = ["path", "lines", "labeled", "unlabeled", "failed", "invalid", "errors"]
ERROR_KEYS = ["line", "attribute", "code", "message"]

LABELED = json.dumps(
    {
        "source-ref": "s3://b/1.jpg",
        "birds": 1,
        "birds-metadata": {
            "confidence": 0.95,
            "job-name": "labeling-job/birds",
            "class-name": "Falcon",
            "human-annotated": "yes",
            "creation-date": "2019-04-18T16:40:59.217995",
            "type": "groundtruth/image-classification",
        },
    },
    separators=(",", ":"),
)
UNLABELED = '{"source-ref":"s3://b/2.jpg"}'
FAILED = '{"source-ref":"s3://b/3.jpg","birds-metadata":{"failure-reason":"ClientError: expired"}}'
BAD_CONFIDENCE = LABELED.replace('"confidence":0.95', '"confidence":1.5')
BAD_HUMAN = LABELED.replace('"human-annotated":"yes"', '"human-annotated":"maybe"')


def write(tmp_path: Path, name: str, *lines: str) -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def valid(tmp_path: Path) -> str:
    return write(tmp_path, "valid.manifest", LABELED, UNLABELED, LABELED, FAILED)


@pytest.fixture
def invalid(tmp_path: Path) -> str:
    # line 2: one error; line 4: two errors on one line (confidence, human-annotated); line 5: not JSON
    both = BAD_CONFIDENCE.replace('"human-annotated":"yes"', '"human-annotated":"maybe"')
    return write(tmp_path, "invalid.manifest", LABELED, BAD_CONFIDENCE, UNLABELED, both, "{oops", FAILED)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def json_reports(out: str) -> list[dict[str, Any]]:
    return [json.loads(text) for text in out.splitlines()]


# ---- exit codes and output ----------------------------------------------------------------------------


def test_valid_file_exits_0(capsys: pytest.CaptureFixture[str], valid: str) -> None:
    code, out, err = run(capsys, valid)
    assert code == 0
    assert out == f"{valid}: OK: 4 lines: 2 labeled, 1 unlabeled, 1 failed, 0 invalid\n"
    assert err == ""


def test_invalid_file_exits_1_and_names_each_error(capsys: pytest.CaptureFixture[str], invalid: str) -> None:
    code, out, _ = run(capsys, invalid)
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith(f"{invalid}:2: [confidence-range] birds: ")
    assert any(line.startswith(f"{invalid}:4: [human-annotated-invalid] birds: ") for line in lines)
    assert any(line.startswith(f"{invalid}:5: [json-invalid] ") for line in lines)
    assert lines[-1] == f"{invalid}: INVALID: 6 lines: 1 labeled, 1 unlabeled, 1 failed, 3 invalid"


def test_json_shape(capsys: pytest.CaptureFixture[str], invalid: str) -> None:
    code, out, _ = run(capsys, "--json", invalid)
    assert code == 1
    (report,) = json_reports(out)
    assert list(report) == REPORT_KEYS
    assert report["path"] == invalid
    assert [report[key] for key in REPORT_KEYS[1:6]] == [6, 1, 1, 1, 3]
    assert all(list(error) == ERROR_KEYS for error in report["errors"])
    assert [(e["line"], e["attribute"], e["code"]) for e in report["errors"]] == [
        (2, "birds", "confidence-range"),
        (4, "birds", "human-annotated-invalid"),
        (4, "birds", "confidence-range"),
        (5, None, "json-invalid"),
    ]
    assert all(isinstance(e["message"], str) and e["message"] for e in report["errors"])


def test_json_of_a_valid_file(capsys: pytest.CaptureFixture[str], valid: str) -> None:
    code, out, _ = run(capsys, valid, "--json")
    assert code == 0
    assert json_reports(out) == [
        {"path": valid, "lines": 4, "labeled": 2, "unlabeled": 1, "failed": 1, "invalid": 0, "errors": []}
    ]


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 4, 100])
def test_max_errors_keeps_counts_exact(capsys: pytest.CaptureFixture[str], invalid: str, limit: int) -> None:
    code, out, _ = run(capsys, "--json", "--max-errors", str(limit), invalid)
    assert code == 1
    (report,) = json_reports(out)
    assert [report[key] for key in REPORT_KEYS[1:6]] == [6, 1, 1, 1, 3]
    assert len(report["errors"]) == min(limit, 4)
    assert report.get("errorsOmitted", 0) == 4 - min(limit, 4)
    if limit:
        assert report["errors"][0]["line"] == 2


def test_max_errors_in_text_output_says_how_many_were_cut(capsys: pytest.CaptureFixture[str], invalid: str) -> None:
    code, out, _ = run(capsys, "--max-errors=1", invalid)
    assert code == 1
    assert f"{invalid}: ... 3 more errors not shown (--max-errors)" in out.splitlines()
    assert out.splitlines()[-1].endswith("3 invalid")


def test_many_invalid_lines_with_max_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = write(tmp_path, "many.manifest", *([LABELED, BAD_HUMAN, "[]"] * 2000))
    code, out, _ = run(capsys, "--json", "--max-errors", "5", path)
    assert code == 1
    (report,) = json_reports(out)
    assert (report["lines"], report["labeled"], report["invalid"], len(report["errors"])) == (6000, 2000, 4000, 5)


# ---- unreadable input and usage errors -------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_path_exits_2_with_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str) -> None:
    path = str(tmp_path / "nope.manifest") if kind == "missing" else str(tmp_path)
    code, out, err = run(capsys, path)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gtproc validate: ") and path in err
    assert "Traceback" not in err


def test_unreadable_path_in_json_mode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = str(tmp_path / "nope.manifest")
    code, out, err = run(capsys, "--json", path)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    (report,) = json_reports(out)
    assert report["path"] == path and "error" in report


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_permissions(capsys: pytest.CaptureFixture[str], valid: str) -> None:
    Path(valid).chmod(0)
    try:
        code, _, err = run(capsys, valid)
    finally:
        Path(valid).chmod(0o644)
    assert code == 2 and err.count("\n") == 1


@pytest.mark.parametrize(
    "argv",
    [[], ["--max-errors", "-1", "x"], ["--max-errors", "abc", "x"], ["--bogus", "x"], ["--max-errors"]],
    ids=["no-path", "negative", "not-a-number", "unknown-option", "missing-value"],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", *argv])
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


# ---- several inputs -------------------------------------------------------------------------------------


def test_several_inputs_in_order(capsys: pytest.CaptureFixture[str], valid: str, invalid: str) -> None:
    code, out, _ = run(capsys, "--json", valid, invalid, valid)
    assert code == 1
    reports = json_reports(out)
    assert [r["path"] for r in reports] == [valid, invalid, valid]
    assert [r["invalid"] for r in reports] == [0, 3, 0]
    assert all(list(r) == REPORT_KEYS for r in reports)


def test_several_inputs_unreadable_wins(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, valid: str, invalid: str
) -> None:
    missing = str(tmp_path / "missing.manifest")
    for argv in ([valid, missing], [missing, valid], [invalid, missing], [missing, invalid]):
        code, out, err = run(capsys, "--json", *argv)
        assert code == 2, argv
        reports = json_reports(out)
        assert [r["path"] for r in reports] == argv  # the readable input is still validated
        assert err.count("\n") == 1


def test_real_samples_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    names = sorted(path.name for path in REAL.glob("*.manifest"))
    assert len(names) == 6
    code, out, _ = run(capsys, "--json", *(str(REAL / name) for name in names))
    assert code == 0
    counts = {Path(r["path"]).name: (r["lines"], r["labeled"], r["unlabeled"], r["invalid"]) for r in json_reports(out)}
    assert counts == {
        "bbox-cat-labels.output.manifest": (4, 4, 0, 0),
        "bbox-with-adjustment-chain.output.manifest": (25, 25, 0, 0),
        "custom-task.output.manifest": (20, 20, 0, 0),
        "image-classification.input.manifest": (119, 0, 119, 0),
        "image-classification.output.manifest": (119, 119, 0, 0),
        "semantic-segmentation.output.manifest": (1, 1, 0, 0),
    }


# ---- as a real process ----------------------------------------------------------------------------------


def gtproc(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gtproc", *argv], capture_output=True, text=True, timeout=120, check=False
    )


def test_subprocess_exit_codes_and_json(valid: str, invalid: str, tmp_path: Path) -> None:
    done = gtproc("validate", "--json", "--max-errors", "1", valid, invalid)
    assert done.returncode == 1, done.stderr
    reports = json_reports(done.stdout)
    assert [list(r) for r in reports] == [REPORT_KEYS, [*REPORT_KEYS, "errorsOmitted"]]  # the list was cut
    assert [(r["lines"], r["invalid"], len(r["errors"])) for r in reports] == [(4, 0, 0), (6, 3, 1)]
    assert gtproc("validate", valid).returncode == 0
    missing = gtproc("validate", str(tmp_path / "missing.manifest"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    assert gtproc("validate").returncode == 2


# ---- s3:// on moto ----------------------------------------------------------------------------------------

BUCKET = "gt-output"  # the bucket of the s3 fixture (tests/conftest.py)


def test_s3_manifest(capsys: pytest.CaptureFixture[str], s3: Any) -> None:
    key = "out/cars-bbox/manifests/output/output.manifest"
    s3.put_object(Bucket=BUCKET, Key=key, Body=(REAL / "bbox-with-adjustment-chain.output.manifest").read_bytes())
    code, out, err = run(capsys, "--json", f"s3://{BUCKET}/{key}")
    assert code == 0, err
    assert json_reports(out) == [
        {
            "path": f"s3://{BUCKET}/{key}",
            "lines": 25,
            "labeled": 25,
            "unlabeled": 0,
            "failed": 0,
            "invalid": 0,
            "errors": [],
        }
    ]


def test_s3_invalid_manifest_and_key_with_colons_and_spaces(capsys: pytest.CaptureFixture[str], s3: Any) -> None:
    key = "out/my job/manifests/intermediate/10/output 2024-03-12_09:16:21.manifest"
    s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join([LABELED, BAD_HUMAN, UNLABELED]) + "\n").encode())
    code, out, _ = run(capsys, "--json", f"s3://{BUCKET}/{key}")
    assert code == 1
    (report,) = json_reports(out)
    assert (report["lines"], report["labeled"], report["unlabeled"], report["invalid"]) == (3, 1, 1, 1)
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(2, "human-annotated-invalid")]


def test_s3_large_manifest_in_chunks(capsys: pytest.CaptureFixture[str], s3: Any) -> None:
    body = ("\n".join([LABELED] * 14_000) + "\n").encode()  # > 3 MiB: several 1 MiB chunks
    assert len(body) > 3 * 1024 * 1024
    s3.put_object(Bucket=BUCKET, Key="big.manifest", Body=body)
    code, out, _ = run(capsys, "--json", f"s3://{BUCKET}/big.manifest")
    assert code == 0
    assert json_reports(out)[0]["labeled"] == 14_000


@pytest.mark.parametrize(
    "uri",
    [
        f"s3://{BUCKET}/out/job/manifests/output/output.manifest",
        "s3://no-such-bucket-gtproc/x.manifest",
        f"s3://{BUCKET}",
        "s3://",
    ],
    ids=["missing-key", "missing-bucket", "no-key", "no-bucket"],
)
def test_s3_unreadable_exits_2(capsys: pytest.CaptureFixture[str], s3: Any, uri: str) -> None:
    code, out, err = run(capsys, uri)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("gtproc validate: ")
    assert "Traceback" not in err


def test_s3_and_local_inputs_together(capsys: pytest.CaptureFixture[str], s3: Any, valid: str) -> None:
    s3.put_object(Bucket=BUCKET, Key="a.manifest", Body=(LABELED + "\n").encode())
    code, out, err = run(capsys, "--json", valid, f"s3://{BUCKET}/a.manifest", f"s3://{BUCKET}/missing")
    assert code == 2
    assert [r["path"] for r in json_reports(out)] == [valid, f"s3://{BUCKET}/a.manifest", f"s3://{BUCKET}/missing"]
    assert err.count("\n") == 1
