"""``reextract`` progress: a live line on a TTY, an INFO log line otherwise."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TextIO

from newsspider.crawl.report.progress import TerminalLine, duration

logger = logging.getLogger(__name__)


class Progress:
    """Records read, articles extracted, rate and ETA (from the share of the indexed records
    read; written as the crawl's, ``duration``): a live line on a TTY, an INFO log line every
    ``interval`` seconds otherwise."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.display = TerminalLine(self.stream)  # the crawl's live line, rewritten in place
        self.interval = 0.2 if self.tty else interval
        self.clock = clock
        self.started = clock()
        self.last = self.started
        self.records = 0
        self.total = 0
        self.articles = 0

    def start(self, total: int) -> None:
        """``total`` records to read."""
        self.started = self.last = self.clock()
        self.total = total

    def scanned(self, records: int) -> None:
        self.records = records
        self._maybe_show()

    def extracted(self, article: bool) -> None:
        self.articles += article
        self._maybe_show()

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        share = self.records / self.total if self.total else 0.0
        eta = elapsed * (1 - share) / share if share > 0 else 0.0
        return (f"reextract: {self.records} records read ({share:.0%}), {self.articles} articles, "
                f"{self.articles / elapsed:.0f} articles/s, ETA {duration(eta)}")

    def _maybe_show(self) -> None:
        if self.clock() - self.last >= self.interval:
            self._show()

    def _show(self) -> None:
        self.last = self.clock()
        if self.tty:
            self.display.show(self.line())
        else:
            logger.info(self.line())

    def close(self) -> None:
        if self.tty:
            self.display.show(self.line())
            self.stream.write("\n")
            self.stream.flush()
