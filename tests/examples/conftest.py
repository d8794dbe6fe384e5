"""The example consumer (examples/consumer/): its code on sys.path, gtproc's real events, one synth."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # before jsii starts node

ROOT = Path(__file__).resolve().parents[2]
CONSUMER = ROOT / "examples" / "consumer"
if str(CONSUMER) not in sys.path:  # the example's package, as its own app.py finds it
    sys.path.insert(0, str(CONSUMER))
JOB = ROOT / "events" / "jobs" / "bbox-three-iterations"


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every event gtproc publishes for the bundled bbox job (`gtproc replay --events-out`), in order."""
    from gtproc.cli.main import main

    out = tmp_path_factory.mktemp("replay") / "events.jsonl"
    assert main(["replay", f"{JOB}.plan.jsonl", "--events-out", str(out), "--quiet"]) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="session")
def expected_job() -> dict[str, Any]:
    return json.loads(JOB.with_name(f"{JOB.name}.expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def consumer_app_module() -> Any:
    """examples/consumer/app.py, loaded under its own name (the repository's root has an app.py too)."""
    spec = importlib.util.spec_from_file_location("gtproc_consumer_app", CONSUMER / "app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def consumer_synth(consumer_app_module: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The consumer app synthesized once, with cdk-nag, as `cdk synth` in examples/consumer/ does."""
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

    outdir = tmp_path_factory.mktemp("consumer-cdk.out")
    context = json.loads((CONSUMER / "cdk.json").read_text(encoding="utf-8"))["context"]
    app = consumer_app_module.build_app(context, outdir=str(outdir))
    app.synth()  # raises if cdk-nag reports an unacknowledged finding
    (stack,) = [child for child in app.node.children if isinstance(child, Stack)]

    class Synth:
        template = Template.from_stack(stack)
        resources = template.to_json()["Resources"]
        report = json.loads((outdir / "validation-report.json").read_text(encoding="utf-8"))
        out = outdir

        @classmethod
        def of_type(cls, kind: str) -> dict[str, Any]:
            return {k: v for k, v in cls.resources.items() if v["Type"] == kind}

    Synth.stack = stack
    return Synth
