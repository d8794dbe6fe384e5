"""The README documents the contract as the code defines it."""

from __future__ import annotations

import re
from pathlib import Path

from gtproc.contract.events import DETAIL_TYPES
from gtproc.contract.schemas import END, START, render
from gtproc.domain.validation import Rule

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_event_schemas_in_readme_match_the_contract():
    block = README[README.index(START) : README.index(END) + len(END)]
    assert block == render()


def test_every_event_and_rule_code_is_documented():
    for detail_type in DETAIL_TYPES:
        assert f"**`{detail_type}`**" in README
    for rule in Rule:
        assert f"`{rule.value}`" in README, rule


def test_quickstart_has_two_commands_and_ci_runs_the_test_command():
    quickstart = README[README.index("## Quickstart") : README.index("## What gtproc does")]
    commands = re.findall(r"```bash\n(.+?)\n```", quickstart, re.S)
    assert len(commands) == 2 and all("\n" not in command for command in commands)
    assert "gtproc replay" in commands[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[0] in ci and commands[1] in ci
