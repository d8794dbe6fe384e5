"""The `gtproc` command: validate, consolidate and replay Ground Truth output."""

from __future__ import annotations

import argparse
import sys

from gtproc import __version__

EXIT_OK = 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gtproc", description=__doc__)
    parser.add_argument("--version", action="version", version=f"gtproc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from gtproc.cli import consolidate, labels, replay, validate

    validate.register(commands)
    consolidate.register(commands)
    replay.register(commands)
    labels.register(commands)
    from gtproc.cli import tail

    tail.register(commands)
    from gtproc.cli import report  # the report command (optional extra `report`)

    report.register(commands)
    from gtproc.cli import backfill

    backfill.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("gtproc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
