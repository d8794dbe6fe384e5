"""Synthesizes each app variant once per session, with asset bundling (pip) skipped."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")  # before jsii starts node

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra.app import build_app

SKIP_BUNDLING = {"aws:cdk:bundling-stacks": []}

IMPORTED = {
    "outputBucketName": "my-gt-output",
    "eventBusName": "existing-bus",
    "keyPrefix": "/jobs/",
    "postAnnotationLambda": "true",  # as `cdk synth -c postAnnotationLambda=true` passes it
    "alarmEmail": "ops@example.com",
    "removalPolicy": "destroy",
    "manifestsMemoryMb": "2048",
    "maxConcurrency": "25",
}


@dataclass
class Synth:
    app: App
    stack: Stack
    template: Template
    outdir: Path

    @cached_property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.template.to_json()["Resources"]

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == resource_type}

    def validation_report(self) -> dict[str, Any]:
        return json.loads((self.outdir / "validation-report.json").read_text())


def synthesize(outdir: Path, context: dict[str, Any]) -> Synth:
    app = build_app({**SKIP_BUNDLING, **context}, outdir=str(outdir))
    assembly = app.synth()  # raises if cdk-nag reports an unacknowledged error
    (stack,) = [child for child in app.node.children if isinstance(child, Stack)]
    artifact = assembly.get_stack_artifact(stack.artifact_id)
    return Synth(app, stack, Template.from_json(artifact.template), outdir)


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """cdk.json as it is: created output bucket, created bus, no post-annotation Lambda."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"), {})


@pytest.fixture(scope="session")
def imported_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """Existing bucket and bus, a key prefix, the post-annotation Lambda, alarm e-mails, dev removal."""
    return synthesize(tmp_path_factory.mktemp("cdk-imported"), IMPORTED)
