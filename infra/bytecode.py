"""Bytecode for the Lambda runtime's Python, compiled when the layer and the code asset are bundled.

Lambda's file system is read-only, so a package shipped without `.pyc` files is compiled again at
every cold start (numpy, Powertools, the X-Ray SDK, gtproc: 190-390 ms of a cold start here, see
benchmarks/README.md). pip cannot compile for another Python than its own, so the files are compiled
by a CPython of the runtime's version: this interpreter when it is one, else Pyodide's CPython (the
same interpreter built for WebAssembly, run by the node that CDK needs anyway; bytecode does not
depend on the platform). The version is pinned with its npm integrity and cached per user.

The files are hash-based and unchecked (PEP 552): an immutable package needs no check against the
sources' timestamps, which a zip and its extraction do not keep exactly.
"""

from __future__ import annotations

import _imp
import base64
import compileall
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# importlib's MAGIC_NUMBER of each runtime's Python (fixed for a minor version's releases).
MAGIC = {"3.12": 3531}
# A Pyodide release whose CPython is that version, and its npm integrity.
PYODIDE = {
    "3.12": (
        "0.27.7",  # CPython 3.12.7
        "sha512-RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUBdulEgO26qpSRA==",
    )
}
HASH_BASED_UNCHECKED = 0b01  # the pyc header's flags: hash-based, source not checked

# Runs argv's Python code in Pyodide with argv's directory mounted at /tree; prints the code's value.
_NODE_RUN = r"""
const path = require("path");
const [pyodideDir, root, code] = process.argv.slice(1);
const { loadPyodide } = require(path.join(pyodideDir, "pyodide.js"));
(async () => {
  const py = await loadPyodide({ indexURL: pyodideDir + path.sep, stdout: () => {}, stderr: (s) => console.error(s) });
  py.FS.mkdirTree("/tree");
  py.FS.mount(py.FS.filesystems.NODEFS, { root }, "/tree");
  console.log(String(py.runPython(code)));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"""


class BytecodeUnavailable(RuntimeError):
    """No CPython of the runtime's version could be had (no node, or npm could not fetch Pyodide)."""


_PLANS: dict[str, str | None] = {}


def unavailable(version: str) -> str | None:
    """Why bytecode for Python `version` cannot be made on this machine, or None when it can.

    Decided once per synth, before any bundling: the assets' hashes say whether they hold bytecode
    (`hash_tag`), so that an asset built without it never shares its hash with one built with it, which
    a later deploy would take as unchanged and not upload."""
    if version not in _PLANS:
        try:
            _recipe(version)
            if not _native(version):
                _node()
                pyodide(version)
            _PLANS[version] = None
        except BytecodeUnavailable as error:
            _PLANS[version] = str(error)
    return _PLANS[version]


def hash_tag(version: str) -> str:
    """What an asset's hash takes from its bytecode: whether it has any, and this recipe."""
    if unavailable(version) is not None:
        return "no bytecode"
    return f"bytecode for Python {version}, " + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def add_bytecode(root: Path, version: str, ddir: str, what: str) -> None:
    """Compile `root` (the `what` of a bundling) for Python `version`, or say why it ships without.

    When this machine can make bytecode, a failure to compile fails the bundling: the asset's hash
    says it has bytecode."""
    why = unavailable(version)
    if why is not None:
        print(f"warning: the {what} ships without bytecode, so each cold start compiles it: {why}", file=sys.stderr)
        return
    left = compile_tree(root, version, ddir)
    if left:
        print(f"note: {len(left)} {what} files are not Python {version} and have no bytecode", file=sys.stderr)


def compile_tree(root: Path, version: str, ddir: str) -> list[str]:
    """Compile every .py under `root` for Python `version`; `ddir` is where the tree runs (tracebacks).

    Returns the sources left without bytecode (files that are not valid Python of that version)."""
    _recipe(version)
    if _native(version):
        compile_here(root, ddir)
    else:
        invalidation = "invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH"
        run_in_pyodide(
            version,
            root,
            f"import compileall, py_compile\ncompileall.compile_dir('/tree', ddir={ddir!r}, quiet=2, {invalidation})",
        )
    return uncompiled(root, version)


def compile_here(root: Path, ddir: str) -> None:
    """Compile `root` for this interpreter, unchecked hash-based as for the runtime."""
    invalidation = py_compile.PycInvalidationMode.UNCHECKED_HASH
    compileall.compile_dir(str(root), ddir=ddir, quiet=2, invalidation_mode=invalidation, workers=0)


def run_in_pyodide(version: str, root: Path, code: str) -> str:
    """The value of Python `code` (as text) run by Pyodide's CPython `version`, `root` mounted at /tree."""
    result = subprocess.run(
        [_node(), "-e", _NODE_RUN, str(pyodide(version)), str(root.resolve()), code],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BytecodeUnavailable(f"Pyodide could not run on {root}: {result.stderr.strip()[-500:]}")
    return result.stdout.strip()


def _recipe(version: str) -> None:
    if version not in MAGIC:
        raise BytecodeUnavailable(f"no bytecode recipe for Python {version}")


def _native(version: str) -> bool:
    """Whether this interpreter is Python `version` (it then compiles the tree itself)."""
    return f"{sys.version_info.major}.{sys.version_info.minor}" == version


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise BytecodeUnavailable("node is not on PATH")
    return node


def cached_name(source: Path, version: str) -> Path:
    return source.parent / "__pycache__" / f"{source.stem}.cpython-{version.replace('.', '')}.pyc"


def uncompiled(root: Path, version: str) -> list[str]:
    """The sources under `root` without a valid unchecked-hash .pyc of `version` for their content."""
    magic = MAGIC[version].to_bytes(2, "little") + b"\r\n"
    key = int.from_bytes(magic, "little")
    missing = []
    for source in sorted(root.rglob("*.py")):
        pyc = cached_name(source, version)
        header = pyc.read_bytes()[:16] if pyc.is_file() else b""
        expected = magic + HASH_BASED_UNCHECKED.to_bytes(4, "little") + _imp.source_hash(key, source.read_bytes())
        if header != expected:
            missing.append(str(source.relative_to(root)))
    return missing


def pyodide(version: str) -> Path:
    """The unpacked Pyodide package for `version`, fetched once with npm into the user's cache."""
    release, integrity = PYODIDE[version]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gtproc" / f"pyodide-{release}"
    package = cache / "package"
    if (package / "pyodide.asm.wasm").is_file():
        return package
    npm = shutil.which("npm")
    if npm is None:
        raise BytecodeUnavailable("npm is not on PATH, to fetch Pyodide")
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            [npm, "pack", f"pyodide@{release}", "--pack-destination", tmp, "--silent"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        tarballs = list(Path(tmp).glob("*.tgz"))
        if result.returncode != 0 or len(tarballs) != 1:
            raise BytecodeUnavailable(f"npm could not fetch pyodide@{release}: {result.stderr.strip()[-300:]}")
        data = tarballs[0].read_bytes()
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity:
            raise BytecodeUnavailable(f"pyodide@{release} does not match its pinned integrity")
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cache.parent))
        with tarfile.open(tarballs[0]) as archive:
            archive.extractall(staging, filter="data")
    try:
        staging.rename(cache)  # whole or not at all: a half-unpacked cache is never used
    except OSError:  # another build unpacked it first (tests run in parallel): keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    if not (package / "pyodide.asm.wasm").is_file():
        raise BytecodeUnavailable(f"{cache} holds no Pyodide: delete it and build again")
    return package
