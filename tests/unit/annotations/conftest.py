"""Fixtures of the annotations unit tests (helpers live in annotations_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.unit.annotations.annotations_support import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    return Harness
