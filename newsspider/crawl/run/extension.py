"""``RunExtension``: owns the crawl's ``Run`` and connects it to Scrapy's signals.

* at start: opens the state — only in a real ``scrapy crawl`` whose command holds the run
  lock — and recovers the outputs of its dead runs (those its journal names) before
  anything is decided;
* ``spider_opened``: probes the outputs (an unwritable one stops the run before any fetch);
* ``item_scraped`` (after the feed exporter wrote the item): the item is *pending*;
* ``spider_closed`` + ``feed_exporter_closed`` (every output stored: fsync'd and renamed):
  **the commit point** (``newsspider.crawl.run.commit``);
* ``engine_stopped`` (or the crawl command after a forced shutdown): the health verdict
  and the one ``Summary:`` line.

Components reach the run (its policy and its ledger) with ``RunExtension.of(crawler)``.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, overload

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.extensions.feedexport import FeedExporter
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred

from newsspider.crawl.archive.writer import WarcArchive
from newsspider.crawl.export.feedstorage import AtomicFileFeedStorage, recover_outputs
from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.commit import commit, summary_line
from newsspider.crawl.run.ledger import ITEM_KINDS, Ledger
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
        self.ledger = Ledger(settings=crawler.settings, stats=crawler.stats, checkpoint=self._checkpoint)
        self.run = Run(self.ledger)
        self.summarized = False
        self.feeds_closed = False
        self._waiting: Deferred[None] | None = None
        self.crawling = crawler.settings.getbool("NEWSSPIDER_CRAWL_COMMAND")
        path = crawler.settings.get("NEWSSPIDER_STATE_PATH") or ""
        if self.crawling and path and StateLock(path).held:
            try:
                self.ledger.state = State(path)
                recovered = recover_outputs(self.ledger.state)
                self.ledger.inc(S.RECOVERED, sum(n for _, n in recovered))
            except (StateError, OSError) as exc:
                self.ledger.state_failed(exc)
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
        return Run(Ledger(settings=crawler.settings, stats=crawler.stats)) if default else None

    def _checkpoint(self, point: str) -> None:
        self.crawler.signals.send_catch_log(checkpoint, point=point)

    # --- signals ---------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        exporter = self.crawler.get_extension(FeedExporter)
        for slot in getattr(exporter, "slots", ()) if self.crawling else ():  # not scrapy shell/parse
            if isinstance(slot.storage, AtomicFileFeedStorage):
                slot.storage.ledger = self.ledger
                slot.storage.probe()
        if self.ledger.stopping:
            raise CloseSpider(self.ledger.stop_reason or "stopped")

    def _stop_engine(self) -> None:
        engine = self.crawler.engine if self.crawler._engine is not None else None
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=self.ledger.stop_reason or "stopped"))

    def item_scraped(self, item: Any, response: Any, spider: Spider) -> None:
        self.ledger.item_exported(item)
        if self.ledger.stopping:
            self._stop_engine()
        else:
            self._checkpoint("item_written")

    def item_dropped(self, item: Any, response: Any, exception: Exception, spider: Spider) -> None:
        reason = str(exception).split(":", 1)[0].strip() or type(exception).__name__
        self.ledger.item_dropped(item, reason)

    def feed_slot_closed(self, slot: Any) -> None:
        storage, ledger = slot.storage, self.ledger
        if isinstance(storage, AtomicFileFeedStorage):
            count = slot.itemcount if storage.stored is not None else 0
            where = storage.stored or storage.part_path or storage.final_path
        else:
            failed = any(k.startswith("feedexport/failed_count/") for k in self.crawler.stats.get_stats())
            count = 0 if failed else slot.itemcount
            where = slot.uri
            if failed:
                ledger.stop("export_failed", f"Could not store the output {slot.uri}")
        # Each kind of item is counted per output that takes it (FEEDS item_classes); an
        # output taking both holds all of each only when it holds all items.
        kinds = [kind for kind, cls in ITEM_KINDS.items() if slot.filter.accepts(cls())]
        everything = sum(ledger.exported_count(kind) for kind in kinds)
        for kind in kinds:
            ledger.durable.setdefault(kind, []).append(
                count if len(kinds) == 1 else ledger.exported_count(kind) if count >= everything else 0)
        ledger.outputs.append(str(where))

    def feed_exporter_closed(self) -> None:
        self.feeds_closed = True
        if self._waiting is not None:
            self._waiting.callback(None)

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        """The commit point comes after the feeds are stored (``feed_exporter_closed``),
        whichever of the two signal handlers Scrapy runs first."""
        self.ledger.finish_reason = reason
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
                self.ledger.archive_problem = f"the WARC archive failed: {exc}"
        self._checkpoint("before_commit")
        commit(self.ledger, self.run.policy, self.judge)
        self._checkpoint("after_commit")

    def engine_stopped(self) -> None:
        self.finish()

    def judge(self, checks: tuple[health.Check, ...] = health.CHECKS) -> health.Verdict:
        """The health verdict of the run as it stands."""
        settings = self.crawler.settings
        policy = self.run.policy
        return health.judge(self.ledger.facts(policy.mode, policy.since), self.crawler.stats.get_stats(),
                            health.Limits.from_settings(settings), checks)

    def finish(self) -> None:
        """Verdict, summary line, state closed — once, also after a forced shutdown."""
        if self.summarized:
            return
        self.summarized = True
        ledger, policy = self.ledger, self.run.policy
        # Judged here, not taken from the commit point (commit() judges too, for the horizon
        # and the validators): the state transaction can fail after that verdict (state_failed: exit 1),
        # and a forced shutdown never reaches the commit point.
        enabled = self.crawler.settings.getbool("NEWSSPIDER_HEALTH_ENABLED")
        # with the health checks off, only a stopped run is unhealthy
        self.run.verdict = verdict = self.judge(health.CHECKS if enabled else health.ALWAYS_ON)
        if not verdict.ok:
            logger.warning("Unhealthy run: %s", "; ".join(verdict.problems))
        if (policy.initial_window and ledger.kinds["new"] + ledger.kinds["updated"] == 0
                and not ledger.stopping and ledger.start_pages.get("home") == "ok"):  # the site answered
            logger.warning("Nothing published since %s: the first incremental run on an empty state only "
                           "looks back %d days (NEWSSPIDER_INITIAL_WINDOW_DAYS); run with -a mode=full to "
                           "export the archive", policy.since, policy.initial_window)
        failed = sorted(u for u, r in ledger.failures.items() if not r.startswith("dropped:"))
        if failed:
            self.crawler.stats.set_value(S.FAILED_URLS, failed)
            shown = ", ".join(failed[:SHOWN_URLS]) + (" …" if len(failed) > SHOWN_URLS else "")
            logger.warning("%d URL(s) failed and will be asked again by the next run: %s", len(failed), shown)
        logger.info(summary_line(ledger, policy, verdict, self.crawler.stats.get_stats()))
        if ledger.state is not None:
            ledger.state.close()
            ledger.state = None
