"""`gtproc report` (and matplotlib) stays out of what the Lambda functions ship and import."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.infra


def test_the_function_asset_has_the_handlers_but_not_the_report(default_synth):
    functions = default_synth.of_type("AWS::Lambda::Function")
    keys = {f["Properties"]["Code"]["S3Key"] for f in functions.values() if "S3Key" in f["Properties"]["Code"]}
    assets = [default_synth.outdir / f"asset.{key.removesuffix('.zip')}" for key in keys]
    code = [a for a in assets if (a / "gtproc" / "handlers").is_dir()]
    assert code, f"no staged function asset among {assets}"
    for asset in code:
        assert (asset / "gtproc" / "cli" / "main.py").is_file()
        assert not (asset / "gtproc" / "report").exists()


def test_handlers_import_neither_the_report_nor_matplotlib():
    probe = (
        "import sys, gtproc.handlers.manifests, gtproc.handlers.annotations, gtproc.handlers.post_annotation;"
        "print(sorted(m for m in sys.modules if m.startswith(('matplotlib', 'gtproc.report'))))"
    )
    env = {"POWERTOOLS_TRACE_DISABLED": "1", "AWS_DEFAULT_REGION": "us-east-1", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
