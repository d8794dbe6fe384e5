"""The contract's generated blocks of markdown: rendered between two markers of a doc, then written
there or checked against it (`python -m gtproc.contract.schemas`, `python -m gtproc.contract.consuming`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import msgspec


class DocBlock(msgspec.Struct, frozen=True):
    module: str  # the `python -m` module, for its usage line
    doc: str  # the file the block is published in, relative to the repository root
    start: str
    end: str
    render: Callable[[], str]  # the block, markers included
    stale: str  # what --check says when the file's block is not the contract's

    def replace(self, text: str) -> str:
        if self.start not in text or self.end not in text:
            raise ValueError(f"no {self.start} ... {self.end} block")
        head, _, rest = text.partition(self.start)
        _, _, tail = rest.partition(self.end)
        return head + self.render() + tail

    def main(self, argv: list[str]) -> int:
        """`--write FILE` or `--check FILE` (exit 1 when stale), or print the block; 2 for bad input or usage."""
        if len(argv) == 2 and argv[0] in ("--write", "--check"):
            path = Path(argv[1])
            try:
                text = path.read_text(encoding="utf-8")
                updated = self.replace(text)
                if argv[0] == "--write":
                    path.write_text(updated, encoding="utf-8")
            except (OSError, ValueError) as error:  # ValueError: no markers, or not UTF-8
                print(f"{path}: {error}", file=sys.stderr)
                return 2
            if argv[0] == "--check" and updated != text:
                print(f"{path}: {self.stale}; run --write {path}", file=sys.stderr)
                return 1
            return 0
        if argv:
            print(f"usage: python -m {self.module} [--write FILE | --check FILE]  (FILE: {self.doc})", file=sys.stderr)
            return 2
        print(self.render())
        return 0
