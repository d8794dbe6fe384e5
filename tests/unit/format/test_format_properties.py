"""Property tests: generated valid lines of every task type pass; one mutation breaks exactly one rule,
reported at its line; the fast path is never laxer than the reference."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from gtproc.domain.fastpath import FastPath
from gtproc.domain.scan import scan_lines, validate_stream
from gtproc.domain.validation import LineStatus, validate_line, validate_record
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st

from tests.unit.format.format_builders import (
    MUTATION_TASKS,
    MUTATIONS,
    SETTINGS,
    TASKS,
    Generated,
    mutants,
    valid_lines,
)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@SETTINGS
@given(st.sampled_from(TASKS).flatmap(lambda task: valid_lines(tasks=[task], max_pairs=1)))
def test_valid_line_of_each_task_type_passes(generated: Generated) -> None:
    event(generated.pairs[0].task if generated.pairs else "unlabeled")
    result = validate_record(1, generated.record)
    assert result.errors == []
    assert result.status is generated.status
    data = generated.encode()
    assert validate_line(1, data).status is generated.status
    report = validate_stream([data, b"\n", data, b"\r\n", data], "m")
    assert report.errors == []
    assert getattr(report, generated.status.value) == 3 and report.lines == 3


@SETTINGS
@given(
    st.lists(valid_lines(), min_size=1, max_size=12),
    st.lists(st.integers(0, 10**6), max_size=6),
    st.sampled_from([b"\n", b"\r\n"]),
)
def test_valid_files_pass(lines: list[Generated], cuts: list[int], ending: bytes) -> None:
    data = ending.join(g.encode() for g in lines) + ending
    report = validate_stream(chunked(data, cuts), "m")
    assert report.errors == []
    expected = Counter(g.status.value for g in lines)
    assert (report.labeled, report.unlabeled, report.failed, report.invalid) == (
        expected["labeled"],
        expected["unlabeled"],
        expected["failed"],
        0,
    )
    assert [s.status for s in scan_lines(chunked(data, cuts))] == [g.status for g in lines]


@st.composite
def file_with_one_mutant(draw: st.DrawFn) -> tuple[list[Generated], int, bytes, str, str | None, str]:
    lines = draw(st.lists(valid_lines(), min_size=0, max_size=10))
    victim = draw(valid_lines())
    mutant = draw(mutants(victim))
    position = draw(st.integers(0, len(lines)))
    return lines, position, mutant.data, mutant.code, mutant.attribute, mutant.name


@SETTINGS
@given(file_with_one_mutant(), st.lists(st.integers(0, 10**6), max_size=5))
def test_one_mutation_is_reported_at_its_line(case: tuple, cuts: list[int]) -> None:
    lines, position, broken, code, attribute, name = case
    event(name)
    note(f"mutation {name}: {broken!r}")
    encoded = [g.encode() for g in lines]
    encoded.insert(position, broken)
    data = b"\n".join(encoded) + b"\n"
    report = validate_stream(chunked(data, cuts), "m")
    assert [(e.line, e.attribute, e.code) for e in report.errors] == [(position + 1, attribute, code)]
    expected = Counter(g.status.value for g in lines)
    assert (report.lines, report.labeled, report.unlabeled, report.failed, report.invalid) == (
        len(lines) + 1,
        expected["labeled"],
        expected["unlabeled"],
        expected["failed"],
        1,
    )
    # scan_lines (the pipeline's reader) sees the same
    statuses = [s.status for s in scan_lines(chunked(data, cuts))]
    assert statuses[position] is LineStatus.INVALID
    assert statuses[:position] + statuses[position + 1 :] == [g.status for g in lines]


@SETTINGS
@given(valid_lines(), st.data())
def test_fast_path_is_never_laxer_than_the_reference(generated: Generated, data: st.DataObject) -> None:
    valid = generated.encode()
    fast = FastPath()
    reference = validate_line(1, valid)
    assert reference.status is generated.status
    fast.learn(reference)
    hit = fast.accept(valid)
    if hit is not None:
        assert hit[0].status is reference.status
    # the same line broken in one rule: the reference rejects it, so the fast path must not accept it
    mutant = data.draw(mutants(generated))
    event(mutant.name)
    broken = validate_line(2, mutant.data)
    assert broken.status is LineStatus.INVALID
    assert fast.accept(mutant.data) is None, (mutant.name, mutant.data)
    # and a second valid line of any shape: whatever the fast path accepts, the reference accepts alike
    other = data.draw(valid_lines()).encode()
    hit = fast.accept(other)
    if hit is not None:
        assert validate_line(3, other).status is hit[0].status


@SETTINGS
@given(st.lists(valid_lines(), min_size=1, max_size=6), st.data())
def test_fast_path_with_many_learned_shapes(lines: list[Generated], data: st.DataObject) -> None:
    fast = FastPath()
    for generated in lines:
        fast.learn(validate_line(1, generated.encode()))
    for generated in lines:
        mutant = data.draw(mutants(generated))
        assert fast.accept(mutant.data) is None, (mutant.name, mutant.data)
        hit = fast.accept(generated.encode())
        assert hit is None or hit[0].status is generated.status


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation(name: str) -> None:
    """Every mutation fires (on the task types it is meant for) and is reported as expected."""
    assert set(MUTATION_TASKS) == set(MUTATIONS)

    @settings(SETTINGS, max_examples=15)
    @given(
        st.sampled_from(MUTATION_TASKS[name]).flatmap(lambda task: valid_lines(tasks=[task], max_pairs=1)), st.data()
    )
    def check(generated: Generated, data: st.DataObject) -> None:
        mutant = MUTATIONS[name](data.draw, generated)
        assume(mutant is not None)
        assert mutant is not None
        good = generated.encode()
        report = validate_stream([good + b"\n" + mutant.data + b"\n" + good], "m")
        assert [(e.line, e.attribute, e.code) for e in report.errors] == [(2, mutant.attribute, mutant.code)]
        assert getattr(report, generated.status.value) == 2 and report.invalid == 1

    check()
