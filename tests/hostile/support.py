"""Running `gtproc` as a user does (a subprocess) and the checks every hostile case shares."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# What leaks when an exception escapes: a traceback, or an exception's class name in the message.
_LEAKS = re.compile(r"Traceback|\b(?:Recursion|Unicode\w*|Type|Key|Attribute|Index|Overflow|OS)Error\b")


def gtproc(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "gtproc", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )


def assert_clean(result: Any, command: str) -> list[str]:
    """No traceback and no exception text; every stderr line is the command's own. Returns those lines."""
    lines = result.stderr.strip().splitlines()
    assert not _LEAKS.search(result.stderr), result.stderr[-3000:]
    assert all(line.startswith(f"gtproc {command}") for line in lines), result.stderr[-3000:]
    return lines
