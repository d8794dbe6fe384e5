"""`gtproc replay` runs, cached per (path, chaos seed) so several tests can check one run."""

from __future__ import annotations

import json
import logging
import urllib.request
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


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A moto server on a free port (in this process), reached through AWS_ENDPOINT_URL as a real endpoint
    would be; its clock is fake: `server.tick()` moves S3's LastModified one second on."""
    from datetime import datetime, timedelta

    import moto.s3.models
    from gtproc.adapters.aws import reset_clients
    from moto.server import ThreadedMotoServer

    # The server's request log would go to whichever stderr a test captured first.
    monkeypatch.setattr(logging.getLogger("werkzeug"), "disabled", True)
    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    now = [datetime(2024, 3, 12, 9, 0, 0)]
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: now[0])
    server.endpoint = f"http://{host}:{port}"
    server.tick = lambda: now.__setitem__(0, now[0] + timedelta(seconds=1))
    reset_clients()
    # moto's backends are global: each test starts and ends with none of another's resources.
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"))
    yield server
    urllib.request.urlopen(urllib.request.Request(f"{server.endpoint}/moto-api/reset", method="POST"))
    server.stop()
    reset_clients()
