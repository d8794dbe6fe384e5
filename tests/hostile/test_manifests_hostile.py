"""The manifests function's use case on hostile manifests: every bad line is reported once in
`Validation Failed` at its line, the good lines are still published, and nothing raises (a raise
would dead-letter the write and retry content that cannot change)."""

from __future__ import annotations

import json
from typing import Any

from gtproc.contract.events import OBJECTS_LABELED, VALIDATION_FAILED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile import corpus
from tests.hostile.support import REPO
from tests.unit.pipeline.pipeline_support import Harness, final_key

FINAL = REPO / "events" / "jobs" / "bbox-three-iterations" / "cars-bbox" / "manifests" / "output" / "output.manifest"
GOOD = [line for line in FINAL.read_bytes().splitlines() if line.strip()][:6]
HOSTILE_LINES = [
    corpus.deep_array(),
    corpus.deep_object(),
    b"\xff\xfe{}",
    b"\x00" * 8,
    b'{"source-ref":"s3://in/x.jpg","x":NaN}',
    b'{"source-ref":"s3://in/x.jpg","x":' + corpus.huge_integer() + b"}",
    b"[1,2]",
]
junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def test_hostile_lines_are_reported_at_their_lines_and_the_good_ones_published() -> None:
    harness = Harness()
    lines = [*GOOD[:3], *HOSTILE_LINES, *GOOD[3:]]

    harness.process(final_key("cars-bbox"), b"\r\n".join([corpus.BOM + lines[0], *lines[1:]]) + b"\r\n")

    assert sorted({line for line, _ in harness.invalid_lines()}) == list(range(4, 4 + len(HOSTILE_LINES)))
    assert sum(detail["invalidCount"] for detail in harness.details(VALIDATION_FAILED)) == len(HOSTILE_LINES)
    labeled = {obj["datasetObjectId"] for d in harness.details(OBJECTS_LABELED) for obj in d["objects"]}
    assert labeled <= {str(n) for n in (0, 1, 2, 10, 11, 12)} and labeled


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:3]):
            found += _paths(inner, (*path, index))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 10**6), junk)
def test_a_wrong_type_at_any_field_is_reported_or_accepted_never_raised(where: int, value: Any) -> None:
    lines = [json.loads(line) for line in GOOD]
    line = lines[where % len(lines)]
    paths = _paths(line)[1:]
    path = paths[where % len(paths)]
    target = line
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    harness = Harness()

    harness.process(final_key("cars-bbox"), b"".join(json.dumps(item).encode() + b"\n" for item in lines))

    reported = {line for line, _ in harness.invalid_lines()}
    assert reported <= {where % len(lines) + 1}
