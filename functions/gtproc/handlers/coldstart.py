"""The garbage collector held off over a Lambda cold start: the import and the first invocation.

A cold start allocates ~10^5 long-lived objects (modules, botocore's decoded models, clients). With
the collector on, they set off ~150 collections, and one or two full ones that walk every object
made so far: 45-60 ms of a 400 ms start, for no garbage (each is kept until the process ends). So
the collector is off from the handler package's import to the end of the first invocation. Then
`gc.freeze()` moves what exists into the permanent generation (later full collections skip it, as
in a pre-fork server) and the collector is turned back on. Memory held meanwhile is bounded by one
invocation: what the use cases free, refcounting frees; only reference cycles wait.

Only where Lambda runs the code (`AWS_LAMBDA_FUNCTION_NAME` set): the CLI, the replay and tests
import the same handlers and keep the interpreter's collector as it is.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

_Handler = TypeVar("_Handler", bound=Callable[..., Any])

_held = False


def hold_collector() -> None:
    """Turn the collector off until the first invocation ends (in Lambda, if it is on)."""
    global _held
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME") and gc.isenabled() and not _held:
        gc.disable()
        _held = True


def release_collector() -> None:
    """Freeze what the cold start made and turn the collector back on (once; later calls do nothing)."""
    global _held
    if _held:
        _held = False
        gc.freeze()
        gc.enable()


def releases_collector(handler: _Handler) -> _Handler:
    """The handler, releasing the collector when its first call returns or raises."""

    @functools.wraps(handler)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        finally:
            release_collector()

    return call  # type: ignore[return-value]
