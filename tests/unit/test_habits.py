"""The project's habits, checked where they are written (issue 9, point 7): mypy strict on the core,
the Makefile's targets, the pre-commit hooks, CI's one venv, one Lambda context, test packages."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def makefile_targets() -> dict[str, list[str]]:
    """{target: its recipe lines} of the Makefile; a target's prerequisites are its first entry."""
    targets: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([a-z][\w-]*):(?!=)(.*)$", line):
            current = match.group(1)
            targets[current] = [match.group(2).strip()]
        elif line.startswith("\t") and current:
            targets[current].append(line.strip())
        else:  # a recipe ends at the first line that is not one
            current = None
    return targets


def test_mypy_is_strict_on_the_domain_and_the_use_cases():
    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]
    assert {"functions/gtproc/domain", "functions/gtproc/usecases"} <= set(mypy["files"])
    strict = [o for o in mypy["overrides"] if o.get("strict") is True]
    modules = {m for o in strict for m in ([o["module"]] if isinstance(o["module"], str) else o["module"])}
    assert {"gtproc.domain.*", "gtproc.usecases.*"} <= modules


def test_the_makefile_has_the_developer_targets_and_pr_runs_the_checks():
    targets = makefile_targets()
    assert {"test", "lint", "typecheck", "synth", "bench", "pr"} <= set(targets)
    assert targets["pr"][0].split() == ["lint", "typecheck", "test"]
    assert any("ruff check" in line for line in targets["lint"])
    assert any("ruff format --check" in line for line in targets["lint"])
    assert any(line.endswith("/mypy") for line in targets["typecheck"])
    assert any("pytest" in line for line in targets["test"])


def test_pre_commit_runs_what_make_lint_and_typecheck_run():
    config = (ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    hooks = re.findall(r"^\s*- id: ([\w-]+)", config, re.M)
    assert hooks == ["ruff-check", "ruff-format", "mypy"]
    assert re.search(r"^\s*entry: \.venv/bin/mypy$", config, re.M)


def test_ci_builds_one_venv_and_runs_make_pr():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [line for line in ci.splitlines() if not line.lstrip().startswith("#")]
    assert sum(line.count("-m venv") for line in commands) == 1
    assert any(re.search(r"\bmake pr\b", line) for line in commands)


def _defines_a_lambda_context(path: Path) -> list[str]:
    """Classes or namespaces in a file that fake Lambda's context (it alone has these names)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef) and node.name == "get_remaining_time_in_millis":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
        elif isinstance(node, ast.keyword) and node.arg == "aws_request_id":
            found.append(f"{path.relative_to(ROOT)}:{node.value.lineno}")
    return found


def test_one_lambda_context_for_every_test():
    found = [hit for path in sorted(TESTS.rglob("*.py")) for hit in _defines_a_lambda_context(path)]
    assert len(found) == 1 and found[0].startswith("tests/conftest.py:"), found


def test_every_test_folder_is_a_package():
    # A folder without __init__.py puts its modules on sys.path as top-level names, which collide.
    folders = {path.parent for path in TESTS.rglob("test_*.py")} | {path.parent for path in TESTS.rglob("conftest.py")}
    assert sorted(str(f.relative_to(ROOT)) for f in folders if not (f / "__init__.py").exists()) == []
