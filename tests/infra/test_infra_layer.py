"""The dependencies layer: pip for the Lambda platform, without what the runtime ships."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.layer import (
    LAMBDA_LAYER_REQUIREMENTS,
    RUNTIME_PROVIDED,
    pip_command,
    prune_runtime_provided,
    requirements_hash,
)

pytestmark = pytest.mark.infra


def test_requirements_leave_boto3_to_the_runtime():
    names = {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0] for r in LAMBDA_LAYER_REQUIREMENTS}
    assert names == {"aws-lambda-powertools", "pydantic", "msgspec", "numpy"}
    assert "aws-lambda-powertools[tracer]" in LAMBDA_LAYER_REQUIREMENTS[0]
    assert {"boto3", "botocore"} <= RUNTIME_PROVIDED


def test_pip_targets_lambdas_platform(tmp_path):
    command = pip_command(tmp_path / "python", tmp_path / "requirements.txt")
    joined = " ".join(command)
    assert "--only-binary=:all:" in command
    assert "--python-version 3.12" in joined
    assert "--implementation cp" in joined
    assert "--platform manylinux2014_x86_64" in joined
    assert "--no-compile" in command
    assert f"--target {tmp_path / 'python'}" in joined


def _fake_dist(site: Path, name: str, version: str, files: list[str]) -> None:
    dist_info = site / f"{name}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    for file in files:
        (site / file).parent.mkdir(parents=True, exist_ok=True)
        (site / file).write_text("")
    record = [*files, f"{dist_info.name}/RECORD"]
    (dist_info / "RECORD").write_text("\n".join(f"{f},," for f in record))


def test_prune_removes_runtime_provided_distributions_only(tmp_path):
    _fake_dist(tmp_path, "botocore", "1.40.0", ["botocore/__init__.py", "botocore/data/x.json"])
    _fake_dist(tmp_path, "python_dateutil", "2.9.0.post0", ["dateutil/__init__.py"])
    _fake_dist(tmp_path, "six", "1.17.0", ["six.py"])
    _fake_dist(tmp_path, "numpy", "2.2.0", ["numpy/__init__.py"])
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "f2py").write_text("#!/usr/bin/python")
    removed = prune_runtime_provided(tmp_path)
    assert sorted(removed) == ["botocore", "python-dateutil", "six"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["numpy", "numpy-2.2.0.dist-info"]


def test_asset_hash_follows_the_requirements():
    assert requirements_hash() == requirements_hash(LAMBDA_LAYER_REQUIREMENTS)
    assert requirements_hash() != requirements_hash((*LAMBDA_LAYER_REQUIREMENTS, "orjson"))


def test_the_layer_ships_the_runtime_dependencies_of_pyproject_but_boto3():
    """The layer and `pip install .` must not drift apart (the Lambda runtime ships boto3 itself)."""
    import re
    import tomllib

    from infra.layer import LAMBDA_LAYER_REQUIREMENTS

    def name(requirement: str) -> str:
        return re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower()

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    runtime = {name(r) for r in project["dependencies"]} - {"boto3"}
    assert {name(r) for r in LAMBDA_LAYER_REQUIREMENTS} == runtime
    assert "aws-lambda-powertools[tracer]" in " ".join(LAMBDA_LAYER_REQUIREMENTS)
