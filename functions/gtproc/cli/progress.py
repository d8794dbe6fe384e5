"""A one-line progress bar on stderr for the CLI's long work, drawn only on a terminal.

Hand-written (a few lines) rather than a dependency: the CLI ships in the same package as the Lambda code.
"""

from __future__ import annotations

import sys
import time
from typing import IO


def on_terminal() -> bool:
    """A bar only when both streams are a terminal: piped or redirected output gets no control characters."""
    return _isatty(sys.stderr) and _isatty(sys.stdout)


def _isatty(stream: IO[str] | None) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


class ProgressBar:
    """`label [#####.....]  42% 12/30 files` (or MB/s for bytes), redrawn at most 10 times a second."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: IO[str], unit: str = "bytes") -> None:
        self.label, self.total, self.stream, self.unit = label, total, stream, unit
        self.done = 0
        self.started = self.last = time.monotonic()
        self.drawn = False

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self.last >= 0.1 or not self.drawn or self.done >= self.total > 0:  # always show the end
            self.last = now
            self.draw(now)

    def draw(self, now: float) -> None:
        share = min(1.0, self.done / self.total) if self.total else 0.0
        filled = int(share * self.WIDTH)
        if self.unit == "bytes":
            tail = f"{self.done / max(now - self.started, 1e-6) / 1e6:6.1f} MB/s"
        else:
            tail = f"{self.done}/{self.total} {self.unit}"
        bar = "#" * filled + "." * (self.WIDTH - filled)
        self.stream.write(f"\r{self.label[-40:]} [{bar}] {share:4.0%} {tail}")
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        """Erase the bar before other output on the terminal; the next advance draws it again."""
        if self.drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
            self.drawn = False

    def close(self) -> None:
        self.clear()


class _NoBar:
    def clear(self) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def bar(label: str, total: int, unit: str = "files", show: bool | None = None) -> ProgressBar | _NoBar:
    """A bar on stderr when on a terminal (or when `show` says so), else one that draws nothing."""
    if show is None:
        show = on_terminal()
    return ProgressBar(label, total, sys.stderr, unit) if show and total > 0 else _NoBar()
