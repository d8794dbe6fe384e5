"""Bounds on the work one object may cost, so a hostile answer cannot exhaust a 512 MB function.

Exceeding a bound is not a crash and not retryable: the input is reported invalid (`InputTooLarge`).
"""

from __future__ import annotations

from typing import Any

import msgspec


class InputTooLarge(ValueError):
    """An input over one of the Limits; `code` names the bound."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Limits(msgspec.Struct, frozen=True):
    # 4 Mpx: three RGBA masks of that size consolidate in under 512 MB (benchmarks/bench_bounds.py).
    max_mask_pixels: int = 4 * 1024 * 1024
    # Box and span clustering is quadratic in the shapes of one object: bounded here.
    max_shapes_per_answer: int = 500
    max_shapes_per_object: int = 1500
    # Classes of a job (its worker quality is one DynamoDB item, at most 400 KB).
    max_classes: int = 1000


DEFAULT_LIMITS = Limits()

# A coordinate, offset or image side beyond this is in no image or text (2**32 pixels a side): it is
# read as no number, which also keeps every square, sum and area of coordinates finite.
MAX_COORDINATE = float(2**32)


def coordinate(value: Any) -> float | None:
    """A coordinate, offset or size: a finite number within MAX_COORDINATE (ints compare exactly: 10**400
    is refused, not overflowed), or None."""
    if type(value) is float or type(value) is int:  # fast path; also keeps bool out
        return float(value) if -MAX_COORDINATE <= value <= MAX_COORDINATE else None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if -MAX_COORDINATE <= number <= MAX_COORDINATE else None
