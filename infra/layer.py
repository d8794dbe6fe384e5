"""The Lambda layer with the functions' dependencies, built by pip on this machine: no Docker.

CDK asks `PipLayerBundling.try_bundle` first and would fall back to Docker only if it returned False; it
never does (a pip failure fails the synth with pip's message instead of a confusing Docker error).
The layer ships bytecode for the runtime's Python (infra/bytecode.py): Lambda cannot write it.
Tests skip bundling with the context `{"aws:cdk:bundling-stacks": []}`.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import bytecode
from infra.bytecode import add_bytecode, hash_tag

# What the handlers import besides the standard library and boto3 (the Lambda runtime ships boto3).
LAMBDA_LAYER_REQUIREMENTS: tuple[str, ...] = (
    "aws-lambda-powertools[tracer]>=3.4,<4",
    "pydantic>=2.7,<3",  # Powertools' parser models: loaded only for an S3 event the msgspec mirrors reject
    "msgspec>=0.18",
    "numpy>=1.26",
)
# Distributions the python3.12 runtime already has. aws-xray-sdk (powertools[tracer]) pulls botocore in;
# a copy in the layer would shadow the runtime's botocore and no longer match the runtime's boto3.
RUNTIME_PROVIDED: frozenset[str] = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)
RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.X86_64
PYTHON_VERSION = "3.12"
# Lambda's python3.12 is Amazon Linux 2023 (glibc 2.34): manylinux2014 and manylinux_2_28 wheels both fit
# (recent numpy releases publish manylinux_2_27/2_28 x86_64 wheels only).
PLATFORMS: tuple[str, ...] = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
RECIPE_FILES = (Path(__file__), Path(bytecode.__file__))  # a change to either builds a new layer


def pip_command(target: Path, requirements_file: Path) -> list[str]:
    platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile",  # .pyc files of this interpreter (not 3.12) would be dead weight
        "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION, *platforms,
        "--target", str(target), "--requirement", str(requirements_file),
    ]  # fmt: skip


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def prune_runtime_provided(site: Path) -> list[str]:
    """Delete the files of the RUNTIME_PROVIDED distributions installed in `site`; return their names."""
    removed = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name = _normalize(dist_info.name.removesuffix(".dist-info").split("-", 1)[0])
        if name not in RUNTIME_PROVIDED:
            continue
        for line in (dist_info / "RECORD").read_text().splitlines():
            path = site / line.split(",", 1)[0]
            if path.is_file() and site.resolve() in path.resolve().parents:
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    # Console scripts: their shebang names this machine's interpreter, and nothing in Lambda runs them.
    shutil.rmtree(site / "bin", ignore_errors=True)
    for directory in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(directory.iterdir()):
            directory.rmdir()
    return removed


@jsii.implements(ILocalBundling)
class PipLayerBundling:
    """Local bundling: `pip install` the requirements for the Lambda platform into <output>/python."""

    def __init__(self, requirements: tuple[str, ...] = LAMBDA_LAYER_REQUIREMENTS) -> None:
        self.requirements = requirements

    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        site = Path(output_dir) / "python"
        with tempfile.TemporaryDirectory() as tmp:
            requirements_file = Path(tmp) / "requirements.txt"
            requirements_file.write_text("\n".join(self.requirements) + "\n")
            result = subprocess.run(pip_command(site, requirements_file), stdout=sys.stderr, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"pip could not build the Lambda layer (exit {result.returncode}), see above")
        prune_runtime_provided(site)
        add_bytecode(site, PYTHON_VERSION, ddir="/opt/python", what="layer")  # where Lambda mounts python/
        return True


def requirements_hash(requirements: tuple[str, ...] = LAMBDA_LAYER_REQUIREMENTS) -> str:
    """The asset hash: changes with the requirements, with the recipe (platforms, pruning, bytecode) and
    with whether this machine can compile the layer's bytecode.

    So a deploy ships a new layer only when this recipe changes: newer releases within the same ranges
    are not picked up until a requirement is bumped here (which keeps layers reproducible enough)."""
    recipe = hashlib.sha256(b"".join(f.read_bytes() for f in RECIPE_FILES)).hexdigest()
    return hashlib.sha256("\n".join([*requirements, recipe, hash_tag(PYTHON_VERSION)]).encode()).hexdigest()


class DependenciesLayer(lambda_.LayerVersion):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(
            scope,
            construct_id,
            description="gtproc dependencies: " + ", ".join(LAMBDA_LAYER_REQUIREMENTS),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            code=lambda_.Code.from_asset(
                str(Path(__file__).parent),  # unused by the local bundling; the hash is custom
                asset_hash_type=AssetHashType.CUSTOM,
                asset_hash=requirements_hash(),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("unused-local-bundling-only"),
                    local=PipLayerBundling(),
                ),
            ),
        )
