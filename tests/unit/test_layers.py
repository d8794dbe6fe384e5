"""The layers, read from the imports of every module (issue 9, point 3): dependencies point inward.

- `domain/` is pure: no AWS SDK, no adapter, use case, handler or wire type (`contract/`).
- `usecases/` talk to the world through `ports.py`: no adapter, no AWS SDK.
- `handlers/` build their use cases only through `handlers/wiring.py`; no other handler module
  imports an adapter or the SDK.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "functions" / "gtproc"
SDK = ("boto3", "botocore", "moto")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, wherever the import sits (a function body, `if TYPE_CHECKING:`)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from gtproc import adapters` names the package in the alias, not in the module.
            found.update(f"{node.module}.{alias.name}" for alias in node.names if node.module == "gtproc")
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.add("." * node.level + (node.module or ""))
    return found


def is_within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == package or module.startswith(f"{package}.") for package in packages)


def offenders(layer: str, forbidden: tuple[str, ...], exempt: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if name in exempt:
            continue
        # A relative import would hide what it reaches: the package imports absolutely throughout.
        bad = sorted(m for m in imported_modules(path) if m.startswith(".") or is_within(m, forbidden))
        if bad:
            found[name] = bad
    return found


def test_the_domain_imports_no_sdk_no_outer_layer_and_no_wire_type():
    outer = ("gtproc.adapters", "gtproc.usecases", "gtproc.handlers", "gtproc.contract", "gtproc.cli")
    outer += ("gtproc.local", "gtproc.report", "gtproc.settings", "aws_lambda_powertools", "pydantic")
    assert offenders("domain", SDK + outer) == {}


def test_use_cases_import_no_adapter_and_no_sdk():
    outer = ("gtproc.adapters", "gtproc.handlers", "gtproc.cli", "gtproc.local", "gtproc.report")
    assert offenders("usecases", SDK + outer + ("aws_lambda_powertools",)) == {}


def test_handlers_wire_only_through_wiring():
    wired = ("gtproc.adapters", "gtproc.local", "gtproc.cli")
    assert offenders("handlers", SDK + wired, exempt=("handlers/wiring.py",)) == {}
    # wiring.py is where the handlers' adapters come from: it does import them (else this test proves nothing).
    assert any(is_within(m, ("gtproc.adapters",)) for m in imported_modules(PACKAGE / "handlers" / "wiring.py"))


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import boto3\n", {"boto3"}),
        ("def f():\n    from botocore.exceptions import ClientError\n", {"botocore.exceptions"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gtproc.adapters.s3 import S3Objects\n",
         {"typing", "gtproc.adapters.s3"}),
        ("from gtproc import adapters\n", {"gtproc", "gtproc.adapters"}),
        ("from ..adapters import s3\n", {"..adapters"}),
    ],
)  # fmt: skip
def test_the_import_reader_sees_every_kind_of_import(tmp_path: Path, source: str, caught: set[str]):
    module = tmp_path / "module.py"
    module.write_text(source, encoding="utf-8")
    assert imported_modules(module) == caught


def test_the_layers_checked_are_the_packages_on_disk():
    # A renamed layer would leave these tests checking an empty folder.
    for layer in ("domain", "usecases", "handlers", "adapters"):
        assert len(list((PACKAGE / layer).rglob("*.py"))) >= 3, layer


USE_CASES = {"ProcessManifest", "ProcessStream", "ConsolidateAnnotations", "ConsolidateRequest", "PublishJobStatus"}


def test_no_collaborator_is_handed_its_use_case():
    # A run or a helper holding the use case calls back up into it; it is handed the ports it needs.
    handed = []
    for path in sorted((PACKAGE / "usecases").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in node.args.args + node.args.kwonlyargs:
                    if arg.annotation is not None and ast.unparse(arg.annotation).strip("'\"") in USE_CASES:
                        handed.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}({arg.arg})")
    assert handed == []
    defined = {n.name for p in (PACKAGE / "usecases").rglob("*.py") for n in ast.walk(ast.parse(p.read_text()))
               if isinstance(n, ast.ClassDef)}  # fmt: skip
    assert defined >= USE_CASES  # the names checked are the use cases' own
