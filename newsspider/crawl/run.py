"""The run: one typed object that knows what this crawl decided, fetched, exported,
dropped and failed — and the one place where that becomes durable (the commit point).

``Run`` holds the facts and the incremental rules that need the state; the spider asks it
questions (``unseen``, ``wanted_from_sitemap``, ``already_exported``) and tells it facts
(``not_article``, ``broken``, ``request_failed`` …).  ``RunExtension`` owns it for the
crawl (``crawler.get_extension(RunExtension).run``) and wires it to Scrapy's signals:

* at start: opens the state — only in a real ``scrapy crawl`` whose command holds the run
  lock — and recovers the outputs of dead runs before anything is decided;
* ``item_scraped`` (after the feed exporter wrote the item): the item is *pending*;
* ``feed_exporter_closed`` (every output stored: fsync'd and renamed): **the commit
  point** — the pending items that are durably in every output, the run's outcomes and
  failures, and the journal rows of the finished files, in one SQLite transaction;
* ``engine_stopped``: the health verdict and the one ``Summary:`` line.

Any failure to write the output or the state stops the run (close reason
``export_failed`` / ``state_failed``) and commits nothing that is not on disk.  The
invariant and its proof sketch are in docs/cron.md ("Exactly once").
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.extensions.feedexport import FeedExporter
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import Deferred

from newsspider.crawl import health
from newsspider.crawl import stats as S
from newsspider.crawl.feedstorage import AtomicFileFeedStorage, recover_outputs
from newsspider.crawl.state import ArticleRecord, Commit, ExportRecord, PendingPage, State, StateError, StateLock, newer
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: A Scrapy signal sent at the named points of the commit protocol (``point=...``):
#: ``item_written``, ``before_rename``, ``before_commit``, ``after_commit``.  Nothing of
#: ours listens; the crash tests kill the process there.
checkpoint = object()

MODES = ("full", "incremental")
#: Most URLs listed by name in a log line (all of them are in the stats and the state).
SHOWN_URLS = 20


@dataclass
class Run:
    """What one crawl knows.  Built empty; ``begin`` fills in what the spider chose."""

    settings: BaseSettings
    state: State | None = None
    stats: Any = None
    origins: OriginMap = field(default_factory=OriginMap)
    mode: str = "incremental"
    since: date | None = None
    initial_window: int | None = None
    resume_after: str | None = None
    # facts of this run
    sitemap_lastmod: dict[str, str] = field(default_factory=dict)  # canonical url -> sitemap <lastmod>
    aliases: dict[str, set[str]] = field(default_factory=dict)  # item url -> other URLs that led to it
    outcomes: dict[str, str] = field(default_factory=dict)  # final: dead:<status> / not_article
    failures: dict[str, str] = field(default_factory=dict)  # transient: url -> reason (pending)
    resolved: set[str] = field(default_factory=set)  # pending URLs answered for good
    rechecks: dict[str, PendingPage] = field(default_factory=dict)  # pending pages asked again
    given_up: set[str] = field(default_factory=set)
    unchanged: set[str] = field(default_factory=set)  # recorded articles fetched again, unchanged
    start_pages: dict[str, str] = field(default_factory=dict)  # "home" -> ok / http_404 / error:… / robots
    home_url: str = ""
    feed_failing_since: str | None = None
    feed_ok: bool | None = None
    # exported, waiting for the commit point
    exported: list[ExportRecord] = field(default_factory=list)
    export_cap: int | None = None  # items written before the output failed
    durable: list[int] = field(default_factory=list)  # per output: items durably stored
    outputs: list[str] = field(default_factory=list)  # for the summary
    journal_done: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    committed: bool = False
    # how the run ended
    stop_reason: str | None = None  # export_failed / state_failed
    stop_detail: str | None = None
    finish_reason: str | None = None
    verdict: health.Verdict | None = None
    checkpoint: Callable[[str], None] = lambda point: None
    # coverage of the items judged (exported or dropped by a pipeline)
    judged_items: int = 0
    present: Counter[str] = field(default_factory=Counter)
    pipeline_drops: int = 0
    own_errors: int = 0  # ERROR records of the stop itself (the verdict names the reason)
    again_dropped_by_pipeline: int = 0

    # --- the spider's questions ---------------------------------------------------------
    def begin(self, origins: OriginMap, mode: str, since: date | None) -> list[PendingPage]:
        """The spider's choices; returns the pending pages to fetch again."""
        self.origins, self.mode, self.since = origins, mode, since
        self.home_url = origins.to_fetch(origins.canonical + "/")
        state = self.state
        if state is None:
            if since is None and mode == "incremental":
                self._window()
            return []
        self.resume_after = state.begin_run()
        if self.resume_after:
            logger.info("The run started %s did not finish: resuming after it", self.resume_after)
        horizon = state.get_meta("horizon")
        if self.since is None and mode == "incremental":
            if horizon is None and state.is_empty():
                self._window()
            elif horizon:
                self.since = date.fromisoformat(horizon)
        self.feed_failing_since = state.get_meta("feed_failing_since")
        pages = state.due_pending(include_given_up=mode == "full")
        self.rechecks = {p.url: p for p in pages}
        return pages

    def _window(self) -> None:
        days = self.settings.getint("NEWSSPIDER_INITIAL_WINDOW_DAYS", 7)
        self.since = (datetime.now(timezone.utc) - timedelta(days=days)).date()
        self.initial_window = days
        logger.info("Empty state: incremental run looks back %d days (since %s)", days, self.since)

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None

    def too_old(self, published: str | None) -> bool:
        return bool(self.since and published and published[:10] < self.since.isoformat())

    def unseen(self, url: str) -> bool:
        """Neither a recorded article nor a URL with a final answer or pending retry."""
        state = self.state
        if state is None:
            return True
        canonical = self.origins.to_canonical(url)
        return not state.known(canonical) and state.outcome(canonical) is None and state.pending(canonical) is None

    def wanted_from_sitemap(self, url: str, lastmod: str | None) -> bool:
        """Full mode: every post within ``since``.  Incremental: a recorded article only
        when its ``lastmod`` is newer than what the state holds; an unknown one within
        ``since`` (or one that gave no article, once its ``lastmod`` is newer)."""
        canonical = self.origins.to_canonical(url)
        if lastmod:
            self.sitemap_lastmod[canonical] = lastmod
        state = self.state
        if not self.incremental or state is None:
            return not self.too_old(lastmod)
        record = state.lookup(canonical)
        if record is not None:
            if newer(lastmod, record.modified, record.lastmod, record.published):
                self._inc(S.SITEMAP_CHANGED)
                return True
            return False
        outcome = state.outcome(canonical)
        if outcome is not None:
            return newer(lastmod, outcome[1])
        if state.pending(canonical) is not None:
            return False  # asked again at the start of the run
        return not self.too_old(lastmod)

    def lookup(self, url: str | None) -> ArticleRecord | None:
        return self.state.lookup(url) if self.state is not None and url else None

    def already_exported(self, item: Any, record: ArticleRecord | None) -> bool:
        """A known article whose content has not changed: not emitted again (incremental
        runs; a full run only skips what an interrupted earlier run exported)."""
        if record is None:
            return False
        if not self.incremental and not (self.resume_after and record.last_seen >= self.resume_after):
            return False
        if State.compare(ItemAdapter(item), record) != "unchanged":
            return False
        self.unchanged.add(record.url)
        self.resolved.update(self.rechecks.keys() & {record.url})
        self._inc(S.UNCHANGED_SKIPPED)
        return True

    # --- facts the spider tells ---------------------------------------------------------
    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def led_to(self, item_url: str | None, urls: set[str]) -> None:
        """These URLs (as linked, before redirects) led to the article ``item_url``."""
        if item_url and urls - {item_url}:
            self.aliases.setdefault(item_url, set()).update(urls - {item_url})

    def not_article(self, urls: set[str], reason: str) -> None:
        """A final answer: the page is not an article (a static page, a tag archive …)."""
        self._inc(S.skipped(reason))
        for url in urls:
            self.outcomes[url] = "not_article"

    def broken(self, urls: set[str], reason: str, page_url: str) -> None:
        """A post that could not be read (truncated, no content …): pending, asked again."""
        if self._again(urls, f"dropped:{reason}", page_url):
            return
        logger.warning("Broken article page dropped: %s (%s)", page_url, reason)
        self._inc(S.dropped(reason))
        for url in urls:
            self.failures[url] = f"dropped:{reason}"

    def dead(self, url: str, status: int) -> None:
        """404/410: a final answer."""
        self.outcomes[url] = f"dead:{status}"
        self.resolved.add(url)

    def request_failed(self, url: str, reason: str, stat: str, message: str) -> None:
        """A request gave up after all retries (5xx, network error) or was refused (403):
        pending, asked again by later runs."""
        if self._again({url}, reason, url):
            return
        logger.warning(message)
        self._inc(stat)
        self.failures[url] = reason

    def answered(self, url: str) -> None:
        """A pending page answered (whatever the page turns out to be)."""
        if url in self.rechecks:
            self._inc(S.PENDING_RETRIED)

    def _again(self, urls: set[str], reason: str, shown: str) -> bool:
        """A pending page failing again: counted on its own, logged with the date it first
        failed; the run that first met it already judged it."""
        pending = next((self.rechecks[u] for u in urls if u in self.rechecks), None)
        if pending is None:
            return False
        self._inc(S.PENDING_FAILED_AGAIN)
        limit_attempts = self.settings.getint("NEWSSPIDER_PENDING_MAX_ATTEMPTS", 8)
        limit_days = self.settings.getint("NEWSSPIDER_PENDING_MAX_DAYS", 30)
        first = datetime.fromisoformat(pending.first_failed)
        days = (datetime.now(timezone.utc) - first).days
        for url in urls:
            self.failures[url] = reason
        if not pending.given_up and (pending.attempts + 1 >= limit_attempts or days >= limit_days):
            self.given_up.add(pending.url)
            self._inc(S.PENDING_GIVEN_UP)
            logger.warning("Given up on %s: failing since %s (%d attempts, last: %s); a full run tries it again",
                           shown, pending.first_failed[:10], pending.attempts + 1, reason)
        else:
            logger.warning("Still failing since %s (attempt %d): %s (%s)", pending.first_failed[:10],
                           pending.attempts + 1, shown, reason)
        return True

    def feed_failed(self, message: str) -> None:
        """The feed (an optional source) failed: one WARNING that says since when."""
        self.feed_ok = False
        self._inc(S.OPTIONAL_FAILED)
        if self.feed_failing_since:
            logger.warning("%s (failing since %s; the feed is optional, the sitemaps and listings cover it)",
                           message, self.feed_failing_since[:16])
        else:
            logger.warning("%s (the feed is optional: tried once per run while it fails)", message)

    # --- items and outputs ----------------------------------------------------------------
    def judge_item(self, item: Any) -> None:
        adapter = ItemAdapter(item)
        self.judged_items += 1
        for name in health.COVERAGE_FIELDS:
            value = adapter.get(name)
            if (isinstance(value, str) and value.strip()) or (isinstance(value, list) and value):
                self.present[name] += 1

    def item_exported(self, item: Any) -> None:
        self.judge_item(item)
        if self.export_cap is not None:
            return
        data = ItemAdapter(item)
        url = data["url"]
        self.exported.append(ExportRecord.of(data, self.sitemap_lastmod.get(url), self.aliases.get(url, ())))
        if url in self.rechecks:
            self._inc(S.PENDING_RESOLVED)

    def item_dropped(self, item: Any, reason: str) -> None:
        if reason == "duplicate":
            return
        self.judge_item(item)
        self.pipeline_drops += 1
        url = ItemAdapter(item).get("url")
        if not url:
            return
        urls = {url, *self.aliases.get(url, ())}
        if self._again(urls, f"dropped:{reason}", url):
            self.again_dropped_by_pipeline += 1
            return
        for each in urls:
            self.failures[each] = f"dropped:{reason}"

    def stop(self, reason: str, detail: str) -> None:
        """Stop the run: the output or the state cannot be trusted any more."""
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
            self.own_errors += 1
            logger.error("%s; stopping the run (close reason %s)", detail, reason)

    def output_failed(self, path: Path, exc: OSError) -> None:
        """A write/flush/fsync/rename of an output failed: what was written before counts
        only if the file can still be finished; nothing after it does."""
        if self.export_cap is None:
            self.export_cap = len(self.exported)
        self.stop("export_failed", f"Could not write the output {path}: {exc.strerror or exc}")

    def state_failed(self, exc: Exception) -> None:
        self.stop("state_failed", f"Could not use the crawl state: {exc}")

    def journal_open(self, part: Path) -> None:
        if self.state is not None:
            try:
                self.state.journal_open(str(part.resolve()))
            except StateError as exc:
                self.state_failed(exc)

    def journal_final(self, part: Path, final: Path) -> None:
        if self.state is not None:
            try:
                self.state.journal_final(str(part.resolve()), str(final.resolve()))
            except StateError as exc:
                self.state_failed(exc)
                raise OSError(f"state journal: {exc}") from exc
        self.journal_done.append(str(part.resolve()))

    def journal_drop(self, part: Path) -> None:
        if self.state is not None:
            try:
                self.state.journal_drop(str(part.resolve()))
            except StateError as exc:
                self.state_failed(exc)

    def commit(self) -> None:
        """The commit point: what is durably in every output, and the run's bookkeeping,
        in one transaction.  Without a state, only counts."""
        if self.committed:
            return
        self.committed = True
        count = min([len(self.exported), *self.durable]) if self.durable else 0
        if self.export_cap is not None:
            count = min(count, self.export_cap)
        exported = self.exported[:count]
        if self.state is None:
            self.kinds["new"] += len(exported)
            return
        batch = Commit(
            exported=exported,
            touched={url: (self.sitemap_lastmod.get(url), frozenset(self.aliases.get(url, ())))
                     for url in self.unchanged},
            outcomes=dict(self.outcomes),
            failures={u: r for u, r in self.failures.items() if u not in {e.url for e in exported}},
            given_up=self.given_up,
            resolved=self.resolved,
            outputs_done=self.journal_done,
            meta=self._meta_changes(),
        )
        try:
            self.state.check_same_file()
            counts = self.state.commit(batch)
        except StateError as exc:
            self.state_failed(exc)
            return
        self.kinds.update(counts)
        self._inc(S.COMMITTED, len(exported))
        self._inc(S.EXPORTED_NEW, counts["new"])
        self._inc(S.EXPORTED_UPDATED, counts["updated"])

    def _meta_changes(self) -> dict[str, str | None]:
        """The horizon and the open-run marker move only with a run that did its job."""
        meta: dict[str, str | None] = {}
        if self.feed_ok is False:
            meta["feed_failing_since"] = self.feed_failing_since or datetime.now(timezone.utc).isoformat(
                timespec="seconds")
        elif self.feed_ok:
            meta["feed_failing_since"] = None
        if self.stopping or self.finish_reason != "finished":
            return meta
        verdict = health.judge(self, self.stats.get_stats() if self.stats is not None else {},
                               health.Limits.from_settings(self.settings))
        if not verdict.ok:
            return meta
        meta["open_run_started"] = None
        assert self.state is not None
        if self.mode == "full" and self.since is None:
            meta["horizon"] = ""  # the whole archive is covered
        elif self.state.get_meta("horizon") is None:
            meta["horizon"] = self.since.isoformat() if self.since else ""
        return meta

    # --- the end --------------------------------------------------------------------------
    def summary(self) -> str:
        stats = self.stats.get_stats() if self.stats is not None else {}
        drops = {k.rsplit("/", 1)[1]: int(v) for k, v in stats.items()
                 if k.startswith(S.DROPPED_PREFIX) and k != S.DUPLICATE}
        dropped = sum(drops.values())
        dropped_text = f"dropped={dropped}" + (
            " (" + ", ".join(f"{k}={v}" for k, v in sorted(drops.items())) + ")" if drops else "")
        verdict = self.verdict or health.Verdict()
        output = "; ".join(self.outputs) or "none (nothing new)"
        if not self.committed:
            output += "; not committed (recovered by the next run)"
        return (
            f"Summary: mode={self.mode} new={self.kinds['new']} updated={self.kinds['updated']} "
            f"unchanged_skipped={int(stats.get(S.UNCHANGED_SKIPPED, 0))} {dropped_text} "
            f"pending_retried={int(stats.get(S.PENDING_RETRIED, 0))} "
            f"still_failing={int(stats.get(S.PENDING_FAILED_AGAIN, 0))} "
            f"errors={health.spider_exceptions(stats)} failed_requests={health.failed_count(stats)} "
            f"dead_links={health.dead_count(stats)} requests={health.requests_count(stats)} "
            f"finish_reason={self.stop_reason or self.finish_reason or 'forced'} "
            f"health={verdict.text()} output={output}"
        )


