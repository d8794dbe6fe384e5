"""Render the event contract's JSON Schemas as markdown (`python -m gtproc.contract.schemas`).

`--write docs/events.md` replaces the block between the schema markers; `--check docs/events.md` exits 1
when that block differs from the contract (a test runs the same comparison).
"""

from __future__ import annotations

import json
import sys

from gtproc.contract.docblocks import DocBlock
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


BLOCK = DocBlock("gtproc.contract.schemas", DOC, START, END, render, "the event schemas differ from the contract")
main = BLOCK.main


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
