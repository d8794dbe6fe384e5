"""The strict JSON reader the commands share: what JSON is decodes as the stdlib decodes it, what JSON
forbids is one JsonProblem with a one-line reason, never another exception."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gtproc.domain.jsontext import JsonProblem, decode
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import corpus

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(json_values, st.booleans())
def test_what_is_json_decodes_as_the_stdlib_does(value: Any, bom: bool) -> None:
    text = json.dumps(value, ensure_ascii=False).encode()
    assert decode(corpus.BOM + text if bom else text) == json.loads(text)


@given(st.binary(max_size=200))
def test_any_bytes_decode_or_raise_only_json_problem(data: bytes) -> None:
    try:
        decode(data)
    except JsonProblem as problem:
        assert "\n" not in str(problem) and str(problem)


@pytest.mark.parametrize("name", sorted(corpus.NOT_JSON))
def test_hostile_documents_are_one_line_problems(name: str) -> None:
    data = corpus.NOT_JSON[name]
    if name in ("empty", "whitespace"):
        expected = "empty"
    elif name.startswith("deep"):
        expected = "nesting too deep"
    elif name in ("nan", "infinity"):
        expected = "is not a JSON number"
    elif name in ("huge-integer", "number-out-of-range"):
        expected = "out of range"
    else:
        expected = "."
    with pytest.raises(JsonProblem, match=expected) as raised:
        decode(data)
    assert "\n" not in str(raised.value)


def test_the_stdlib_would_take_what_json_forbids() -> None:
    """Why the reader exists: json.loads takes NaN and fails deep nesting with a RecursionError."""
    assert json.loads(corpus.NOT_JSON["nan"])["x"] != json.loads(corpus.NOT_JSON["nan"])["x"]
    with pytest.raises(RecursionError):
        json.loads(corpus.NOT_JSON["deep-array"])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"a":NaN}', "NaN is not a JSON number (at byte 5)"),
        (corpus.BOM + b'{"a":NaN}', "NaN is not a JSON number (at byte 8)"),  # the file's bytes, BOM included
        (b"[1,]", "not valid JSON at byte 3: trailing comma in array"),
        (b'{"a":1', "ends before the JSON value does"),
        (b'{"a":"\\ud800"}', "an invalid string escape"),
        (b'{"a":"\xff"}', "not UTF-8 text"),
    ],
)
def test_the_reason_is_ours_with_the_files_byte_position(data: bytes, reason: str) -> None:
    with pytest.raises(JsonProblem) as raised:
        decode(data)
    assert str(raised.value) == reason
