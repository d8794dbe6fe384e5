"""The collector is held off over a Lambda cold start and released after the first invocation.

Each case runs in a fresh interpreter: the hold happens when the handler package is first imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
HANDLERS = ("manifests", "annotations", "post_annotation", "streaming", "job_status")

# Imports a handler, reports the collector's state, calls the handler with an event it refuses
# (every handler raises or reports a failure), then reports again.
CHILD = r"""
import gc, json, sys, types
module = __import__("gtproc.handlers." + sys.argv[1], fromlist=["handler"])
after_import = {"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}
context = types.SimpleNamespace(
    function_name="f", function_version="$LATEST", memory_limit_in_mb=512, aws_request_id="r",
    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:f", log_group_name="g",
    log_stream_name="s", get_remaining_time_in_millis=lambda: 60_000,
)
try:
    module.handler({"unexpected": True}, context)
except Exception:
    pass
print(json.dumps({"after_import": after_import, "after_call": {"enabled": gc.isenabled(),
                  "frozen": gc.get_freeze_count()}}))
"""


def run(handler: str, *, in_lambda: bool) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_LAMBDA_", "GTPROC_", "POWERTOOLS_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(FUNCTIONS),
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="true",
        POWERTOOLS_METRICS_NAMESPACE="gtproc",
        GTPROC_EVENT_BUS_NAME="bus",
        GTPROC_TABLE_NAME="table",
        GTPROC_LABELS_BUCKET="labels",
    )
    if in_lambda:
        env["AWS_LAMBDA_FUNCTION_NAME"] = "gtproc-test"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, handler], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("handler", HANDLERS)
def test_in_lambda_the_collector_is_off_until_the_first_call_ends_then_frozen_and_on(handler):
    state = run(handler, in_lambda=True)
    assert state["after_import"] == {"enabled": False, "frozen": 0}
    assert state["after_call"]["enabled"] is True
    assert state["after_call"]["frozen"] > 10_000  # the modules and objects of the cold start


def test_outside_lambda_the_collector_is_left_as_it_is():
    state = run("manifests", in_lambda=False)
    assert state["after_import"] == {"enabled": True, "frozen": 0}
    assert state["after_call"] == {"enabled": True, "frozen": 0}


def test_the_release_happens_once_and_when_the_handler_raises(monkeypatch):
    from gtproc.handlers import coldstart

    calls = []
    monkeypatch.setattr(coldstart, "_held", True)
    monkeypatch.setattr(coldstart.gc, "freeze", lambda: calls.append("freeze"))
    monkeypatch.setattr(coldstart.gc, "enable", lambda: calls.append("enable"))

    @coldstart.releases_collector
    def failing() -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        failing()
    with pytest.raises(RuntimeError):
        failing()
    assert calls == ["freeze", "enable"]
