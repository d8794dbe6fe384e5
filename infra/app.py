"""Builds the CDK app the same way for `cdk synth`, `python app.py` and the tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from infra.config import GtprocConfig
from infra.stack import GtprocStack

ROOT = Path(__file__).resolve().parent.parent
CDK_JSON = ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    return json.loads(CDK_JSON.read_text()).get("context", {})


def build_app(context: dict[str, Any] | None = None, outdir: str | None = None) -> App:
    """The app with cdk.json's context as defaults (the CLI's context and `-c` still win), one
    environment-agnostic stack (no lookups, no credentials needed) and cdk-nag's AWS Solutions checks."""
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    # The CLI passes cdk.json and `-c` through CDK_CONTEXT_JSON; the app's own context is the rest.
    cli_context = json.loads(os.environ.get("CDK_CONTEXT_JSON") or "{}")
    GtprocConfig.check_keys({*cdk_json_context(), *(context or {}), *cli_context})
    config = GtprocConfig.from_context(app.node)
    GtprocStack(app, config.stack_name, config=config)
    # cdk-nag 3.x is a CDK validation plugin: an unacknowledged error fails the synth. `python app.py` and
    # in-process synths (tests) raise; under `cdk synth/deploy` the CLI prints the report and exits 1.
    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True))
    return app
