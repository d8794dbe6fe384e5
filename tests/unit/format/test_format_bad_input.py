"""Bad input never crashes the validator: each bad line is reported at its line (or tolerated where
harmless) and the lines around it are still validated."""

from __future__ import annotations

import pytest
from gtproc.domain.lines import UTF8_BOM
from gtproc.domain.scan import scan_lines, validate_stream
from gtproc.domain.validation import LineStatus, Rule, validate_line

from tests.unit.format.format_builders import bbox, classification, custom, encode

GOOD = encode(classification())
GOOD_BOX = encode(bbox())
TEN_MB = 10 * 1024 * 1024

BAD_LINES = [
    pytest.param(b'{"source-ref":"s3://b/caf\xe9.jpg"}', Rule.UTF8, id="latin-1-byte"),
    pytest.param(b'{"source-ref":"s3://b/\xed\xa0\x80.jpg"}', Rule.UTF8, id="utf8-encoded-surrogate"),
    pytest.param(b"\xff\xfe{\x00", Rule.UTF8, id="utf16-bom"),  # a UTF-16 line is not UTF-8
    pytest.param(
        b'{"source-ref":"s3://b/1.jpg","birds":1,"birds-metadata":{"confidence":0.9', Rule.JSON, id="truncated"
    ),
    pytest.param(b'{"source-ref":"s3://b/1.jpg"} {"source-ref":"s3://b/2.jpg"}', Rule.JSON, id="two-objects"),
    pytest.param(b"{'source-ref': 's3://b/1.jpg'}", Rule.JSON, id="python-repr"),
    pytest.param(b'{"source-ref":"s3://b/1.jpg",}', Rule.JSON, id="trailing-comma"),
    pytest.param(b'{"source-ref":"s3://b/\\ud800.jpg"}', Rule.JSON, id="lone-surrogate-escape"),
    pytest.param(b'{"source-ref":"s3://b/1.jpg","x":NaN}', Rule.JSON, id="nan"),
    pytest.param(b'{"source-ref":"s3://b/1.jpg","x":Infinity}', Rule.JSON, id="infinity"),
    pytest.param(b'{"source-ref":"s3://b/1.jpg","x":1e999}', Rule.JSON, id="1e999"),
    pytest.param(b'{"source-ref":"s3://b/1.jpg","x":"\x01"}', Rule.JSON, id="control-character"),
    pytest.param(b"[" * 100_000, Rule.TOO_DEEP, id="100000-brackets"),
    pytest.param(b'{"a":' * 50_000 + b"1" + b"}" * 50_000, Rule.TOO_DEEP, id="deep-objects"),
    pytest.param(
        b'{"source-ref":"s3://b/1.jpg","x":' + b"[" * 5000 + b"]" * 5000 + b"}", Rule.TOO_DEEP, id="deep-input-value"
    ),
    pytest.param(b"[]", Rule.NOT_OBJECT, id="array"),
    pytest.param(b'"s3://b/1.jpg"', Rule.NOT_OBJECT, id="string"),
    pytest.param(b"null", Rule.NOT_OBJECT, id="null"),
    pytest.param(b"42", Rule.NOT_OBJECT, id="number"),
    pytest.param(b"true", Rule.NOT_OBJECT, id="bool"),
    pytest.param(b"{}", Rule.SOURCE_MISSING, id="empty-object"),
]


@pytest.mark.parametrize(("bad", "rule"), BAD_LINES)
def test_bad_line_is_reported_at_its_line_and_the_rest_still_validated(bad: bytes, rule: Rule) -> None:
    data = b"\n".join([GOOD, GOOD_BOX, bad, GOOD, encode({"source-ref": "s3://b/x.jpg"}), GOOD_BOX]) + b"\n"
    report = validate_stream([data], "m")
    assert [(e.line, e.code) for e in report.errors] == [(3, rule.value)]
    assert (report.lines, report.labeled, report.unlabeled, report.invalid) == (6, 4, 1, 1)


@pytest.mark.parametrize(("bad", "rule"), BAD_LINES)
def test_bad_line_in_the_reference_and_the_scanner(bad: bytes, rule: Rule) -> None:
    result = validate_line(9, bad)
    assert result.status is LineStatus.INVALID
    assert [(e.line, e.code) for e in result.errors] == [(9, rule.value)]
    scanned = list(scan_lines([GOOD + b"\n" + bad + b"\n" + GOOD]))
    assert [s.status for s in scanned] == [LineStatus.LABELED, LineStatus.INVALID, LineStatus.LABELED]
    assert [s.number for s in scanned] == [1, 2, 3]
    assert scanned[1].errors[0].code == rule.value


