"""The ``georgiatoday`` spider: routing only.

It decides what to fetch next — home page, category archives from the site's menus and
their pagination, Yoast post sitemaps, article pages and the further pages of
multi-page posts — and hands each response to ``newsspider.extraction``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timezone
from typing import Any

import scrapy
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from newsspider.article import load_article
from newsspider.extraction import ArticlePage, NotAnArticle
from newsspider.extraction.listing import parse_listing
from newsspider.extraction.sitemap import is_post_sitemap, parse_sitemap, robots_sitemaps
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

MODES = ("full", "incremental")
#: ``NotAnArticle`` reasons that mean "an article, but broken": dropped, not skipped.
BROKEN_PAGE_REASONS = frozenset({"truncated_page", "no_content_container"})
STAT = "newsspider"


def parse_since(value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"since must be a date YYYY-MM-DD, got {value!r}") from None


class GeorgiaTodaySpider(scrapy.Spider):
    """Crawl georgiatoday.ge (or a mirror of it at ``base_url``) into article items."""

    name = "georgiatoday"
    canonical_origin = "https://georgiatoday.ge"

    def __init__(
        self,
        base_url: str | None = None,
        mode: str | None = None,
        since: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.origins = OriginMap(self.canonical_origin, (base_url or self.canonical_origin).rstrip("/"))
        self.mode = (mode or "full").strip().lower()
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.since = parse_since(since)
        host = self.origins.fetch.split("://", 1)[1].split(":", 1)[0]
        self.allowed_domains = [host]
        self._chains: dict[str, set[str]] = {}

    # --- helpers ------------------------------------------------------------------------
    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STAT}/{key}", count)

    def _follow(self, url: str, callback: Any, **kwargs: Any) -> Request | None:
        """A request for a site link (fetched from ``base_url``), None for off-site links."""
        if not self.origins.is_site(url):
            self._inc("links/offsite")
            return None
        return Request(self.origins.to_fetch(url), callback=callback, errback=self.on_error, **kwargs)

    def _too_old(self, published: str | None) -> bool:
        return bool(self.since and published and published[:10] < self.since.isoformat())

    # --- entry points -------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        home = self._follow(self.origins.canonical + "/", self.parse_listing)
        if home is not None:
            yield home
        robots = Request(self.origins.fetch + "/robots.txt", callback=self.parse_robots,
                         errback=self.on_error, priority=-10)
        yield robots

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        sitemaps = robots_sitemaps(response.body, response.url) or [self.origins.canonical + "/sitemap_index.xml"]
        for url in sitemaps:
            request = self._follow(url, self.parse_sitemap, priority=-10)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        try:
            kind, entries = parse_sitemap(response.body)
        except ValueError as exc:
            logger.warning("Not a sitemap: %s (%s)", response.url, exc)
            self._inc("skipped/bad_sitemap")
            return
        for entry in entries:
            if kind == "sitemapindex":
                if is_post_sitemap(entry.url):
                    request = self._follow(entry.url, self.parse_sitemap, priority=-10)
                    if request is not None:
                        yield request
            elif not self._too_old(entry.lastmod):
                request = self._follow(entry.url, self.parse_article)
                if request is not None:
                    yield request

    # --- listings -----------------------------------------------------------------------
    def parse_listing(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._inc("skipped/not_html")
            return
        listing = parse_listing(response.selector, response.url)
        self._inc("pages/listing")
        for category in listing.categories:
            request = self._follow(category, self.parse_listing)
            if request is not None:
                yield request
        if not listing.entries:
            logger.warning("Listing page without article links: %s", response.url)
            self._inc("listing/empty")
        # Links already seen in this listing's page chain: a pagination trap repeats them.
        chain = self._chains.setdefault(response.meta.get("chain", response.url), set())
        new = [e for e in listing.entries if e.url not in chain]
        chain.update(e.url for e in listing.entries)
        fresh = [e for e in new if not self._too_old(e.published)]
        for entry in fresh:
            request = self._follow(entry.url, self.parse_article)
            if request is not None:
                yield request
        if not listing.next_page:
            return
        if not fresh:
            reason = "since" if new else "no_new_links"
            logger.info("Stopped paging %s (%s)", response.url, reason)
            self._inc(f"listing/stopped_{reason}")
            return
        # Hard cap per chain, whatever the pages look like (a trap inventing new links).
        page_number = response.meta.get("listing_page", 1)
        limit = self.settings.getint("NEWSSPIDER_MAX_LISTING_PAGES", 0)
        if limit and page_number >= limit:
            logger.warning("Stopped paging %s (NEWSSPIDER_MAX_LISTING_PAGES=%d reached)", response.url, limit)
            self._inc("listing/stopped_max_pages")
            return
        request = self._follow(listing.next_page, self.parse_listing,
                               meta={"chain": response.meta.get("chain", response.url),
                                     "listing_page": page_number + 1})
        if request is not None:
            yield request

    # --- articles -----------------------------------------------------------------------
    def parse_article(self, response: Response, pages: tuple[ArticlePage, ...] = ()) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            logger.warning("Not an HTML page: %s (%s)", response.url, response.headers.get("Content-Type"))
            self._inc("skipped/not_html")
            return
        page = ArticlePage(response.selector, self.origins.to_canonical(response.url), response.text)
        if not pages:
            try:
                page.check_article()
            except NotAnArticle as exc:
                if exc.reason in BROKEN_PAGE_REASONS:
                    logger.warning("Broken article page dropped: %s (%s)", response.url, exc)
                    self._inc(f"dropped/{exc.reason}")
                else:
                    logger.info("Not an article: %s (%s)", response.url, exc)
                    self._inc(f"skipped/{exc.reason}")
                return
            if page.page_number() > 1:
                # Landed on /<slug>/N/: the post starts at its first page.
                first = self._follow(page.url_candidates()[-1] if page.url_candidates() else response.url,
                                     self.parse_article)
                self._inc("skipped/later_page")
                if first is not None:
                    yield first
                return
        pages = (*pages, page)
        next_url = self._next_page_of_post(pages)
        if next_url is not None:
            request = self._follow(next_url, self.parse_article, cb_kwargs={"pages": pages}, dont_filter=True)
            if request is not None:
                request.meta["post_page"] = len(pages) + 1
                yield request
                return
        item = load_article(pages, self.origins, crawled_at=datetime.now(timezone.utc))
        if self._too_old(item.published):
            self._inc("skipped/before_since")
            return
        self._inc("pages/article")
        yield item

    def _next_page_of_post(self, pages: tuple[ArticlePage, ...]) -> str | None:
        """URL of page N+1 of a multi-page post (``/<slug>/N+1/``), if the post has one."""
        wanted = len(pages) + 1
        for href in pages[-1].page_links():
            url = href.strip().rstrip("/")
            if url.rsplit("/", 1)[-1] == str(wanted):
                return href
        return None

    # --- failures -----------------------------------------------------------------------
    def on_error(self, failure: Failure) -> None:
        """Expected trouble (dead link, timeout after retries): WARNING, counted."""
        request = failure.request if hasattr(failure, "request") else None
        response = getattr(failure.value, "response", None)
        if response is not None:
            logger.warning("Dead link (HTTP %s): %s", response.status, response.url)
            self._inc(f"failed/http_{response.status}")
        else:
            logger.warning("Request failed: %s (%s)", getattr(request, "url", "?"), failure.getErrorMessage())
            self._inc(f"failed/{failure.type.__name__ if failure.type else 'unknown'}")
        if request is not None and request.meta.get("post_page"):
            logger.warning("Multi-page post incomplete, not emitted: %s", request.url)
            self._inc("dropped/multipage_incomplete")
