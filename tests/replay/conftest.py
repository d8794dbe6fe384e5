"""`gtproc replay` runs, cached per (path, chaos seed) so several tests can check one run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


class Run:
    def __init__(self, exit_code: int, lines: list[dict[str, Any]]) -> None:
        self.exit_code = exit_code
        self.lines = lines  # the --events-out file

    @property
    def events(self) -> list[Any]:
        from gtproc.local.replay import Published

        return [Published(line["source"], line["detail-type"], line["detail"]) for line in self.lines]

    def facts(self) -> Counter[tuple[Any, ...]]:
        """Every fact published, counted: a fact published twice shows as 2 (the replay's facts() is a set).

        Objects are counted one by one (a duplicate inside one event counts too); other events count as
        the facts gtproc.local.replay.facts finds in them.
        """
        from gtproc.local.replay import facts

        counted: Counter[tuple[Any, ...]] = Counter()
        for event in self.events:
            detail = event.detail
            if isinstance(detail.get("objects"), list):
                found = facts([event])
                objects = [
                    (event.detail_type, detail["jobName"], detail["labelAttributeName"], o["datasetObjectId"])
                    for o in detail["objects"]
                ]
                assert set(objects) == found
                counted.update(objects)
            else:
                counted.update(facts([event]))
        return counted


def replay(path: Path, out: Path, *extra: str) -> Run:
    from gtproc.cli.main import main

    code = main(["replay", str(path), "--events-out", str(out), "--quiet", *extra])
    lines = [json.loads(raw) for raw in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []
    return Run(code, lines)


_RUNS: dict[tuple[str, int | None], Run] = {}


@pytest.fixture(scope="session")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """replayed(path, chaos=None): the run of `gtproc replay` for that input, made once per session."""
    tmp = tmp_path_factory.mktemp("replay")

    def get(path: Path, chaos: int | None = None) -> Run:
        key = (str(path), chaos)
        if key not in _RUNS:
            extra = ("--chaos", str(chaos)) if chaos is not None else ()
            _RUNS[key] = replay(path, tmp / f"events-{len(_RUNS)}.jsonl", *extra)
        return _RUNS[key]

    return get
