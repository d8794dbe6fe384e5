"""`gtproc validate` on inputs that are not JSON Lines at all: one error with a stable code and a hint,
never one per line; an empty input is an error; `-` reads standard input."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from gtproc.cli.main import main
from gtproc.domain.scan import validate_stream

REAL = Path(__file__).resolve().parents[1] / "unit" / "format" / "data"
MANIFEST = (REAL / "image-classification.output.manifest").read_bytes()
COCO = {
    "images": [{"id": i, "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in range(500)],
    "annotations": [{"id": i, "image_id": i, "bbox": [1, 2, 3, 4], "category_id": 1} for i in range(500)],
    "categories": [{"id": 1, "name": "car"}],
}


def validate_json(capsys, path: Path) -> tuple[int, dict]:
    code = main(["validate", str(path), "--json"])
    (line,) = capsys.readouterr().out.splitlines()
    return code, json.loads(line)


def zipped(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("output.manifest", data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "code", "hint"),
    [
        pytest.param(json.dumps(COCO, indent=2).encode(), "not-json-lines", "jq -c .", id="pretty-printed-coco"),
        pytest.param(json.dumps(COCO["images"], indent=1).encode(), "not-json-lines", "jq -c '.[]'", id="array"),
        pytest.param(json.dumps(COCO["images"]).encode(), "not-json-lines", "jq -c '.[]'", id="one-line-array"),
        pytest.param(gzip.compress(MANIFEST), "compressed", "gunzip", id="gzip"),
        pytest.param(zipped(MANIFEST), "compressed", "unzip", id="zip"),
        pytest.param(bytes(range(256)) * 64, "binary", "output.manifest", id="binary"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(4000), "binary", "output.manifest", id="png"),
        pytest.param(MANIFEST.replace(b"\n", b"\r"), "cr-line-endings", "tr ", id="lone-cr-endings"),
        pytest.param(
            b"[" + MANIFEST.replace(b"\n", b",\n").rstrip(b",\n") + b"\n]\n",
            "not-json-lines",
            "jq",
            id="array-of-lines",
        ),
    ],
)
def test_an_input_that_is_not_json_lines_is_one_error(tmp_path: Path, capsys, content: bytes, code: str, hint: str):
    path = tmp_path / "input"
    path.write_bytes(content)
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 1
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(1, code)]
    assert "hint: " in report["errors"][0]["message"] and hint in report["errors"][0]["message"]
    main(["validate", str(path)])
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith(f"{path}:1: [{code}]") and "INVALID" in out[1]


def test_a_compressed_input_is_not_read_past_its_head() -> None:
    head = gzip.compress(MANIFEST)

    def chunks():
        yield head + bytes(70_000)
        raise AssertionError("read past the head")

    report = validate_stream(chunks(), "m.gz")
    assert [e.code for e in report.errors] == ["compressed"]


def test_manifests_with_a_bad_first_line_are_still_validated_line_by_line(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.manifest"
    path.write_bytes(b'{"source-ref": "s3://b/1.jpg", "x": \n' + MANIFEST)
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 1
    assert [(e["line"], e["code"]) for e in report["errors"]] == [(1, "json-invalid")]
    assert report["labeled"] == MANIFEST.count(b"\n")


@pytest.mark.parametrize(
    ("first", "code"),
    [
        pytest.param(b'{"source-ref": "s3://b/\x00.jpg"}', "json-invalid", id="nul"),
        pytest.param(b"\x00\x01\x02\x03garbage\xff\xfe", "utf8-invalid", id="binary-bytes"),
        pytest.param(b"[1, 2]", "not-object", id="array-line"),
    ],
)
def test_a_bad_first_line_followed_by_object_lines_is_that_lines_error(
    tmp_path: Path, capsys, first: bytes, code: str
) -> None:
    path = tmp_path / "m.manifest"
    path.write_bytes(first + b"\n" + MANIFEST)
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 1
    assert [e["line"] for e in report["errors"]] == [1] and report["errors"][0]["code"] == code
    assert report["labeled"] == MANIFEST.count(b"\n")


def test_a_cr_inside_one_json_line_is_whitespace_not_a_line_ending(tmp_path: Path, capsys) -> None:
    path = tmp_path / "m.manifest"
    path.write_bytes(b'{"source-ref": "s3://b/1.jpg", "x":\r{"y": 1}}\n' + MANIFEST)
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 0, report["errors"]


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["0-bytes", "blank-lines"])
def test_an_empty_input_exits_1_with_code_empty(tmp_path: Path, capsys, content: bytes) -> None:
    path = tmp_path / "empty.manifest"
    path.write_bytes(content)
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 1
    assert [e["code"] for e in report["errors"]] == ["empty"]
    assert report["lines"] == 0


def run_stdin(data: bytes, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "gtproc", "validate", "-", *args]
    return subprocess.run(command, input=data, capture_output=True, timeout=60, check=False)


def test_dash_reads_standard_input() -> None:
    done = run_stdin(MANIFEST, "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["path"] == "-" and report["lines"] == MANIFEST.count(b"\n") and report["invalid"] == 0
    assert run_stdin(gzip.compress(MANIFEST)).stdout.decode().startswith("-:1: [compressed]")


def test_whole_input_codes_are_stable_and_documented() -> None:
    from gtproc.domain.sniff import InputRule

    assert [rule.value for rule in InputRule] == ["empty", "compressed", "binary", "not-json-lines", "cr-line-endings"]
    rules = (Path(__file__).resolve().parents[2] / "docs" / "validate.md").read_text(encoding="utf-8")
    assert all(f"| `{rule.value}` |" in rules for rule in InputRule)


@pytest.mark.parametrize("first", [b"\x00\x01\x02garbage\xff", b"[1, 2]"], ids=["binary", "array-line"])
def test_the_bad_first_line_rule_holds_without_a_final_newline(tmp_path: Path, capsys, first: bytes) -> None:
    path = tmp_path / "m.manifest"
    path.write_bytes(first + b"\n" + MANIFEST.rstrip(b"\n"))
    exit_code, report = validate_json(capsys, path)
    assert exit_code == 1
    assert [e["line"] for e in report["errors"]] == [1]
    assert report["labeled"] == MANIFEST.count(b"\n")
