"""What the incremental rules want: which pages this run asks for and which articles it emits.

The answers depend on the mode, ``since`` and the state as it was when the run began
(nothing this run does changes them: records come at the commit point).  The spider asks;
what the run then did is the ledger's business (``newsspider.crawl.run.ledger``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from itemadapter import ItemAdapter
from scrapy.settings import BaseSettings

from newsspider.crawl.run.records import ArticleRecord, PendingPage, TombstoneRecord
from newsspider.crawl.run.state import State, newer

logger = logging.getLogger(__name__)

#: ``incremental`` (cron): what is new or changed; ``check`` (the weekly job): every
#: sitemap and listing, every article of the dataset asked again with a conditional
#: request, only edits, moves and tombstones emitted; ``full``: export everything.
MODES = ("full", "incremental", "check")

#: What ``Policy.decide`` says of an article read whole.
EMIT, UNCHANGED, BEFORE_SINCE = "emit", "unchanged", "before_since"


@dataclass
class Policy:
    """The incremental rules of one run (module doc), complete once ``begin`` has read the state."""

    mode: str = "incremental"
    since: date | None = None
    base_url: str = ""  # where the run fetches from (the state is bound to it)
    state: State | None = None
    initial_window: int | None = None  # days looked back by a first incremental run
    resume_after: str | None = None  # start of an earlier run that did not finish
    began_empty: bool = False  # no article recorded when the run began
    feed_failing_since: str | None = None
    rechecks: dict[str, PendingPage] = field(default_factory=dict)  # pending pages asked again

    def begin(self, state: State | None, settings: BaseSettings, base_url: str) -> None:
        """Read the state as the run begins (and open the run in it)."""
        self.state = state
        if state is None:
            if self.since is None and self.incremental:
                self._window(settings)
            return
        self.base_url = base_url
        self.resume_after = state.begin_run()
        if self.resume_after:
            logger.info("The run started %s did not finish: resuming after it", self.resume_after)
        horizon = state.get_meta("horizon")
        self.began_empty = state.is_empty()
        if self.since is None and self.incremental:
            if horizon is None and self.began_empty:
                self._window(settings)
            elif horizon:
                self.since = date.fromisoformat(horizon)
        self.feed_failing_since = state.get_meta("feed_failing_since")
        self.rechecks = {p.url: p for p in state.due_pending(include_given_up=not self.incremental)}

    def _window(self, settings: BaseSettings) -> None:
        days = settings.getint("NEWSSPIDER_INITIAL_WINDOW_DAYS")
        self.since = (datetime.now(timezone.utc) - timedelta(days=days)).date()
        self.initial_window = days
        logger.info("Empty state: incremental run looks back %d days (since %s)", days, self.since)

    @property
    def incremental(self) -> bool:
        return self.mode == "incremental"

    @property
    def skips_known(self) -> bool:
        """Listings are followed only to what the dataset does not have (not ``full``)."""
        return self.mode != "full"

    def too_old(self, published: str | None) -> bool:
        """Published before ``since`` (the ``since`` day itself is wanted)."""
        return bool(self.since and published and published[:10] < self.since.isoformat())

    def unseen(self, url: str) -> bool:
        """Neither a recorded article nor a URL with a final answer or pending retry."""
        state = self.state
        return state is None or (not state.known(url) and state.outcome(url) is None and state.pending(url) is None)

    def wanted_from_sitemap(self, url: str, lastmod: str | None) -> str | None:
        """Why a post sitemap entry is fetched (``"new"``, ``"changed"``), or None.

        Full mode: every post within ``since``.  Incremental: a recorded article only when
        its ``lastmod`` is newer than what the state holds; an unknown one within ``since``
        (or one that gave no article, once its ``lastmod`` is newer).  Check mode: the same,
        but no recorded article (each is asked anyway: ``to_check``)."""
        state = self.state
        if self.mode == "full" or state is None:
            return None if self.too_old(lastmod) else "new"
        record = state.lookup(url)
        if record is not None:
            if self.mode == "check":
                return None
            return "changed" if newer(lastmod, record.modified, record.lastmod, record.published) else None
        if state.tombstone(url) is not None:
            return "listed_again"  # a deleted article the sitemaps list again: back?
        outcome = state.outcome(url)
        if outcome is not None:
            return "changed" if newer(lastmod, outcome[1]) else None
        if state.pending(url) is not None:
            return None  # asked again at the start of the run
        return None if self.too_old(lastmod) else "new"

    def lookup(self, url: str | None) -> ArticleRecord | None:
        """The recorded article (none while a first backfill runs: records come at commit)."""
        return self.state.lookup(url) if self.state is not None and url and not self.began_empty else None

    def decide(self, item: Any) -> str:
        """An article read whole: ``EMIT``, or why not (``BEFORE_SINCE``, ``UNCHANGED``).

        A known article whose content has not changed is not emitted again (incremental
        runs; a full run only skips what an interrupted earlier run exported)."""
        data = ItemAdapter(item)
        url = data.get("url")
        record = self.lookup(url)
        if record is None:  # (a post of the dataset under a new URL, a move, is wanted whatever its age)
            old = self.too_old(data.get("published"))
            return BEFORE_SINCE if old and (self.state is None or not self.state.by_post_id(
                data.get("post_id"), url or "")) else EMIT
        if self.mode == "full" and not (self.resume_after and record.last_seen >= self.resume_after):
            return EMIT
        return UNCHANGED if State.compare(data, record) == "unchanged" else EMIT

    # --- what left the site ---------------------------------------------------------------
    def to_check(self) -> list[str]:
        """Check mode: every article of the dataset, asked again (conditionally)."""
        return self.state.article_urls() if self.mode == "check" and self.state is not None else []

    def unlisted(self, sitemap: str, listed: set[str]) -> list[str]:
        """Articles of the dataset that ``sitemap`` no longer lists: each is asked again
        (a deletion answers 404/410 or redirects)."""
        return self.state.unlisted(sitemap, listed) if self.state is not None else []

    def gone(self, url: str, reason: str, detected_at: str) -> TombstoneRecord | None:
        """The tombstone of the article of the dataset at ``url`` (its own URL, not an
        alias) that answered ``reason`` (``http_404``, ``redirected`` …); None when no
        article of the dataset has that URL."""
        record = self.lookup(url)
        if record is None or record.url != url:
            return None
        return TombstoneRecord(record.url, record.post_id, detected_at, reason, record.modified, None)

    def moved(self, item: Any, first_urls: set[str], detected_at: str) -> TombstoneRecord | None:
        """An article read under another URL than the one the dataset has it under (same
        post id), or reached by a redirect from an article of the dataset: the tombstone of
        the move (the article itself is emitted under its new URL)."""
        data = ItemAdapter(item)
        url = data.get("url")
        if not url or self.state is None or self.began_empty:
            return None
        record = self.state.by_post_id(data.get("post_id"), url)
        if record is None:
            record = next((r for u in sorted(first_urls - {url}) if (r := self.lookup(u)) is not None
                           and r.url == u), None)
        if record is None:
            return None
        return TombstoneRecord(record.url, record.post_id, detected_at, "moved", record.modified, url)
