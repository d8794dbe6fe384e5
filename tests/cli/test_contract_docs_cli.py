"""`python -m gtproc.contract.schemas` and `python -m gtproc.contract.consuming`, run as a developer runs
them: each writes or checks its block of a doc, and says what is wrong in one line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GENERATORS = {
    "schemas": ("gtproc.contract.schemas", REPO / "docs" / "events.md", "<!-- event-schemas:start -->"),
    "consuming": ("gtproc.contract.consuming", REPO / "docs" / "consuming.md", "<!-- consuming-patterns:start -->"),
}


def run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(params=sorted(GENERATORS), ids=lambda name: f"{name}-generator")
def generator(request: pytest.FixtureRequest) -> tuple[str, Path, str]:
    return GENERATORS[request.param]


def test_the_published_block_is_the_contracts_and_a_stale_one_is_rewritten(generator, tmp_path: Path) -> None:
    module, doc, start = generator
    assert run(module, "--check", str(doc)).returncode == 0
    text = doc.read_text(encoding="utf-8")
    stale = tmp_path / doc.name
    head, _, rest = text.partition(start)
    stale.write_text(head + start + "\nan edit by hand\n" + rest, encoding="utf-8")

    checked = run(module, "--check", str(stale))
    assert checked.returncode == 1
    assert checked.stderr.splitlines() == [checked.stderr.strip()] and f"run --write {stale}" in checked.stderr
    assert run(module, "--write", str(stale)).returncode == 0
    assert stale.read_text(encoding="utf-8") == text


def test_a_file_without_the_markers_or_missing_is_one_line_and_exit_2(generator, tmp_path: Path) -> None:
    module, _, start = generator
    plain = tmp_path / "plain.md"
    plain.write_text("# no generated block here\n", encoding="utf-8")
    for args, says in (
        (("--check", str(plain)), f"{plain}: no {start} ..."),
        (("--write", str(plain)), f"{plain}: no {start} ..."),
        (("--check", str(tmp_path / "absent.md")), "No such file"),
    ):
        result = run(module, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1 and says in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert plain.read_text(encoding="utf-8") == "# no generated block here\n"  # nothing written


def test_bad_usage_is_exit_2_and_no_argument_prints_the_block(generator) -> None:
    module, doc, start = generator
    usage = run(module, "--check")
    assert usage.returncode == 2
    assert usage.stderr.startswith(f"usage: python -m {module} [--write FILE | --check FILE]")
    assert doc.relative_to(REPO).as_posix() in usage.stderr
    printed = run(module)
    assert printed.returncode == 0 and printed.stdout.startswith(start)
    assert printed.stdout.strip() in doc.read_text(encoding="utf-8")
