"""`gtproc consolidate JOB_DIR`: consolidate worker responses into labels (see issue: annotations)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser("consolidate", help="consolidate worker responses of a job folder")
    parser.add_argument("job_dir", metavar="JOB_DIR")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print("gtproc consolidate: not available yet", file=sys.stderr)
    return 2
