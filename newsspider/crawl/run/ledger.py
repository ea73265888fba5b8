"""What this run did: outcomes, failures, aliases, validators, and the exports awaiting the commit.

The spider and the output storages tell the ledger facts as they happen; counters go to
the crawl stats (``newsspider.crawl.report.stats``); the commit point
(``newsspider.crawl.run.commit``) makes the ledger durable in the state.  Any failure to
write the output or the state stops the run (``stop``: close reason ``export_failed`` /
``state_failed``), and nothing that is not on disk is committed (docs/cron.md, "Exactly
once").
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector

from newsspider.crawl.report import stats as S
from newsspider.crawl.report.health import COVERAGE_FIELDS, Facts
from newsspider.crawl.run.policy import BEFORE_SINCE, UNCHANGED
from newsspider.crawl.run.records import ExportRecord, PendingPage, TombstoneRecord
from newsspider.crawl.run.scratch import Scratch
from newsspider.crawl.run.state import State, StateError
from newsspider.items import ArticleItem, Tombstone

logger = logging.getLogger(__name__)

#: ``NotAnArticle`` reasons that mean "a post, but unreadable": pending, asked again later.
BROKEN_PAGE_REASONS = frozenset({"truncated_page", "no_content_container", "no_title_heading", "multipage_incomplete"})

Validators = tuple["str | None", "str | None", "str | None"]  # ETag, Last-Modified, index <lastmod>

#: The kinds of items a run exports, each to outputs of its own (``FEEDS`` ``item_classes``).
ITEM_KINDS = {"article": ArticleItem, "tombstone": Tombstone}


@dataclass
class Ledger:
    """The facts of one run (module doc)."""

    settings: BaseSettings
    stats: StatsCollector
    state: State | None = None
    rechecks: dict[str, PendingPage] = field(default_factory=dict)  # pending pages asked again
    scratch: Scratch = field(default_factory=Scratch)  # what grows with the archive: on disk
    aliases: dict[str, set[str]] = field(default_factory=dict)  # item url -> other URLs that led to it
    outcomes: dict[str, str] = field(default_factory=dict)  # final: dead:<status> / not_article
    failures: dict[str, str] = field(default_factory=dict)  # transient: url -> reason (pending)
    resolved: set[str] = field(default_factory=set)  # pending URLs answered for good
    given_up: set[str] = field(default_factory=set)
    unchanged: set[str] = field(default_factory=set)  # recorded articles fetched again, unchanged
    # URL that led to an item dropped as a duplicate -> (the item's URL, post id)
    duplicates: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    start_pages: dict[str, str] = field(default_factory=dict)  # "home" -> ok / http_404 / error:… / robots
    home_url: str = ""
    validators: dict[str, Validators] = field(default_factory=dict)
    feed_ok: bool | None = None
    sitemaps_named: set[str] = field(default_factory=set)  # sitemaps asked, and post sitemaps an index names
    sitemaps_read: set[str] = field(default_factory=set)
    # exported, waiting for the commit point (articles in the scratch file, tombstones here)
    tombstones: list[TombstoneRecord] = field(default_factory=list)
    export_caps: dict[str, int] = field(default_factory=dict)  # per kind: items written before its output failed
    durable: dict[str, list[int]] = field(default_factory=dict)  # per kind, per output: items durably stored
    outputs: list[str] = field(default_factory=list)  # for the summary
    journal_done: list[str] = field(default_factory=list)
    delivered: int = 0  # articles durably in every output (the commit point's count)
    kinds: Counter[str] = field(default_factory=Counter)  # committed: new / updated / deleted / moved
    committed: bool = False
    # how the run ended
    stop_reason: str | None = None  # export_failed / state_failed
    stop_detail: str | None = None
    archive_problem: str | None = None
    finish_reason: str | None = None
    checkpoint: Callable[[str], None] = lambda point: None

    def inc(self, key: str, count: int = 1) -> None:
        self.stats.inc_value(key, count)

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None

    def facts(self, mode: str, since: date | None = None) -> Facts:
        """What the health verdict needs besides the stats."""
        return Facts(mode=mode, finish_reason=self.finish_reason, stopped=self.stop_detail,
                     archive_problem=self.archive_problem, home=self.start_pages.get("home"), home_url=self.home_url,
                     since=since)

    # --- sitemaps ---------------------------------------------------------------------------
    def sitemaps_asked(self, urls: Iterable[str]) -> None:
        """Sitemaps the run must read to know every post (asked, or named by the index)."""
        self.sitemaps_named.update(urls)

    def sitemap_read(self, url: str, posts: Iterable[str] = ()) -> None:
        """A sitemap read whole, and the posts it lists."""
        self.sitemaps_read.add(url)
        self.scratch.list_posts(url, posts)

    @property
    def sitemaps_unread(self) -> set[str] | None:
        """The named sitemaps not read (empty: the run knows every post the sitemaps list);
        None when this run asked none (a run resumed from a ``JOBDIR`` whose first part had
        read robots.txt)."""
        return self.sitemaps_named - self.sitemaps_read if self.sitemaps_named else None

    # --- pages ------------------------------------------------------------------------------
    def led_to(self, item_url: str | None, urls: set[str]) -> None:
        """These URLs (as linked, before redirects) led to the article ``item_url``."""
        if item_url and urls - {item_url}:
            self.aliases.setdefault(item_url, set()).update(urls - {item_url})

    def article_read(self, url: str | None, first_urls: set[str], decision: str) -> None:
        """An article read whole, and what the policy decided (``policy.decide``)."""
        if decision == BEFORE_SINCE:
            self.inc(S.skipped(BEFORE_SINCE))
            return
        self.inc(S.PAGES_ARTICLE)
        self.led_to(url, first_urls)
        if decision == UNCHANGED and url:
            self.still_there(url)

    def still_there(self, url: str) -> None:
        """An article of the dataset is unchanged: read again as it was, or a 304."""
        self.unchanged.add(url)
        self.resolved.update(self.rechecks.keys() & {url})
        self.inc(S.UNCHANGED_SKIPPED)

    def no_article(self, urls: set[str], reason: str, detail: str, page_url: str) -> None:
        """A page that gave no article: a post we could not read (pending) or not a post."""
        if reason in BROKEN_PAGE_REASONS:
            self.broken(urls, reason, page_url)
        else:
            logger.info("Not an article: %s (%s)", page_url, detail)
            self.not_article(urls, reason)

    def not_html(self, url: str, content_type: Any) -> None:
        logger.warning("Not an HTML page: %s (%s)", url, content_type)
        self.inc(S.skipped("not_html"))

    def not_article(self, urls: set[str], reason: str) -> None:
        """A final answer: the page is not an article (a static page, a tag archive …)."""
        self.inc(S.skipped(reason))
        for url in urls:
            self.outcomes[url] = "not_article"

    def broken(self, urls: set[str], reason: str, page_url: str) -> None:
        """A post that could not be read (truncated, no content …): pending, asked again."""
        if self._again(urls, f"dropped:{reason}", page_url):
            return
        logger.warning("Broken article page dropped: %s (%s)", page_url, reason)
        self.inc(S.dropped(reason))
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
        self.inc(stat)
        self.failures[url] = reason

    def answered(self, url: str) -> None:
        """A pending page answered (whatever the page turns out to be)."""
        if url in self.rechecks:
            self.inc(S.PENDING_RETRIED)

    def page_answered(self, url: str) -> None:
        """A listing, sitemap or the feed answered: no longer pending if it was (its own
        recheck request is filtered as a duplicate of this one)."""
        if self.state is not None and self.state.pending(url) is not None:
            self.resolved.add(url)

    def _again(self, urls: set[str], reason: str, shown: str) -> bool:
        """A pending page failing again: counted on its own, logged with the date it first
        failed; the run that first met it already judged it."""
        pending = next((self.rechecks[u] for u in urls if u in self.rechecks), None)
        if pending is None:
            return False
        self.inc(S.PENDING_FAILED_AGAIN)
        first = datetime.fromisoformat(pending.first_failed)
        days = (datetime.now(timezone.utc) - first).days
        for url in urls:
            self.failures[url] = reason
        if not pending.given_up and (pending.attempts + 1 >= self.settings.getint("NEWSSPIDER_PENDING_MAX_ATTEMPTS")
                                     or days >= self.settings.getint("NEWSSPIDER_PENDING_MAX_DAYS")):
            self.given_up.add(pending.url)
            self.inc(S.PENDING_GIVEN_UP)
            logger.warning("Given up on %s: failing since %s (%d attempts, last: %s); a full run tries it again",
                           shown, pending.first_failed[:10], pending.attempts + 1, reason)
        else:
            logger.warning("Still failing since %s (attempt %d): %s (%s)", pending.first_failed[:10],
                           pending.attempts + 1, shown, reason)
        return True

    def feed_failed(self, message: str, failing_since: str | None) -> None:
        """The feed (an optional source) failed: one WARNING that says since when."""
        self.feed_ok = False
        self.inc(S.OPTIONAL_FAILED)
        if failing_since:
            logger.warning("%s (failing since %s; the feed is optional, the sitemaps and listings cover it)",
                           message, failing_since[:16])
        else:
            logger.warning("%s (the feed is optional: tried once per run while it fails)", message)

    # --- items and outputs ------------------------------------------------------------------
    def _judge_item(self, adapter: ItemAdapter) -> None:
        self.inc(S.ITEMS_JUDGED)
        for name in COVERAGE_FIELDS:
            value = adapter.get(name)
            if (isinstance(value, str) and value.strip()) or (isinstance(value, list) and value):
                self.inc(S.with_field(name))

    def exported_count(self, kind: str) -> int:
        return self.scratch.exported_count if kind == "article" else len(self.tombstones)

    def durable_count(self, kind: str) -> int:
        """Items of ``kind`` durably in every output of that kind (none without one)."""
        stored = self.durable.get(kind)
        count = min([self.exported_count(kind), *stored]) if stored else 0
        return min(count, self.export_caps[kind]) if kind in self.export_caps else count

    def gone(self, tombstone: TombstoneRecord | None) -> Tombstone | None:
        """A tombstone to emit (once per URL in a run), counted."""
        if tombstone is None or not self.scratch.first_time("tombstone", tombstone.url):
            return None
        logger.info("Article %s: %s", "moved" if not tombstone.deletion else "gone",
                    f"{tombstone.url} → {tombstone.moved_to}" if tombstone.moved_to
                    else f"{tombstone.url} ({tombstone.reason})")
        self.inc(S.tombstone(tombstone.reason))
        return tombstone.item()

    def item_exported(self, item: Any) -> None:
        if isinstance(item, Tombstone):
            if "tombstone" not in self.export_caps:
                self.tombstones.append(TombstoneRecord.of(item))
            return
        data = ItemAdapter(item)
        self._judge_item(data)
        if "article" in self.export_caps:
            return
        url = data["url"]
        self.scratch.add_exported(ExportRecord.of(data, self.scratch.lastmod(url), self.aliases.get(url, ())))
        if url in self.rechecks:
            self.inc(S.PENDING_RESOLVED)

    def item_dropped(self, item: Any, reason: str) -> None:
        if isinstance(item, Tombstone):
            return
        if reason == "duplicate":
            # Its URLs led to an article of the run (same URL or post id): aliases of it.
            data = ItemAdapter(item)
            url = data.get("url")
            if url:
                self.duplicates.update(dict.fromkeys({url, *self.aliases.get(url, ())}, (url, data.get("post_id"))))
            return
        self._judge_item(data := ItemAdapter(item))
        self.inc(S.ITEMS_DROPPED_BY_PIPELINE)
        url = data.get("url")
        if not url:
            return
        urls = {url, *self.aliases.get(url, ())}
        if self._again(urls, f"dropped:{reason}", url):
            self.inc(S.PENDING_DROPPED_AGAIN)
            return
        for each in urls:
            self.failures[each] = f"dropped:{reason}"

    def stop(self, reason: str, detail: str) -> None:
        """Stop the run: the output or the state cannot be trusted any more."""
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail
            self.inc(S.STOP_ERRORS)
            logger.error("%s; stopping the run (close reason %s)", detail, reason)

    def output_failed(self, path: Path, exc: OSError, kinds: Iterable[str] = ITEM_KINDS) -> None:
        """A write/flush/fsync/rename of an output (of these kinds of items) failed: what
        was written before counts only if the file can still be finished; nothing of these
        kinds after it does (the outputs of other kinds go on counting what they store)."""
        for kind in kinds:
            self.export_caps.setdefault(kind, self.exported_count(kind))
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
