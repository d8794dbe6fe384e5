"""Render the event contract's JSON Schemas as the README's markdown (`python -m gtproc.contract.schemas`).

`--write README.md` replaces the block between the schema markers; a test keeps README and code equal.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gtproc.contract.events import json_schemas

START, END = "<!-- event-schemas:start -->", "<!-- event-schemas:end -->"


def render() -> str:
    parts = [START]
    for detail_type, schema in json_schemas().items():
        parts.append(f"<details><summary>JSON Schema of <code>{detail_type}</code></summary>\n")
        parts.append("```json\n" + json.dumps(schema, indent=2) + "\n```\n</details>\n")
    parts.append(END)
    return "\n".join(parts)


def replace_block(text: str) -> str:
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    return head + render() + tail


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        path.write_text(replace_block(path.read_text(encoding="utf-8")), encoding="utf-8")
        return 0
    print(render())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
