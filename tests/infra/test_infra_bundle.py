"""The function asset holds only what the functions run, and each function loads only its own path.

The CLI (`__main__`, cli/, report/ with matplotlib), the embedded-AWS replay (local/, moto) and the
in-memory fakes stay out; every import left resolves against the standard library, the runtime's boto3
and the layer's requirements.
"""

from __future__ import annotations

import ast
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from infra.bytecode import cached_name, uncompiled
from infra.constructs.functions import CodeBundling, excluded
from infra.layer import LAMBDA_LAYER_REQUIREMENTS, PYTHON_VERSION

pytestmark = pytest.mark.infra

RUNTIME_REQUIREMENTS = ("boto3",)  # what the python3.12 runtime ships
PACKAGES = {"adapters", "contract", "domain", "handlers", "usecases"}
ROOT_FILES = {"__init__.py", "settings.py", "py.typed"}


def _function_assets(synth) -> dict[str, str]:
    """Handler -> code asset key of each function that runs gtproc code."""
    assets = {}
    for function in synth.of_type("AWS::Lambda::Function").values():
        properties = function["Properties"]
        if properties.get("Handler", "").startswith("gtproc."):
            assets[properties["Handler"]] = properties["Code"].get("S3Key", "")
    return assets


@pytest.fixture(scope="module")
def asset(imported_synth, tmp_path_factory) -> Path:
    """The one code asset (the imported variant has every function, post-annotation too), as its
    bundling makes it (the synth here skips bundling, so it stages none)."""
    assets = _function_assets(imported_synth)
    assert set(assets) == {
        "gtproc.handlers.manifests.handler",
        "gtproc.handlers.annotations.handler",
        "gtproc.handlers.post_annotation.handler",
        "gtproc.handlers.job_status.handler",
    }
    assert len(set(assets.values())) == 1
    directory = tmp_path_factory.mktemp("code-asset")
    CodeBundling().try_bundle(str(directory), None)
    return directory


def _files(asset: Path) -> list[str]:
    return sorted(str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file())


def test_the_asset_holds_only_what_the_functions_run(asset):
    files = _files(asset)
    assert {f.split("/")[0] for f in files} == {"gtproc"}
    top = {f.split("/")[1] for f in files}
    assert top == PACKAGES | ROOT_FILES | {"__pycache__"}, top
    assert "gtproc/handlers/manifests.py" in files and "gtproc/adapters/s3.py" in files
    assert "gtproc/adapters/memory.py" not in files
    assert not [f for f in files if f.endswith(".egg-info") or "/tests/" in f or "/." in f]
    # Bytecode for the runtime's Python only, one valid file for every source (none for this machine's).
    assert not uncompiled(asset, PYTHON_VERSION)
    assert {f for f in files if f.endswith(".pyc")} == {
        str(cached_name(Path(f), PYTHON_VERSION)) for f in files if f.endswith(".py")
    }


def _distributions(requirements: tuple[str, ...]) -> set[str]:
    """The requirements and everything they pull in (markers and extras evaluated), as normalised names."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        requirement = todo.pop()
        name = requirement.name.lower().replace("_", "-")
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        names.add(name)
        for line in importlib.metadata.distribution(name).requires or []:
            dependency = Requirement(line)
            extras = requirement.extras | {""}
            if dependency.marker is None or any(dependency.marker.evaluate({"extra": e}) for e in extras):
                todo.append(dependency)
    return names


def _imports(source: Path) -> set[str]:
    tree = ast.parse(source.read_text(), str(source))
    modules = set()
    for node in ast.walk(tree):  # imports inside functions too: the lazy ones must resolve as well
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{source}: relative import"
            modules.add(node.module or "")
    return modules


def test_every_import_in_the_asset_resolves(asset):
    allowed = _distributions(LAMBDA_LAYER_REQUIREMENTS) | _distributions(RUNTIME_REQUIREMENTS)
    owners = {
        module: {d.lower().replace("_", "-") for d in dists}
        for module, dists in importlib.metadata.packages_distributions().items()
    }
    unresolved = []
    for source in asset.rglob("*.py"):
        for module in _imports(source):
            top = module.split(".")[0]
            if top == "gtproc":
                path = asset / module.replace(".", "/")
                resolved = path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()
            else:
                resolved = top in sys.stdlib_module_names or bool(owners.get(top, set()) & allowed)
            if not resolved:
                unresolved.append(f"{source.relative_to(asset)}: {module}")
    assert not unresolved, unresolved
    # The check can fail: the CLI's imports would not resolve.
    assert "moto" not in owners or not owners["moto"] & allowed


PROBE = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import importlib
handler = importlib.import_module(sys.argv[2])
on_import = sorted(sys.modules)
from gtproc.handlers import wiring
if sys.argv[3]:
    getattr(wiring, sys.argv[3])()  # builds the use case: its lazily imported path loads now
ours = [(n, m) for n, m in list(sys.modules.items()) if n.startswith("gtproc")]
files = {m.__file__ for n, m in ours if getattr(m, "__file__", None)}
kinds = {v for n, m in ours for v in vars(m).values() if isinstance(v, type) and v.__module__.startswith("gtproc")}
made = sorted(f"{v.__module__}.{v.__qualname__}" for v in kinds if "__dataclass_fields__" in vars(v))
print(json.dumps({"on_import": on_import, "built": sorted(sys.modules), "files": sorted(files), "dataclasses": made}))
"""
SETTINGS = {
    "GTPROC_EVENT_BUS_NAME": "bus",
    "GTPROC_TABLE_NAME": "table",
    "GTPROC_LABELS_BUCKET": "labels",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
}
NEVER = ("moto", "matplotlib", "gtproc.cli", "gtproc.local", "gtproc.report", "gtproc.adapters.memory")