class RunExtension:
    """Owns the ``Run`` of a crawl and connects it to Scrapy's signals (module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run = Run(settings=crawler.settings, stats=crawler.stats)
        self.lock: StateLock | None = None
        self.summarized = False
        self.feeds_closed = False
        self._waiting: Deferred[None] | None = None
        self.run.checkpoint = self._checkpoint
        self.crawling = crawler.settings.getbool("NEWSSPIDER_CRAWL_COMMAND")
        path = crawler.settings.get("NEWSSPIDER_STATE_PATH") or ""
        if self.crawling and path and StateLock(path).held:
            self.lock = StateLock(path)
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
    def of(crawler: Crawler) -> Run | None:
        extension = crawler.get_extension(RunExtension)
        return extension.run if extension is not None else None

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
        for slot in getattr(exporter, "slots", ()):
            if isinstance(slot.storage, AtomicFileFeedStorage):
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
        self._checkpoint("before_commit")
        self.run.commit()
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
        if run.settings.getbool("NEWSSPIDER_HEALTH_ENABLED", True):
            run.verdict = health.judge(run, stats, health.Limits.from_settings(run.settings))
            if not run.verdict.ok:
                logger.warning("Unhealthy run: %s", "; ".join(run.verdict.problems))
        else:
            run.verdict = health.Verdict(ok=run.stop_reason is None, problems=[run.stop_detail or ""])
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
        logger.info(run.summary())
        if run.state is not None:
            run.state.close()
            run.state = None
