#!/usr/bin/env python3
"""CDK entry point: `cdk synth` / `cdk deploy` (the CLI sets CDK_OUTDIR to cdk.out/), or `python app.py`,
which writes the cloud assembly to cdk.out/ next to this file."""

import os
import sys
from pathlib import Path

# The stack imports gtproc.contract (the key patterns, the single source of truth): make it importable
# without the editable install of the project too.
FUNCTIONS = str(Path(__file__).resolve().parent / "functions")
if FUNCTIONS not in sys.path:
    sys.path.append(FUNCTIONS)

from infra.app import build_app  # noqa: E402

build_app(outdir=os.environ.get("CDK_OUTDIR") or str(Path(__file__).resolve().parent / "cdk.out")).synth()