def test_bad_lines_after_the_fast_path_has_learned_the_shape() -> None:
    """The same bad bytes inside a line of a learned shape (custom label, input keys) are still caught."""
    line = encode(custom({"note": "PLACEHOLDER"}) | {"page": "PLACEHOLDER2"})
    bad_values = [
        (b'"\xff"', Rule.UTF8),
        (b"1e999", Rule.JSON),
        (b"[" * 3000 + b"]" * 3000, Rule.TOO_DEEP),
        (b'"\\udc00"', Rule.JSON),
    ]
    lines = [line, line]
    expected = []
    for value, rule in bad_values:
        for placeholder in (b'"PLACEHOLDER"', b'"PLACEHOLDER2"'):
            lines.append(line.replace(placeholder, value))
            expected.append((len(lines), rule.value))
            lines.append(line)
    report = validate_stream([b"\n".join(lines)], "m")
    assert [(e.line, e.code) for e in report.errors] == expected
    assert report.labeled == len(lines) - len(expected)


def test_bom_crlf_and_blank_lines_are_tolerated() -> None:
    data = UTF8_BOM + b"\r\n".join([GOOD, b"", GOOD_BOX, b"   ", b"\t", GOOD]) + b"\r\n\r\n"
    for chunk in (1, 2, 3, 5, 1 << 20):
        report = validate_stream((data[i : i + chunk] for i in range(0, len(data), chunk)), "m")
        assert (report.lines, report.labeled, report.invalid, report.errors) == (3, 3, 0, [])
        numbers = [s.number for s in scan_lines(data[i : i + chunk] for i in range(0, len(data), chunk))]
        assert numbers == [1, 3, 6]


def test_bom_in_the_middle_is_an_error_at_its_line() -> None:
    report = validate_stream([GOOD + b"\n" + UTF8_BOM + GOOD + b"\n" + GOOD], "m")
    assert [(e.line, e.code) for e in report.errors] == [(2, Rule.JSON)]
    assert report.labeled == 2


def test_blank_lines_keep_line_numbers() -> None:
    report = validate_stream([b"\n\n" + GOOD + b"\n\n\n{}\n\n"], "m")
    assert [(e.line, e.code) for e in report.errors] == [(6, Rule.SOURCE_MISSING)]
    assert (report.lines, report.labeled, report.invalid) == (2, 1, 1)


def test_a_10_mb_line() -> None:
    big = encode(classification() | {"source": "x" * TEN_MB})  # valid: has a source as well as source-ref
    big_bad = b'{"source-ref":"s3://b/1.jpg","x":"' + b"y" * TEN_MB  # truncated
    data = b"\n".join([GOOD, big, GOOD, big_bad, GOOD])
    chunk = 1 << 20
    report = validate_stream((data[i : i + chunk] for i in range(0, len(data), chunk)), "m")
    assert [(e.line, e.code) for e in report.errors] == [(4, Rule.JSON)]
    assert len(report.errors[0].message) < 300
    assert (report.lines, report.labeled, report.invalid) == (5, 4, 1)


def test_line_over_the_limit_then_valid_lines() -> None:
    data = b"\n".join([GOOD, encode({"source": "z" * 5000}), GOOD])
    report = validate_stream([data], "m", max_line_bytes=1000)
    assert [(e.line, e.code) for e in report.errors] == [(2, Rule.LINE_TOO_LONG)]
    assert "5013 bytes" in report.errors[0].message
    assert (report.lines, report.labeled, report.invalid) == (3, 2, 1)


def test_empty_and_blank_only_inputs() -> None:
    for data in (b"", b"\n", b"\r\n\r\n", UTF8_BOM, UTF8_BOM + b"\n", b"   \n\t\n"):
        report = validate_stream([data], "m")
        assert (report.lines, report.invalid) == (0, 0), data
        assert [(e.line, e.code) for e in report.errors] == [(1, "empty")], data
        assert not report.ok


def test_nul_bytes_and_garbage() -> None:
    garbage = [b"\x00" * 10, bytes(range(256)), b"\x1f\x8b\x08\x00" + b"\x00" * 20]  # gzip magic: compressed file
    data = b"\n".join([GOOD, *garbage, GOOD])
    report = validate_stream([data], "m")
    assert report.invalid == 3 + bytes(range(256)).count(b"\n")
    assert report.labeled == 2
    assert all(e.code in (Rule.JSON, Rule.UTF8) for e in report.errors)


def test_max_errors_keeps_counts_exact() -> None:
    data = b"\n".join([GOOD, b"{}", b"[]", b"x", GOOD, b"{}", GOOD])
    full = validate_stream([data], "m")
    for limit in (0, 1, 2, 4, 10):
        cut = validate_stream([data], "m", max_errors=limit)
        assert (cut.lines, cut.labeled, cut.invalid) == (full.lines, full.labeled, full.invalid) == (7, 3, 4)
        assert cut.errors == full.errors[:limit]
        assert cut.errors_omitted == len(full.errors) - len(cut.errors)


def test_duplicate_keys_last_one_wins_in_both_validators() -> None:
    line = GOOD[:-1] + b',"birds":"oops"}'  # the label again, not a class index
    report = validate_stream([GOOD + b"\n" + line + b"\n" + GOOD], "m")
    assert [(e.line, e.code) for e in report.errors] == [(2, Rule.CLASS_INDEX)]
    fixed = GOOD.replace(b'"birds":1', b'"birds":"oops","birds":1')
    assert validate_stream([GOOD + b"\n" + fixed], "m").errors == []