def _probe(asset: Path, module: str, builder: str) -> dict[str, list[str]]:
    command = [sys.executable, "-c", PROBE, str(asset), module, builder]
    result = subprocess.run(command, capture_output=True, text=True, env={"PATH": "", **SETTINGS}, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _loaded(modules: list[str], prefix: str) -> bool:
    return any(m == prefix or m.startswith(prefix + ".") for m in modules)


@pytest.mark.parametrize(
    ("module", "builder", "numpy"),
    [
        ("gtproc.handlers.manifests", "process_manifest", False),
        ("gtproc.handlers.annotations", "consolidate_annotations", True),
        ("gtproc.handlers.post_annotation", "post_annotation", True),
        ("gtproc.handlers.job_status", "publish_job_status", False),
    ],
)
def test_each_handler_loads_only_its_own_path_from_the_asset(asset, module, builder, numpy):
    loaded = _probe(asset, module, builder)
    for stage in ("on_import", "built"):
        assert not [m for m in loaded[stage] if any(_loaded([m], never) for never in NEVER)], stage
    assert all(Path(f).is_relative_to(asset) for f in loaded["files"]), loaded["files"]
    # Value types are msgspec Structs: a dataclass compiles its methods at import (~0.8 ms each, 30
    # of them were 6% of a cold start). Settings stays one: its reader walks the fields' metadata.
    assert loaded["dataclasses"] == ["gtproc.settings.Settings"]
    assert _loaded(loaded["built"], "numpy") is numpy
    assert _loaded(loaded["built"], "gtproc.domain.consolidation") is numpy
    if module.endswith("manifests"):
        assert _loaded(loaded["built"], "gtproc.usecases.process_manifest")
        assert not _loaded(loaded["built"], "gtproc.usecases.consolidate_annotations")
    if module.endswith(".annotations"):
        assert not _loaded(loaded["built"], "gtproc.usecases.process_manifest")


@pytest.mark.parametrize(
    ("path", "left_out"),
    [
        ("gtproc/handlers/manifests.py", False),
        ("gtproc/adapters/memory.py", True),
        ("gtproc/cli/main.py", True),
        ("gtproc/handlers/__pycache__/wiring.cpython-311.pyc", True),
        ("gtproc/domain/tests/test_x.py", True),
        ("gtproc.egg-info/PKG-INFO", True),
        (".mypy_cache/x.json", True),
        ("gtproc/domain/.hidden", True),
        ("gtproc/domain/cli.py", False),  # anchored: only gtproc/cli is left out
    ],
)
def test_the_bundlings_copy_reads_exclude_as_cdk_does(path, left_out):
    assert excluded(path) is left_out


def test_the_bundlings_copy_is_what_cdk_would_stage(tmp_path):
    """The same files as CDK's own copy of functions/ with the same `exclude`, without bundling."""
    import aws_cdk as cdk
    from aws_cdk import aws_lambda as lambda_

    from infra.constructs.functions import CODE_EXCLUDE, FUNCTIONS_DIR, copy_code

    app = cdk.App(outdir=str(tmp_path / "cdk.out"))
    stack = cdk.Stack(app, "Copy")
    code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=CODE_EXCLUDE)
    lambda_.Function(stack, "F", runtime=lambda_.Runtime.PYTHON_3_12, handler="gtproc.x.handler", code=code)
    app.synth()
    (staged,) = [p for p in (tmp_path / "cdk.out").glob("asset.*") if p.is_dir()]
    copy_code(FUNCTIONS_DIR, tmp_path / "copy")
    assert _files(tmp_path / "copy") == _files(staged)
    assert "gtproc/handlers/manifests.py" in _files(staged)
