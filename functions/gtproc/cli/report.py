"""`gtproc report JOB_DIR | s3://BUCKET/PREFIX/JOB/ -o report.html [--truth FILE] [--method M] [--labels URI]`

Writes one self-contained HTML page about the job: progress, class balance, confidence, workers, the
crowd's confusions, objects to look at and problems. It needs `pip install 'gtproc[report]'`.
Exit 0 when the page was written, 2 for bad input or usage (a one-line message on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import IO, Any

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "report",
        help="write one self-contained HTML report of a job (folder or s3:// prefix)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("job", metavar="JOB_DIR", help="the job's output folder, or s3://bucket/prefix/job/")
    parser.add_argument("-o", "--output", metavar="FILE", required=True, type=Path, help="the HTML file to write")
    parser.add_argument("--truth", metavar="FILE", type=Path, help='true labels: JSON {"datasetObjectId": "class"}')
    parser.add_argument("--method", metavar="M", help="gtproc's consolidation method (default: the best for the task)")
    parser.add_argument("--labels", metavar="URI", help="the job's labels so far (labelsUri, s3://...)")
    parser.set_defaults(run=run)


class _Bar:
    """Stages on one stderr line, redrawn at most 10 times a second; only on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream, self.last = stream, 0.0

    def show(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last >= 0.1:
            self.last = now
            self.stream.write(f"\r{text[:78]:<78}")
            self.stream.flush()

    def files(self, done: int, total: int) -> None:
        filled = int(30 * done / total) if total else 30
        self.show(f"reading {done}/{total} files [{'#' * filled}{'.' * (30 - filled)}]", done == total)

    def close(self) -> None:
        self.stream.write("\r" + " " * 78 + "\r")
        self.stream.flush()


def load_truth(path: Path) -> dict[str, str]:
    from gtproc.domain.jsontext import decode
    from gtproc.report.job import InputError

    try:
        document = decode(path.read_bytes())
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except ValueError as error:
        raise InputError(f"{path} is not JSON: {error}") from None
    if not isinstance(document, dict) or not all(isinstance(v, str | int) for v in document.values()):
        raise InputError(f'{path}: expected a JSON object {{"datasetObjectId": "class", ...}}')
    return {str(oid): str(name) for oid, name in document.items()}


def run(args: argparse.Namespace) -> int:
    try:
        import matplotlib  # noqa: F401 - checked first: without it nothing else is worth reading
    except ImportError:
        print("gtproc report: needs matplotlib: pip install 'gtproc[report]'", file=sys.stderr)
        return EXIT_BAD_INPUT
    from gtproc.domain.consolidation import METHODS
    from gtproc.report import analysis, html
    from gtproc.report.job import InputError, load_job

    if args.method is not None and not any(args.method in methods for methods in METHODS.values()):
        known = sorted({method for methods in METHODS.values() for method in methods})
        print(f"gtproc report: unknown method {args.method!r}; one of {', '.join(known)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.labels is not None and not args.labels.startswith("s3://"):
        print(f"gtproc report: --labels takes an s3:// URI, got {args.labels!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bar = _Bar(sys.stderr) if sys.stderr.isatty() else None
    try:
        truth = load_truth(args.truth) if args.truth else None
        job = load_job(args.job, args.labels, bar.files if bar else None)
        if bar:
            bar.show("consolidating and comparing", force=True)
        report = analysis.analyse(job, args.method, truth)
        page = html.render(report, (lambda name: bar.show(f"drawing {name}")) if bar else None)
    except (InputError, analysis.ReportError) as error:
        if bar:
            bar.close()
        print(f"gtproc report: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if bar:
        bar.close()
    try:
        args.output.write_text(page, encoding="utf-8")
    except OSError as error:
        print(f"gtproc report: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    figures = analysis.summary(report)
    print(
        f"gtproc report: {args.output}: {figures['objects']} objects, {figures['labeled']} labeled,"
        f" {figures['workers']} workers" + (" (nothing to show yet)" if report.empty else ""),
        file=sys.stderr,
    )
    return EXIT_OK
