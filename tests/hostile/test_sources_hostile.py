"""Reading an object's source from Ground Truth's intermediate annotations: a hostile record is skipped,
never raised (the annotations function would have dead-lettered the worker response it was reading
the source for), and the good records of the same file are still found."""

from __future__ import annotations

import json
from typing import Any

import pytest
from gtproc.domain.sources import sources_of_input_manifest, sources_of_intermediate
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import corpus

GOOD = {"datasetObjectId": "1", "manifestLine": '{"source-ref":"s3://in/1.jpg"}'}
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=10,
)
records = st.fixed_dictionaries(
    {}, optional={"datasetObjectId": values, "manifestLine": values, "inputAttribute": values}
)


@pytest.mark.parametrize("oid", [*corpus.NON_ASCII_DIGITS, True, 1.5, None, "-1", "", "9" * 5000])
def test_an_id_that_is_no_index_is_skipped_and_the_good_record_found(oid: Any) -> None:
    bad = {"datasetObjectId": oid, "manifestLine": '{"source-ref":"s3://in/bad.jpg"}'}
    data = b"\n".join(corpus.compact(record) for record in (GOOD, bad))  # a later record would win

    assert sources_of_intermediate(data) == {1: ("sourceRef", "s3://in/1.jpg")}


@given(st.lists(records, max_size=4), st.booleans())
def test_any_records_are_read_or_skipped_never_raised(found: list[dict[str, Any]], as_array: bool) -> None:
    lines = [*found, GOOD]
    data = json.dumps(lines).encode() if as_array else b"\n".join(json.dumps(r).encode() for r in lines)
    assert sources_of_intermediate(data)[1] == ("sourceRef", "s3://in/1.jpg")


@pytest.mark.parametrize("name", sorted(corpus.NOT_JSON))
def test_hostile_input_manifest_lines_are_skipped(name: str) -> None:
    data = b"\n".join([b'{"source-ref":"s3://in/0.jpg"}', corpus.NOT_JSON[name], b'{"source":"last"}'])
    last = data.count(b"\n")  # the hostile bytes may hold line ends of their own
    assert sources_of_input_manifest(data) == {0: ("sourceRef", "s3://in/0.jpg"), last: ("source", "last")}
