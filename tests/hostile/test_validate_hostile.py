"""`gtproc validate` over the hostile corpus: a bad line is one error naming the path, the line and the
rule code, the good lines around it still count, and a bad whole input is one error at line 1."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gtproc.cli.main import main
from gtproc.domain.scan import validate_stream
from gtproc.domain.validation import LineStatus, validate_line

from tests.hostile import corpus
from tests.hostile.support import assert_clean, gtproc


def good_line() -> bytes:
    metadata = {"class-name": "cat", "confidence": 0.9, "type": "groundtruth/image-classification"}
    metadata |= {"job-name": "labeling-job/pets", "human-annotated": "yes"}
    metadata |= {"creation-date": "2024-01-01T12:30:00.000000"}
    return corpus.compact({"source-ref": "s3://in/0.jpg", "pets": 0, "pets-metadata": metadata})


def validate(capsys: Any, path: Path) -> tuple[int, dict[str, Any]]:
    code = main(["validate", "--json", str(path)])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


BAD_LINES = {
    "deep-array": (corpus.deep_array(), "json-too-deep"),
    "deep-object": (corpus.deep_object(), "json-too-deep"),
    "nan": (good_line().replace(b"0.9", b"NaN"), "json-invalid"),
    "infinity": (good_line().replace(b"0.9", b"Infinity"), "json-invalid"),
    "huge-integer": (good_line().replace(b'"pets":0', b'"pets":' + corpus.huge_integer()), "json-invalid"),
    "index-past-int-digits": (
        good_line().replace(b'"pets":0', b'"pets":"' + corpus.huge_integer() + b'"'),
        "class-index",
    ),
    "superscript-index": (good_line().replace(b'"pets":0', '"pets":"\u00b2"'.encode()), "class-index"),
    "invalid-utf8": (good_line().replace(b"s3://in/", b"s3://in/\xff"), "utf8-invalid"),
    "nul-bytes": (b"\x00" * 8, "json-invalid"),
    "not-object": (b"[1, 2]", "not-object"),
    "confidence-text": (good_line().replace(b"0.9", b'"0.9"'), "confidence-range"),
    "job-name-number": (good_line().replace(b'"labeling-job/pets"', b"7"), "job-name-invalid"),
    "date-number": (good_line().replace(b'"2024-01-01T12:30:00.000000"', b"7"), "creation-date-invalid"),
    "metadata-list": (
        corpus.compact({"source-ref": "s3://in/0.jpg", "pets": 0, "pets-metadata": []}),
        "metadata-not-object",
    ),
    "source-number": (good_line().replace(b'"s3://in/0.jpg"', b"5"), "source-invalid"),
}


@pytest.mark.parametrize("name", sorted(BAD_LINES))
def test_a_bad_line_is_one_error_and_the_good_lines_still_count(tmp_path: Path, capsys: Any, name: str) -> None:
    bad, code = BAD_LINES[name]
    path = tmp_path / "output.manifest"
    path.write_bytes(b"\r\n".join([good_line(), bad, good_line()]) + b"\r\n")

    exit_code, report = validate(capsys, path)

    assert exit_code == 1
    assert (report["lines"], report["labeled"], report["invalid"]) == (3, 2, 1)
    assert {error["line"] for error in report["errors"]} == {2}
    assert code in {error["code"] for error in report["errors"]}, report["errors"]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"", "empty"),
        (b"  \n\t\r\n", "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x1f\x8b\x08\x00" + bytes(64), "compressed"),
        (b'[{"source-ref": "s3://a/b"}]', "not-json-lines"),
    ],
)
def test_a_bad_whole_input_is_one_error_at_line_1(tmp_path: Path, capsys: Any, content: bytes, code: str) -> None:
    path = tmp_path / "output.manifest"
    path.write_bytes(content)

    exit_code, report = validate(capsys, path)

    assert exit_code == 1
    assert [(error["line"], error["code"]) for error in report["errors"]] == [(1, code)]


def test_a_bom_is_tolerated(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "output.manifest"
    path.write_bytes(corpus.BOM + good_line() + b"\n")
    assert validate(capsys, path)[0] == 0


@pytest.mark.parametrize("kind", ["folder", "symlink-loop", "missing"])
def test_what_is_no_file_is_one_line_and_exit_2(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "output.manifest"
    if kind == "folder":
        target.mkdir()
    elif kind == "symlink-loop":
        (tmp_path / "other").symlink_to(target)
        target.symlink_to(tmp_path / "other")

    result = gtproc("validate", target, tmp_path / "missing-too.manifest" if kind != "missing" else target)

    assert result.returncode == 2
    lines = assert_clean(result, "validate")
    assert lines and all("cannot read" in line for line in lines)


def _long_line_input(line_bytes: int) -> Iterator[bytes]:
    """A good line, one line of `line_bytes` bytes, a good line: made chunk by chunk, never held whole."""
    yield good_line() + b'\n{"source-ref":"s3://in/'
    chunk = b"a" * (1024 * 1024)
    for _ in range(line_bytes // len(chunk)):
        yield chunk
    yield b'.jpg"}\n' + good_line() + b"\n"


def test_a_50_mb_line_is_line_too_long_in_bounded_memory() -> None:
    """The documented limit is 32 MiB a line; past it the line is dropped as it streams, not held."""
    tracemalloc.start()
    try:
        report = validate_stream(_long_line_input(50 * 1024 * 1024), "big.manifest")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (report.lines, report.labeled, report.invalid) == (3, 2, 1)
    assert [(error.line, error.code) for error in report.errors] == [(2, "line-too-long")]
    assert peak < 40 * 1024 * 1024  # the 32 MiB limit's worth of pending bytes, never the 50 MB line


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (b'{"source-ref":"s3://b/1.jpg","birds":0,"birds-metadata":{"confidence":NaN}}', "NaN is not a JSON number"),
        (b'{"source-ref":"s3://b/1.jpg","birds":0', "ends before the JSON value does"),
        (b"[1,]", "not valid JSON at byte 3: trailing comma in array"),
    ],
)
def test_a_line_that_is_not_json_says_why_in_our_words(tmp_path: Path, capsys: Any, bad: bytes, says: str) -> None:
    path = tmp_path / "output.manifest"
    path.write_bytes(b"\n".join([good_line(), bad]) + b"\n")

    _, report = validate(capsys, path)

    ((error,),) = [[e for e in report["errors"] if e["line"] == 2]]
    assert error["code"] == "json-invalid" and says in error["message"]
    assert "malformed" not in error["message"] and "truncated" not in error["message"]  # msgspec's words


@pytest.mark.parametrize("key", ['a"b', "a\\b", "a\x00b", "a\x1fb", "a\tb", "\u00e9", "\u2028", "a b", "-metadata\\"])
@pytest.mark.parametrize("ascii_only", [True, False])
def test_an_awkward_key_gets_the_reference_verdict_not_a_crash(key: str, ascii_only: bool) -> None:
    """msgspec refuses `"`, `\\` and controls in a fast-path field name: such lines go to the reference."""
    lines = [
        json.dumps({"source-ref": "s3://in/0.jpg", key: 1}, ensure_ascii=ascii_only).encode(),
        good_line(),
        json.dumps({"source-ref": "s3://in/1.jpg", key: 2}, ensure_ascii=ascii_only).encode(),
    ]
    report = validate_stream([b"\n".join(lines) + b"\n"], "awkward.manifest")

    reference = [validate_line(number, line) for number, line in enumerate(lines, 1)]
    assert (report.labeled, report.unlabeled, report.invalid) == (
        sum(r.status is LineStatus.LABELED for r in reference),
        sum(r.status is LineStatus.UNLABELED for r in reference),
        sum(r.status is LineStatus.INVALID for r in reference),
    )
    assert report.errors == [error for r in reference for error in r.errors]
