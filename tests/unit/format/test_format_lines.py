"""Line splitter: line endings, BOM, blank lines, chunk boundaries, over-long lines."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from gtproc.domain.lines import UTF8_BOM, TooLong, iter_lines
from hypothesis import given, settings
from hypothesis import strategies as st

SETTINGS = settings(max_examples=300, deadline=None, database=None)


def split(data: bytes, *cuts: int) -> list[bytes]:
    """`data` cut at the given offsets."""
    bounds = [0, *sorted(cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def lines(chunks: list[bytes], max_line_bytes: int | None = None) -> list[bytes | TooLong]:
    if max_line_bytes is None:
        return list(iter_lines(chunks))
    return list(iter_lines(chunks, max_line_bytes))


def expected_lines(data: bytes, max_line_bytes: int) -> list[bytes | TooLong]:
    """The plain reading of the splitter's contract, for comparison."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    result: list[bytes | TooLong] = []
    for part in parts:
        if len(part) > max_line_bytes:
            result.append(TooLong(len(part)))
        else:
            result.append(part[:-1] if part.endswith(b"\r") else part)
    return result


def test_lf_crlf_and_mixed() -> None:
    assert lines([b'{"a":1}\n{"b":2}\n']) == [b'{"a":1}', b'{"b":2}']
    assert lines([b'{"a":1}\r\n{"b":2}\r\n']) == [b'{"a":1}', b'{"b":2}']
    assert lines([b"a\r\nb\nc\r\n"]) == [b"a", b"b", b"c"]


def test_no_final_newline() -> None:
    assert lines([b"a\nb"]) == [b"a", b"b"]
    assert lines([b"a\r\nb\r"]) == [b"a", b"b"]
    assert lines([b"a"]) == [b"a"]


def test_blank_lines_are_yielded_so_numbers_stay_right() -> None:
    assert lines([b"\na\n\n\r\nb\n\n"]) == [b"", b"a", b"", b"", b"b", b""]
    assert list(enumerate(lines([b"\n\nx\n"]), 1))[-1] == (3, b"x")


def test_empty_input() -> None:
    assert lines([]) == []
    assert lines([b"", b""]) == []
    assert lines([b"\n"]) == [b""]


def test_bom_is_dropped_at_the_start_only() -> None:
    assert lines([UTF8_BOM + b'{"a":1}\n']) == [b'{"a":1}']
    assert lines([b"", UTF8_BOM + b"x\n"]) == [b"x"]
    assert lines([b"x\n" + UTF8_BOM + b"y\n"]) == [b"x", UTF8_BOM + b"y"]
    assert lines([UTF8_BOM]) == []
    assert lines([UTF8_BOM + b"\r\n"]) == [b""]


def test_bom_split_across_chunks() -> None:
    data = UTF8_BOM + b'{"a":1}\n{"b":2}\n'
    for cut in (1, 2, 3):
        assert lines(split(data, cut)) == [b'{"a":1}', b'{"b":2}'], cut
    assert lines([bytes([byte]) for byte in data]) == [b'{"a":1}', b'{"b":2}']
    assert lines([b"\xef", b"", b"\xbb", b"\xbfx"]) == [b"x"]


def test_partial_bom_is_kept() -> None:
    # Bytes that only start like a BOM are data (and will be invalid UTF-8 for the validator).
    assert lines([b"\xef\xbbx\n"]) == [b"\xef\xbbx"]
    assert lines([b"\xef", b"\xbbx\n"]) == [b"\xef\xbbx"]
    assert lines([b"\xef"]) == [b"\xef"]
    assert lines([b"\xef", b"\xbb"]) == [b"\xef\xbb"]


def test_crlf_split_across_chunks() -> None:
    assert lines([b"a\r", b"\nb\r", b"\n"]) == [b"a", b"b"]
    assert lines([b"a", b"\r", b"\n", b"b"]) == [b"a", b"b"]


def test_every_chunk_boundary() -> None:
    data = b'{"source-ref":"s3://b/1.jpg"}\r\n\n{"x":"\xed\x95\x9c"}\n{"y":2}'
    want = expected_lines(data, 1 << 20)
    for cut in range(len(data) + 1):
        assert lines(split(data, cut)) == want, cut
    for first in range(0, len(data), 3):
        for second in range(first, len(data), 5):
            assert lines(split(data, first, second)) == want, (first, second)


line_text = (
    st.binary(max_size=40)
    .map(lambda b: b.replace(b"\n", b""))
    .map(lambda b: b if not b.startswith(UTF8_BOM) else b[3:])
)


@st.composite
def chunked_file(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    body = draw(st.lists(line_text, max_size=20))
    endings = draw(st.lists(st.sampled_from([b"\n", b"\r\n"]), min_size=len(body), max_size=len(body)))
    data = b"".join(line + end for line, end in zip(body, endings, strict=True))
    if body and draw(st.booleans()):
        data = data[: -len(endings[-1])]  # no final newline
    if draw(st.booleans()):
        data = UTF8_BOM + data
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=12))
    return data, split(data, *cuts)


@SETTINGS
@given(chunked_file(), st.integers(1, 50))
def test_random_chunking_gives_the_same_lines(case: tuple[bytes, list[bytes]], limit: int) -> None:
    data, chunks = case
    assert lines(chunks, limit) == expected_lines(data, limit)
    assert lines([data], limit) == expected_lines(data, limit)


def test_a_10_mb_line_passes_whole() -> None:
    big = b'{"source":"' + b"x" * (10 * 1024 * 1024) + b'"}'
    data = b'{"a":1}\n' + big + b"\r\n" + b'{"b":2}\n'
    chunk = 1024 * 1024
    got = lines([data[i : i + chunk] for i in range(0, len(data), chunk)])
    assert len(got) == 3
    assert got[0] == b'{"a":1}'
    assert got[1] == big
    assert got[2] == b'{"b":2}'


def test_limit_is_inclusive() -> None:
    assert lines([b"12345\n123456\n"], 5) == [b"12345", TooLong(6)]


def test_too_long_line_is_dropped_and_the_next_line_is_intact() -> None:
    long = b"y" * 5000
    data = b"first\n" + long + b"\nnext\n"
    for chunks in ([data], split(data, 8), split(data, 3000), split(data, 6 + 5000), [bytes([b]) for b in data]):
        assert lines(chunks, 100) == [b"first", TooLong(5000), b"next"]


def test_too_long_last_line_without_newline() -> None:
    assert lines([b"ok\n", b"z" * 300], 100) == [b"ok", TooLong(300)]
    assert lines([b"ok\n" + b"z" * 150, b"z" * 150], 100) == [b"ok", TooLong(300)]


def test_huge_line_over_the_limit() -> None:
    # A 64 MiB line in 1 MiB chunks with an 8 MiB limit.
    limit = 8 * 1024 * 1024

    def chunks() -> Iterator[bytes]:
        yield b"a\n"
        piece = b"q" * (1024 * 1024)
        for _ in range(64):
            yield piece
        yield b"\nb\n"

    assert list(iter_lines(chunks(), limit)) == [b"a", TooLong(64 * 1024 * 1024), b"b"]
