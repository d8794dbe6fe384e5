"""Builders for worker answers in the shapes Ground Truth writes them."""

from __future__ import annotations

import pytest


def classification_answer(worker: str, label: str, key: str = "crowd-image-classifier") -> dict:
    return {"workerId": worker, "answerContent": {key: {"label": label}}}


def classification_objects(table: dict[str, list[tuple[str, str]]]) -> dict[str, list[dict]]:
    """{object id: [(worker, label), ...]} -> worker-response style answers."""
    return {oid: [classification_answer(w, label) for w, label in rows] for oid, rows in table.items()}


@pytest.fixture
def make_objects():
    return classification_objects


@pytest.fixture
def make_answer():
    return classification_answer
