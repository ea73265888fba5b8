"""The run: one typed object that knows what this crawl decided, fetched, exported,
dropped and failed.

``Run`` holds the facts and the incremental rules that need the state; the spider asks it
questions (``unseen``, ``wanted_from_sitemap``, ``already_exported``) and tells it facts
(``not_article``, ``broken``, ``request_failed`` …); the output storages tell it what they
wrote and where it failed.  ``newsspider.crawl.run.extension.RunExtension`` owns it for the
crawl and ``newsspider.crawl.run.commit`` makes it durable at the commit point.  Any failure
to write the output or the state stops the run (``stop``: close reason ``export_failed``
/ ``state_failed``) and nothing that is not on disk is committed (docs/cron.md,
"Exactly once").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from newsspider.crawl.report import health
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.scratch import Scratch
from newsspider.crawl.run.state import ArticleRecord, ExportRecord, PendingPage, State, StateError, newer
from newsspider.extraction.article import NotAnArticle
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

MODES = ("full", "incremental")
#: ``NotAnArticle`` reasons that mean "a post, but unreadable": pending, asked again later.
BROKEN_PAGE_REASONS = frozenset({"truncated_page", "no_content_container", "no_title_heading", "multipage_incomplete"})


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
    scratch: Scratch = field(default_factory=Scratch)  # what grows with the archive: on disk (crawl/run/scratch.py)
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
    began_empty: bool = False  # no article recorded when the run began
    validators: dict[str, tuple[str | None, str | None, str | None]] = field(default_factory=dict)
    feed_ok: bool | None = None
    # exported, waiting for the commit point
    export_cap: int | None = None  # items written before the output failed
    durable: list[int] = field(default_factory=list)  # per output: items durably stored
    outputs: list[str] = field(default_factory=list)  # for the summary
    journal_done: list[str] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    committed: bool = False
    # how the run ended
    stop_reason: str | None = None  # export_failed / state_failed
    stop_detail: str | None = None
    archive_problem: str | None = None
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
        self.began_empty = state.is_empty()
        if self.since is None and mode == "incremental":
            if horizon is None and self.began_empty:
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
            self.scratch.set_lastmod(canonical, lastmod)
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
        """The recorded article (none while a first backfill runs: records come at commit)."""
        return self.state.lookup(url) if self.state is not None and url and not self.began_empty else None

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

    def no_article(self, urls: set[str], problem: NotAnArticle, page_url: str) -> None:
        """A page that gave no article: a post we could not read (pending) or not a post."""
        if problem.reason in BROKEN_PAGE_REASONS:
            self.broken(urls, problem.reason, page_url)
        else:
            logger.info("Not an article: %s (%s)", page_url, problem)
            self.not_article(urls, problem.reason)

    def wanted_item(self, item: Any, first_urls: set[str]) -> bool:
        """An article read whole: emitted unless older than ``since`` or already exported."""
        record = self.lookup(item.url)
        if record is None and self.too_old(item.published):
            self._inc(S.skipped("before_since"))
            return False
        self._inc(S.PAGES_ARTICLE)
        self.led_to(item.url, first_urls)
        return not self.already_exported(item, record)

    def not_html(self, response: Any) -> None:
        logger.warning("Not an HTML page: %s (%s)", response.url, response.headers.get("Content-Type"))
        self._inc(S.skipped("not_html"))

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
    def judge_item(self, adapter: ItemAdapter) -> None:
        self.judged_items += 1
        for name in health.COVERAGE_FIELDS:
            value = adapter.get(name)
            if (isinstance(value, str) and value.strip()) or (isinstance(value, list) and value):
                self.present[name] += 1

    def item_exported(self, item: Any) -> None:
        data = ItemAdapter(item)  # one adapter for the item's bookkeeping
        self.judge_item(data)
        if self.export_cap is not None:
            return
        url = data["url"]
        self.scratch.add_exported(ExportRecord.of(data, self.scratch.lastmod(url), self.aliases.get(url, ())))
        if url in self.rechecks:
            self._inc(S.PENDING_RESOLVED)

    def item_dropped(self, item: Any, reason: str) -> None:
        if reason == "duplicate":
            return
        self.judge_item(data := ItemAdapter(item))
        self.pipeline_drops += 1
        url = data.get("url")
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
            self.export_cap = self.scratch.exported_count
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
