"""Fixtures of the manifests pipeline unit tests (helpers live in pipeline_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.unit.pipeline.pipeline_support import Harness


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    return Harness
