"""How far to walk a listing: which entries of a page to fetch, and when to stop paging.

Rules, in order: links already seen in the page chain (a pagination trap repeats them)
are not new; entries older than ``since`` are not fresh; a run other than ``full`` also
skips what the state knows and stops at the first page with nothing unseen; and a chain never
goes past ``NEWSSPIDER_MAX_LISTING_PAGES`` pages, whatever the pages look like.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from scrapy.statscollectors import StatsCollector

from newsspider.crawl.report import stats as S
from newsspider.crawl.run.policy import Policy
from newsspider.crawl.run.scratch import Scratch

logger = logging.getLogger(__name__)


@dataclass
class ListingWalk:
    policy: Policy
    scratch: Scratch  # links seen in each chain: on disk, not in memory
    stats: StatsCollector
    max_pages: int
    categories: set[str] = field(default_factory=set)  # category URLs already followed (a few dozen)

    def new_category(self, url: str) -> bool:
        """Every page repeats the menus: follow each category once (and, but in a
        full run, not one that was a dead link in an earlier run)."""
        if url in self.categories:
            return False
        self.categories.add(url)
        return not (self.policy.skips_known and not self.policy.unseen(url))

    def entries(self, chain: str, entries: list[Any]) -> tuple[list[Any], str | None]:
        """The entries of a page to fetch, and why paging stops here (None: page on)."""
        fresh_urls = set(self.scratch.new_keys(f"chain {chain}", [e.url for e in entries]))
        new = [e for e in entries if e.url in fresh_urls]
        fresh = [e for e in new if not self.policy.too_old(e.published)]
        known = False
        if self.policy.skips_known:
            unseen = [e for e in fresh if self.policy.unseen(e.url)]
            known = len(unseen) < len(fresh)
            fresh = unseen
        return fresh, None if fresh else "known" if known else "since" if new else "no_new_links"

    def page_on(self, url: str, page_number: int, stop: str | None) -> bool:
        """Whether to request the next page after page ``page_number`` at ``url``."""
        if stop is not None:
            logger.info("Stopped paging %s (%s)", url, stop)
            self.stats.inc_value(S.listing_stopped(stop))
            return False
        if self.max_pages and page_number >= self.max_pages:
            logger.warning("Stopped paging %s (NEWSSPIDER_MAX_LISTING_PAGES=%d reached)", url, self.max_pages)
            self.stats.inc_value(S.LISTING_STOPPED_MAX_PAGES)
            return False
        return True
