"""`python app.py` works as `cdk synth` runs it: no Docker, no AWS credentials, no lookups."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from infra.app import ROOT

pytestmark = pytest.mark.infra


def test_app_py_synthesizes_without_credentials_or_docker(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_", "DOCKER_"))}
    env.update(
        AWS_ACCESS_KEY_ID="",
        AWS_SECRET_ACCESS_KEY="",
        AWS_SESSION_TOKEN="",
        AWS_PROFILE="",
        AWS_REGION="",
        AWS_DEFAULT_REGION="",
        AWS_CONFIG_FILE=str(tmp_path / "no-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        DOCKER_HOST="unix:///nonexistent/docker.sock",
        CDK_OUTDIR=str(tmp_path / "cdk.out"),
        CDK_CONTEXT_JSON=json.dumps({"aws:cdk:bundling-stacks": []}),
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=os.environ.get(
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20"
        ),
    )
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    template = json.loads((tmp_path / "cdk.out" / "Gtproc.template.json").read_text())
    types = {resource["Type"] for resource in template["Resources"].values()}
    assert {"AWS::Events::Rule", "AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::DynamoDB::Table"} <= types
    manifest = json.loads((tmp_path / "cdk.out" / "manifest.json").read_text())
    assert manifest["artifacts"]["Gtproc"]["environment"] == "aws://unknown-account/unknown-region"
