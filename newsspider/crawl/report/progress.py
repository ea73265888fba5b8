"""``CrawlProgress``: how far a crawl has come — a periodic log line and a live line on a terminal.

* Every ``NEWSSPIDER_PROGRESS_INTERVAL`` seconds (default 60: one line a minute at most,
  quiet enough for cron mail; 0 = off) one INFO line::

    Progress: 12m00s pages=1843 queued=312 in_flight=2 listings=214 articles=1566/3000 new=1520
    updated=12 unchanged=30 dropped=4 rate=154 pages/min 131 articles/min ETA 10m57s

* On a terminal (stderr is a TTY, and the run is a real ``scrapy crawl``:
  ``NEWSSPIDER_CRAWL_COMMAND``), a compact line is rewritten in place (``\\r``) every
  ``NEWSSPIDER_PROGRESS_TTY_INTERVAL`` seconds (default 1; 0 = off); log records printed to
  the same terminal clear it first, so they never mix.

Everything is read from the crawl stats.  ``articles`` counts article pages read; in
``mode=full`` the expected total is the number of post URLs the sitemaps listed
(``newsspider/sitemap/entries``, known once the post sitemaps are read), and the ETA is
the remaining articles at the articles-per-second rate of the run so far.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.asyncio import create_looping_call

from newsspider.crawl.report import stats as S
from newsspider.crawl.report.health import dropped_count

logger = logging.getLogger(__name__)

# Stat names read here: crawl/report/stats.py, plus two of Scrapy's.
STAT_ITEMS = "item_scraped_count"
STAT_RESPONSES = "downloader/response_count"


@dataclass(frozen=True)
class Snapshot:
    """What the progress line says, read from the stats at one moment."""

    elapsed: float  # seconds since the spider opened
    pages: int  # responses downloaded
    queued: int  # requests waiting in the scheduler
    in_flight: int  # requests being downloaded
    listings: int
    articles: int  # article pages read
    expected: int  # post URLs the sitemaps listed (0: not known)
    new: int
    updated: int
    unchanged: int
    dropped: int  # items and pages dropped, duplicates not counted
    full: bool  # mode=full: the sitemaps' count is a total to reach

    @classmethod
    def from_stats(cls, stats: Mapping[str, Any], elapsed: float, queued: int = 0, in_flight: int = 0,
                   mode: str | None = None) -> Snapshot:
        def get(name: str) -> int:
            return int(stats.get(name, 0) or 0)

        updated = get(S.EXPORTED_UPDATED)
        # With a state every exported item is new or updated; without one, all are new.
        new = get(S.EXPORTED_NEW) if S.EXPORTED_NEW in stats else max(get(STAT_ITEMS) - updated, 0)
        dropped = dropped_count(stats)
        return cls(
            elapsed=max(elapsed, 0.0), pages=get(STAT_RESPONSES), queued=queued, in_flight=in_flight,
            listings=get(S.PAGES_LISTING), articles=get(S.PAGES_ARTICLE), expected=get(S.SITEMAP_ENTRIES),
            new=new, updated=updated, unchanged=get(S.UNCHANGED_SKIPPED), dropped=dropped, full=mode == "full",
        )

    # --- arithmetic ---------------------------------------------------------------------
    def pages_per_minute(self) -> float:
        return self.pages * 60 / self.elapsed if self.elapsed > 0 else 0.0

    def articles_per_minute(self) -> float:
        return self.articles * 60 / self.elapsed if self.elapsed > 0 else 0.0

    def eta(self) -> float | None:
        """Seconds left in ``mode=full`` once the sitemaps gave a total and articles come in
        (the run's average article rate so far); None when there is nothing to go by."""
        if not self.full or self.expected <= 0 or self.articles <= 0 or self.elapsed <= 0:
            return None
        remaining = max(self.expected - self.articles, 0)
        return remaining * self.elapsed / self.articles

    # --- text ---------------------------------------------------------------------------
    def _articles(self) -> str:
        return f"{self.articles}/{self.expected}" if self.full and self.expected else str(self.articles)

    def log_line(self) -> str:
        eta = self.eta()
        return (
            f"Progress: {duration(self.elapsed)} pages={self.pages} queued={self.queued} "
            f"in_flight={self.in_flight} listings={self.listings} articles={self._articles()} "
            f"new={self.new} updated={self.updated} unchanged={self.unchanged} dropped={self.dropped} "
            f"rate={self.pages_per_minute():.0f} pages/min {self.articles_per_minute():.0f} articles/min"
            + (f" ETA {duration(eta)}" if eta is not None else "")
        )

    def tty_line(self) -> str:
        eta = self.eta()
        return (
            f"{duration(self.elapsed)} | {self.pages} pages, {self.queued} queued | {self.listings} listings | "
            f"articles {self._articles()}: {self.new} new, {self.updated} upd, {self.unchanged} same, "
            f"{self.dropped} drop | {self.pages_per_minute():.0f} p/min"
            + (f" | ETA {duration(eta)}" if eta is not None else "")
        )


def duration(seconds: float) -> str:
    """``42s``, ``3m05s``, ``2h07m``."""
    total = round(seconds)
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class _ClearLine(logging.Filter):
    """On a handler writing to the terminal: wipe the live line before a record is printed."""

    def __init__(self, display: TerminalLine) -> None:
        super().__init__()
        self.display = display

    def filter(self, record: logging.LogRecord) -> bool:
        self.display.clear()
        return True


class TerminalLine:
    """One line of a terminal rewritten in place; truncated to the terminal's width."""

    def __init__(self, stream: TextIO, width: int = 0) -> None:
        self.stream = stream
        self.width = width
        self.shown = False

    def show(self, text: str) -> None:
        width = self.width or _columns()
        self.stream.write("\r\x1b[K" + text[: max(width - 1, 10)])
        self.stream.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _columns() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


class CrawlProgress:
    def __init__(self, crawler: Crawler, interval: float, tty_interval: float, stream: TextIO | None = None) -> None:
        self.crawler = crawler
        self.interval = interval
        self.tty_interval = tty_interval
        self.started = 0.0
        self.tasks: list[Any] = []
        self.display: TerminalLine | None = None
        self._filters: list[tuple[logging.Handler, logging.Filter]] = []
        if tty_interval > 0 and stream is not None:
            self.display = TerminalLine(stream)
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlProgress:
        settings = crawler.settings
        interval = settings.getfloat("NEWSSPIDER_PROGRESS_INTERVAL")
        tty_interval = settings.getfloat("NEWSSPIDER_PROGRESS_TTY_INTERVAL")
        # The live line only for a real crawl on a terminal (not scrapy shell/parse, not cron).
        stream = sys.stderr if settings.getbool("NEWSSPIDER_CRAWL_COMMAND") and _isatty(sys.stderr) else None
        if interval <= 0 and (tty_interval <= 0 or stream is None):
            raise NotConfigured
        return cls(crawler, interval, tty_interval, stream)

    def snapshot(self) -> Snapshot:
        stats = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        engine = getattr(self.crawler, "engine", None)
        scheduler = getattr(engine, "scheduler", None)
        downloader = getattr(engine, "downloader", None)
        try:
            queued = len(scheduler) if scheduler is not None else 0
        except TypeError:  # a scheduler without __len__
            queued = 0
        in_flight = len(getattr(downloader, "active", ()) or ())
        mode = getattr(getattr(self.crawler, "spider", None), "mode", None)
        return Snapshot.from_stats(stats, time.monotonic() - self.started, queued, in_flight, mode)

    # --- signals ------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        if self.interval > 0:
            task = create_looping_call(self.log)
            task.start(self.interval, now=False)
            self.tasks.append(task)
        if self.display is not None:
            for handler in logging.root.handlers:
                if isinstance(handler, logging.StreamHandler) and _isatty(getattr(handler, "stream", None)):
                    clear = _ClearLine(self.display)
                    handler.addFilter(clear)
                    self._filters.append((handler, clear))
            task = create_looping_call(self.show)
            task.start(self.tty_interval, now=False)
            self.tasks.append(task)

    def log(self) -> None:
        logger.info(self.snapshot().log_line())

    def show(self) -> None:
        if self.display is not None:
            self.display.show(self.snapshot().tty_line())

    def spider_closed(self, spider: Spider, reason: str) -> None:
        for task in self.tasks:
            if task.running:
                task.stop()
        self.tasks.clear()
        if self.display is not None:
            self.display.clear()
        for handler, clear in self._filters:
            handler.removeFilter(clear)
        self._filters.clear()


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False
