"""``RunExtension``: owns the crawl's ``Run`` and connects it to Scrapy's signals.

* at start: opens the state — only in a real ``scrapy crawl`` whose command holds the run
  lock — and recovers the outputs of dead runs before anything is decided;
* ``spider_opened``: probes the outputs (an unwritable one stops the run before any fetch);
* ``item_scraped`` (after the feed exporter wrote the item): the item is *pending*;
* ``spider_closed`` + ``feed_exporter_closed`` (every output stored: fsync'd and renamed):
  **the commit point** (``newsspider.crawl.run.commit``);
* ``engine_stopped`` (or the crawl command after a forced shutdown): the health verdict
  and the one ``Summary:`` line.

Components reach the run with ``RunExtension.of(crawler)``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal, overload

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.extensions.feedexport import FeedExporter
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred

from newsspider.crawl.archive.writer import WarcArchive
from newsspider.crawl.output.feedstorage import AtomicFileFeedStorage, recover_outputs
from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.commit import commit, summary_line
from newsspider.crawl.run.run import Run
from newsspider.crawl.run.state import State, StateError, StateLock

logger = logging.getLogger(__name__)

#: A Scrapy signal sent at the named points of the commit protocol (``point=...``):
#: ``item_written``, ``before_rename``, ``before_commit``, ``after_commit``.  Nothing of
#: ours listens; the crash tests kill the process there.
checkpoint = object()
#: Most URLs listed by name in a log line (all of them are in the stats and the state).
SHOWN_URLS = 20


class RunExtension:
    """Owns the ``Run`` of a crawl and connects it to Scrapy's signals (module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run = Run(settings=crawler.settings, stats=crawler.stats)
        self.summarized = False
        self.feeds_closed = False
        self._waiting: Deferred[None] | None = None
        self.run.checkpoint = self._checkpoint
        self.crawling = crawler.settings.getbool("NEWSSPIDER_CRAWL_COMMAND")
        path = crawler.settings.get("NEWSSPIDER_STATE_PATH") or ""
        if self.crawling and path and StateLock(path).held:
            try:
                self.run.state = State(path)
                recovered = recover_outputs(self.run.state, self._output_directories())
                self.run._inc(S.RECOVERED, sum(n for _, n in recovered))
            except (StateError, OSError) as exc:
                self.run.state_failed(exc)
        for handler, signal in (
            (self.spider_opened, signals.spider_opened), (self.item_scraped, signals.item_scraped),
            (self.item_dropped, signals.item_dropped), (self.feed_slot_closed, signals.feed_slot_closed),
            (self.feed_exporter_closed, signals.feed_exporter_closed), (self.spider_closed, signals.spider_closed),
            (self.engine_stopped, signals.engine_stopped),
        ):
            crawler.signals.connect(handler, signal=signal)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunExtension:
        return cls(crawler)

    @staticmethod
    @overload
    def of(crawler: Crawler, default: Literal[False] = False) -> Run | None: ...

    @staticmethod
    @overload
    def of(crawler: Crawler, default: Literal[True]) -> Run: ...

    @staticmethod
    def of(crawler: Crawler, default: bool = False) -> Run | None:
        """The crawl's run; with ``default``, a bare one (no state) when the crawler has no
        run extension (a spider or component used alone: tests, tools)."""
        try:
            extension = crawler.get_extension(RunExtension)
        except RuntimeError:  # no extension manager yet
            extension = None
        if extension is not None:
            return extension.run
        return Run(settings=crawler.settings, stats=crawler.stats) if default else None

    def _output_directories(self) -> list[Path]:
        """Where atomic outputs of this spider go (the default dated FEEDS entry)."""
        name = getattr(self.crawler.spidercls, "name", "")
        dirs = []
        for uri, options in (self.crawler.settings.getdict("FEEDS") or {}).items():
            if not (options or {}).get("atomic") or ("://" in str(uri) and not str(uri).startswith("file://")):
                continue
            path = str(uri).removeprefix("file://")
            try:
                dirs.append(Path(os.path.dirname(path % {"name": name, "time": "", "batch_id": 0,
                                                          "batch_time": ""})).resolve())
            except (KeyError, ValueError, TypeError):
                continue
        return dirs

    def _checkpoint(self, point: str) -> None:
        self.crawler.signals.send_catch_log(checkpoint, point=point)

    # --- signals ---------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        exporter = self.crawler.get_extension(FeedExporter)
        for slot in getattr(exporter, "slots", ()) if self.crawling else ():  # not scrapy shell/parse
            if isinstance(slot.storage, AtomicFileFeedStorage):
                slot.storage.run = self.run
                slot.storage.probe()
        if self.run.stopping:
            raise CloseSpider(self.run.stop_reason or "stopped")

    def _stop_engine(self) -> None:
        engine = self.crawler.engine if self.crawler._engine is not None else None
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=self.run.stop_reason or "stopped"))

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        self.run.item_exported(item)
        if self.run.stopping:
            self._stop_engine()
        else:
            self._checkpoint("item_written")

    def item_dropped(self, item: Any, response: Any, exception: Exception, spider: Spider) -> None:
        reason = str(exception).split(":", 1)[0].strip() or type(exception).__name__
        self.run.item_dropped(item, reason)

    def feed_slot_closed(self, slot: Any) -> None:
        storage = slot.storage
        count = slot.itemcount
        if isinstance(storage, AtomicFileFeedStorage):
            stored = storage.stored
            if self.run.export_cap is not None:
                count = min(count, self.run.export_cap)
            self.run.durable.append(count if stored is not None else 0)
            where = stored or storage.part_path or storage.final_path
        else:
            failed = any(k.startswith("feedexport/failed_count/") for k in self.crawler.stats.get_stats())
            self.run.durable.append(0 if failed else slot.itemcount)
            where = slot.uri
            if failed:
                self.run.stop("export_failed", f"Could not store the output {slot.uri}")
        self.run.outputs.append(f"{where} ({count} items)")

    def feed_exporter_closed(self) -> None:
        self.feeds_closed = True
        if self._waiting is not None:
            self._waiting.callback(None)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """The commit point comes after the feeds are stored (``feed_exporter_closed``),
        whichever of the two signal handlers Scrapy runs first."""
        self.run.finish_reason = reason
        if self.crawler.get_extension(FeedExporter) is not None and not self.feeds_closed:
            self._waiting = Deferred()
            await maybe_deferred_to_future(self._waiting)
        self._commit()

    def _commit(self) -> None:
        # The run's archive is complete on disk before its state commit (docs/archive.md);
        # an archive that failed makes the run exit 1, the outputs are committed all the same
        # (not committing them would emit their articles twice).
        archive = self.crawler.get_extension(WarcArchive)
        if archive is not None:
            try:
                archive.finish()
            except OSError as exc:
                self.run.archive_problem = f"the WARC archive failed: {exc}"
        self._checkpoint("before_commit")
        commit(self.run)
        self._checkpoint("after_commit")

    def engine_stopped(self) -> None:
        self.finish()

    def finish(self) -> None:
        """Verdict, summary line, state closed — once, also after a forced shutdown."""
        if self.summarized:
            return
        self.summarized = True
        run = self.run
        stats = self.crawler.stats.get_stats() if self.crawler.stats is not None else {}
        # Judged here, not taken from the commit point (commit.meta_changes judges too, for the
        # horizon): the state transaction can fail after that verdict (state_failed: exit 1),
        # a forced shutdown never reaches the commit point, a stopped run is not judged there,
        # and with NEWSSPIDER_HEALTH_ENABLED off only a stop counts here while the horizon
        # still needs every check.
        if run.settings.getbool("NEWSSPIDER_HEALTH_ENABLED", True):
            run.verdict = health.judge(run, stats, health.Limits.from_settings(run.settings))
            if not run.verdict.ok:
                logger.warning("Unhealthy run: %s", "; ".join(run.verdict.problems))
        else:
            run.verdict = health.judge(run, stats, health.Limits.from_settings(run.settings), health.ALWAYS_ON)
        if run.initial_window and run.kinds["new"] + run.kinds["updated"] == 0 and not run.stopping:
            logger.warning("Nothing published since %s: the first incremental run on an empty state only "
                           "looks back %d days (NEWSSPIDER_INITIAL_WINDOW_DAYS); run with -a mode=full to "
                           "export the archive", run.since, run.initial_window)
        failed = sorted(u for u, r in run.failures.items() if not r.startswith("dropped:"))
        if failed:
            if self.crawler.stats is not None:
                self.crawler.stats.set_value(S.FAILED_URLS, failed)
            shown = ", ".join(failed[:SHOWN_URLS]) + (" …" if len(failed) > SHOWN_URLS else "")
            logger.warning("%d URL(s) failed and will be asked again by the next run: %s", len(failed), shown)
        logger.info(summary_line(run))
        if run.state is not None:
            run.state.close()
            run.state = None
