"""Keys whose numbers are not ASCII digits are not Ground Truth's: `\\d` and `str.isdigit` take '٣' or
'²', and `int('٣')` is 3, so such a key would have been read as object 3 and shared its claims."""

from __future__ import annotations

import pytest
from gtproc.contract.events import ANNOTATIONS_CONSOLIDATED
from gtproc.domain.keys import parse_output_key
from hypothesis import given
from hypothesis import strategies as st

from tests.hostile import corpus
from tests.unit.annotations.annotations_support import Harness, classification_answer, worker_file

NON_ASCII_DIGITS = st.characters(categories=["Nd", "No"]).filter(lambda c: not c.isascii())


@given(NON_ASCII_DIGITS, st.sampled_from(["iteration", "object", "intermediate", "output"]))
def test_a_number_of_non_ascii_digits_is_no_layout_key(digit: str, where: str) -> None:
    keys = {
        "iteration": f"job/annotations/worker-response/iteration-{digit}/3/2024-01-01_10:00:00.json",
        "object": f"job/annotations/worker-response/iteration-1/{digit}/2024-01-01_10:00:00.json",
        "intermediate": f"job/manifests/intermediate/{digit}/output.manifest",
        "output": f"job/annotations/consolidated-annotation/output/{digit}_2024-01-01T10:00:00.png",
    }
    assert parse_output_key(keys[where]) is None


@pytest.mark.parametrize("digit", ["\u0663", "\u0969"])  # Arabic-Indic and Devanagari three
def test_such_a_key_does_not_take_the_real_objects_event(digit: str) -> None:
    harness = Harness()
    answers = worker_file(classification_answer("w1", "cat"), classification_answer("w2", "cat"))
    fake = harness.put(f"pets/annotations/worker-response/iteration-1/{digit}/2024-01-01_10:00:00.json", answers)
    real = harness.put("pets/annotations/worker-response/iteration-1/3/2024-01-01_10:00:00.json", answers)

    assert harness(fake).published == {}
    assert harness(real).published == {ANNOTATIONS_CONSOLIDATED: 1}
    (event,) = harness.events(ANNOTATIONS_CONSOLIDATED)
    assert event["datasetObjectId"] == "3"


def test_the_corpus_digits_are_the_trap() -> None:
    for digit in corpus.NON_ASCII_DIGITS:
        assert digit.isdigit() and not digit.isascii()
