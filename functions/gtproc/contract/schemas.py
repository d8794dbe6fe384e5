"""Render the event contract's JSON Schemas as markdown (`python -m gtproc.contract.schemas`).

`--write docs/events.md` replaces the block between the schema markers; `--check docs/events.md` exits 1
when that block differs from the contract (a test runs the same comparison).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gtproc.contract.events import json_schemas

START, END = "<!-- event-schemas:start -->", "<!-- event-schemas:end -->"
DOC = "docs/events.md"  # where the schemas are published, relative to the repository root


def render() -> str:
    parts = [START]
    for detail_type, schema in json_schemas().items():
        parts.append(f"<details><summary>JSON Schema of <code>{detail_type}</code></summary>\n")
        parts.append("```json\n" + json.dumps(schema, indent=2) + "\n```\n</details>\n")
    parts.append(END)
    return "\n".join(parts)


def replace_block(text: str) -> str:
    if START not in text or END not in text:
        raise ValueError(f"no {START} ... {END} block")
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + render() + tail


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] in ("--write", "--check"):
        path = Path(argv[1])
        try:
            text = path.read_text(encoding="utf-8")
            updated = replace_block(text)
        except (OSError, ValueError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
        if argv[0] == "--check":
            if updated != text:
                print(f"{path}: the event schemas differ from the contract; run --write {path}", file=sys.stderr)
                return 1
            return 0
        path.write_text(updated, encoding="utf-8")
        return 0
    if argv:
        print(f"usage: python -m gtproc.contract.schemas [--write FILE | --check FILE]  (FILE: {DOC})", file=sys.stderr)
        return 2
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
