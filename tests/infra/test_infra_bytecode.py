"""The layer's bytecode: compiled for the runtime's Python, valid for the sources, and used by it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra import bytecode, layer
from infra.bytecode import BytecodeUnavailable, cached_name, compile_tree, uncompiled

pytestmark = pytest.mark.infra

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "value.py").write_text("VALUE = 1\n")
    (root / "old.py").write_text("print 'python 2'\n")  # not valid Python 3: left without bytecode
    return root


@pytest.fixture
def native(monkeypatch):
    """A recipe for this interpreter's own version, so the native path runs."""
    monkeypatch.setitem(bytecode.MAGIC, HERE, int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"))


@pytest.mark.usefixtures("native")
def test_this_interpreter_compiles_its_own_version_and_its_bytecode_is_used_unchecked(tmp_path):
    root = _tree(tmp_path / "site")
    assert compile_tree(root, HERE, ddir="/opt/python") == ["old.py"]
    # The source changes after the build: an unchecked .pyc is still what runs (a zip keeps no exact mtimes).
    (root / "pkg" / "value.py").write_text("VALUE = 2\n")
    run = [sys.executable, "-B", "-c", "import pkg.value; print(pkg.value.VALUE)"]
    result = subprocess.run(run, cwd=root, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "1"
    assert uncompiled(root, HERE) == ["old.py", "pkg/value.py"]  # ... and the check sees it is stale


@pytest.mark.usefixtures("native")
def test_the_check_refuses_another_versions_bytecode(tmp_path):
    root = _tree(tmp_path / "site")
    compile_tree(root, HERE, ddir="/opt/python")
    for source in ("pkg/__init__.py", "pkg/value.py"):  # this interpreter's files, named as 3.12's
        shutil.copy(cached_name(root / source, HERE), cached_name(root / source, "3.12"))
    assert uncompiled(root, "3.12") == ["old.py", "pkg/__init__.py", "pkg/value.py"]


def test_an_unknown_version_is_refused(tmp_path):
    with pytest.raises(BytecodeUnavailable, match=r"3\.99"):
        compile_tree(_tree(tmp_path), "3.99", ddir="/opt/python")


def test_without_bytecode_the_layer_still_builds_and_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bytecode, "_PLANS", {layer.PYTHON_VERSION: "node is not on PATH"})
    monkeypatch.setattr(bytecode, "compile_tree", lambda *args, **kwargs: pytest.fail("compiled without a plan"))
    bytecode.add_bytecode(tmp_path, layer.PYTHON_VERSION, ddir="/opt/python", what="layer")
    assert "the layer ships without bytecode, so each cold start compiles it: node is not on PATH" in (
        capsys.readouterr().err
    )


def test_a_failed_compile_fails_the_bundling_when_bytecode_was_planned(tmp_path, monkeypatch):
    """The asset's hash says it holds bytecode: shipping it without would break that promise."""

    def broken(*args, **kwargs):
        raise BytecodeUnavailable("Pyodide could not run")

    monkeypatch.setattr(bytecode, "_PLANS", {layer.PYTHON_VERSION: None})
    monkeypatch.setattr(bytecode, "compile_tree", broken)
    with pytest.raises(BytecodeUnavailable, match="Pyodide could not run"):
        bytecode.add_bytecode(tmp_path, layer.PYTHON_VERSION, ddir="/opt/python", what="layer")


def test_what_this_machine_can_compile_is_decided_once(monkeypatch):
    monkeypatch.setattr(bytecode, "_PLANS", {})
    assert bytecode.unavailable("3.99") == "no bytecode recipe for Python 3.99"
    monkeypatch.setitem(bytecode.MAGIC, HERE, int.from_bytes(importlib.util.MAGIC_NUMBER[:2], "little"))
    assert bytecode.unavailable(HERE) is None  # this interpreter compiles its own version
    other = "3.13" if HERE != "3.13" else "3.12"
    monkeypatch.setitem(bytecode.MAGIC, other, 1)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert bytecode.unavailable(other) == "node is not on PATH"
    monkeypatch.setattr(shutil, "which", lambda name: pytest.fail("asked again"))
    assert bytecode.unavailable(other) == "node is not on PATH"  # the synth's assets agree with each other


def test_an_asset_without_bytecode_never_shares_its_hash_with_one_that_has_it(monkeypatch):
    """Else a deploy after a synth that could not compile would keep the asset without bytecode."""
    from infra.constructs.functions import code_hash

    hashes = {}
    for plan in (None, "npm is not on PATH", None):
        monkeypatch.setattr(bytecode, "_PLANS", {layer.PYTHON_VERSION: plan})
        hashes.setdefault(plan, set()).add((code_hash(), layer.requirements_hash()))
    with_bytecode, without = hashes[None], hashes["npm is not on PATH"]
    assert len(with_bytecode) == 1 and len(without) == 1  # the same machine and sources: the same hashes
    (code, deps), (code_without, deps_without) = *with_bytecode, *without
    assert code != code_without and deps != deps_without


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None, reason="needs node and npm")
def test_the_runtimes_python_compiles_the_layer_and_runs_its_bytecode(tmp_path):
    """Python 3.12 (Pyodide's, on node) compiles the tree; the same 3.12 imports the unchecked files."""
    assert HERE != layer.PYTHON_VERSION, "this machine runs the runtime's Python: the native path is used"
    root = _tree(tmp_path / "site")
    assert compile_tree(root, layer.PYTHON_VERSION, ddir="/opt/python") == ["old.py"]
    assert not list(root.rglob(f"*.cpython-{HERE.replace('.', '')}.pyc"))
    (root / "pkg" / "value.py").write_text("VALUE = 2\n")  # what runs must be the bytecode
    code = "import sys; sys.dont_write_bytecode = True; sys.path.insert(0, '/tree'); import pkg.value"
    value = bytecode.run_in_pyodide(
        layer.PYTHON_VERSION, root, code + "; f'{sys.version_info[0]}.{sys.version_info[1]} {pkg.value.VALUE}'"
    )
    assert value.splitlines()[-1] == f"{layer.PYTHON_VERSION} 1"
