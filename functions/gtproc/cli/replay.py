"""`gtproc replay PATH`: run the pipelines on an embedded AWS (moto)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser("replay", help="replay a Ground Truth output tree on an embedded AWS")
    parser.add_argument("path", metavar="PATH")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print("gtproc replay: not available yet", file=sys.stderr)
    return 2
