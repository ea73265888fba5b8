"""The ``georgiatoday`` spider: routing only.

It decides what to fetch next — home page, category archives from the site's menus and
their pagination, Yoast post sitemaps, the feed, article pages and the further pages of
multi-page posts — hands each response to ``newsspider.extraction``, asks the run's
policy (``newsspider.crawl.run.policy``) what is wanted and tells its ledger
(``newsspider.crawl.run.ledger``) what it found.  Requests and responses carry canonical
``https://georgiatoday.ge/...`` URLs whatever the ``base_url``: fetching from a mirror is
the download handler's business (``newsspider.crawl.http.mirror``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date
from itertools import chain
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from newsspider import site
from newsspider.crawl.archive import fetched_at
from newsspider.crawl.http.conditional import child_sitemap_changed, conditional, not_modified, recheck
from newsspider.crawl.report import stats as S
from newsspider.crawl.run.extension import RunExtension
from newsspider.crawl.run.failures import feed_error, request_error
from newsspider.crawl.run.ledger import BROKEN_PAGE_REASONS, Ledger
from newsspider.crawl.run.paging import ListingWalk
from newsspider.crawl.run.policy import EMIT, Policy
from newsspider.crawl.run.run import Run
from newsspider.crawl.run.state import utcnow
from newsspider.extraction import ArticlePage, NotAnArticle, page_selector
from newsspider.extraction.feed import parse_feed
from newsspider.extraction.kind import page_kind
from newsspider.extraction.listing import parse_listing
from newsspider.extraction.loader import load_article
from newsspider.extraction.post import LaterPage, NotHtml, article_page, next_page_of_post
from newsspider.extraction.sitemap import is_post_sitemap, parse_sitemap, robots_sitemaps
from newsspider.items import Tombstone
from newsspider.spiders.arguments import check_arguments, relax_for_local_mirror
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: Article requests from the sitemaps kept in the scheduler at a time (the rest wait on disk).
BACKLOG_IN_FLIGHT = 64
#: Where Yoast (and WordPress core, redirecting) serve the sitemap index.
DEFAULT_SITEMAP_INDEX = "/sitemap_index.xml"


class GeorgiaTodaySpider(scrapy.Spider):
    """Crawl georgiatoday.ge (or a mirror of it at ``base_url``) into article items."""

    name = site.NAME
    canonical_origin = site.ORIGIN

    @classmethod
    def check_arguments(cls, *args: Any, **kwargs: Any) -> tuple[OriginMap, str, date | None]:
        return check_arguments(cls.canonical_origin, *args, **kwargs)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> GeorgiaTodaySpider:
        # -s NEWSSPIDER_BASE_URL=… gives tools without spider arguments (scrapy check) a mirror.
        kwargs.setdefault("base_url", crawler.settings.get("NEWSSPIDER_BASE_URL") or None)
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.on_idle, signal=signals.spider_idle)
        relax_for_local_mirror(spider.origins, crawler.settings)
        return spider

    def __init__(self, base_url: str | None = None, mode: str | None = None, since: str | None = None,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origins, self.mode, self.since = self.check_arguments(base_url, mode, since)
        self.allowed_domains = [urlsplit(self.origins.canonical).hostname or ""]
        self._run: Run | None = None
        self._walk: ListingWalk | None = None

    @property
    def run(self) -> Run:
        """The crawl's run (a bare one when the spider is used without a crawl: tests, tools)."""
        if self._run is None:
            self._run = RunExtension.of(self.crawler, default=True)
            self._run.policy = Policy(mode=self.mode, since=self.since)
            self._run.ledger.home_url = self.origins.to_fetch(self.origins.canonical + "/")  # as fetched
        return self._run

    @property
    def walk(self) -> ListingWalk:
        if self._walk is None:
            self._walk = ListingWalk(self.policy, self.ledger.scratch, self.crawler.stats,
                                     self.settings.getint("NEWSSPIDER_MAX_LISTING_PAGES"))
        return self._walk

    @property
    def policy(self) -> Policy:
        return self.run.policy

    @property
    def ledger(self) -> Ledger:
        return self.run.ledger

    def _inc(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(key, count)

    # --- helpers ------------------------------------------------------------------------
    def _canonical(self, url: str) -> str | None:
        """The canonical URL of a site link; None (counted) for an off-site or invalid one."""
        if not self.origins.is_site(url):
            self._inc(S.LINKS_OFFSITE)
            return None
        try:
            return self.origins.to_canonical(url)
        except ValueError:
            logger.info("Invalid link skipped: %r", url)
            self._inc(S.LINKS_INVALID)
            return None

    def _follow(self, url: str, callback: Any, validate: bool = False, **kwargs: Any) -> Request | None:
        """A request for a site link (its canonical URL), None for off-site links;
        ``validate``: a conditional request (``newsspider.crawl.http.conditional``)."""
        target = self._canonical(url)
        if target is None:
            return None
        kwargs.setdefault("errback", self.on_error)
        if validate:
            extra = conditional(self.policy, self.ledger, target)
            kwargs["meta"] = {**extra.pop("meta"), **kwargs.get("meta", {})}
            kwargs.update(extra)
        return Request(target, callback=callback, **kwargs)

    def _follow_all(self, urls: list[str], callback: Any, **kwargs: Any) -> Iterator[Request]:
        return (r for url in urls if (r := self._follow(url, callback, **kwargs)) is not None)

    def _check_all(self, urls: list[str]) -> Iterator[Request]:
        """Articles of the dataset asked again, each once, with a conditional request (a
        304 costs no body); not filtered as duplicates, so that a redirect to a page
        already fetched (the home page) still answers."""
        for url in urls:
            if self.ledger.scratch.first_time("check", url):
                request = self._follow(url, self.parse_article, dont_filter=True,
                                       **recheck(self.policy, self.ledger, url))
                if request is not None:
                    yield request

    def _gone(self, urls: set[str], reason: str) -> list[Tombstone]:
        """Tombstones of the articles of the dataset among ``urls`` (the page answered
        ``reason``) — only while the site's home page answers: a site down, or answering
        404 everywhere, takes nothing out of the dataset."""
        now = utcnow()
        found = [t for url in sorted(urls) if (t := self.policy.gone(url, reason, now)) is not None]
        if found and self.ledger.start_pages.get("home") != "ok":
            self._inc(S.TOMBSTONES_HELD, len(found))
            return []
        return [t for t in map(self.ledger.gone, found) if t is not None]

    def _redirected_from(self, meta: dict[str, Any], *also: str) -> set[str]:
        """The site URLs a response (its request's ``meta``) was redirected from, and
        ``also``, canonical."""
        return {self.origins.to_canonical(u) for u in (*meta.get("redirect_urls", ()), *also)
                if self.origins.is_site(u)}

    # --- entry points -------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        for request in self._start_requests():
            yield request

    def _start_requests(self) -> Iterator[Request]:
        run = self.run
        if run.ledger.stopping:
            return
        policy = run.policy
        policy.begin(run.ledger.state, self.settings, self.origins.fetch)
        run.ledger.rechecks = policy.rechecks
        yield from self._follow_all([self.origins.canonical + "/"], self.parse_listing, meta={"start_page": "home"})
        retries = self.settings.getint("NEWSSPIDER_ROBOTS_RETRY_TIMES")
        yield Request(self.origins.canonical + "/robots.txt", callback=self.parse_robots,
                      errback=self.on_robots_error, priority=-10, meta={"max_retry_times": retries})
        if policy.incremental:
            # optional (the sitemaps lead to the same posts): one retry, none while it keeps failing
            tries = 0 if policy.feed_failing_since else self.settings.getint("NEWSSPIDER_OPTIONAL_RETRY_TIMES")
            yield from self._follow_all([self.origins.canonical + "/feed/"], self.parse_feed, validate=True,
                                        errback=self.on_feed_error, meta={"max_retry_times": tries})
        for url in policy.rechecks:
            yield from self._follow_all([url], self.parse, meta={"recheck": url})
        if checks := policy.to_check():
            self._inc(S.CHECKED_ARTICLES, len(checks))
            run.ledger.scratch.push(checks)  # with the sitemaps' posts: BACKLOG_IN_FLIGHT at a time

    def parse(self, response: Response, **kwargs: Any) -> list[Any]:
        """Route any page by its type: robots.txt, a sitemap, the feed, a listing or an
        article (``scrapy parse --spider georgiatoday <url>``; pages asked again).

        @url https://georgiatoday.ge/north-korea-confirms-deployment-of-troops-to-support-russia-in-ukraine-war/
        @returns items 1 1
        @returns requests 0 0
        @scrapes url post_id title authors published categories body language source crawled_at
        """
        self.ledger.answered(response.meta.get("recheck", ""))
        route = {"robots": self.parse_robots, "sitemap": self.parse_sitemap, "feed": self.parse_feed,
                 "listing": self.parse_listing, "article": self.parse_article}[page_kind(response)]
        return list(route(response))

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """``/feed/``: the newest posts; fetch those not in the state (incremental)."""
        ledger, policy = self.ledger, self.policy
        ledger.page_answered(response.url)
        if not_modified(ledger, response):
            ledger.feed_ok = True
            return
        try:
            entries = parse_feed(response.body, response.url)
        except ValueError as exc:
            ledger.feed_failed(f"Not a feed: {response.url} ({exc})", policy.feed_failing_since)
            return
        ledger.feed_ok = True
        wanted = [url for e in entries if not policy.too_old(e.published)
                  and (url := self._canonical(e.url)) is not None and policy.unseen(url)]
        self._inc(S.FEED_NEW, len(wanted))
        yield from self._follow_all(wanted, self.parse_article)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        sitemaps = robots_sitemaps(response.body, response.url) or [self.origins.canonical + DEFAULT_SITEMAP_INDEX]
        yield from self._ask_sitemaps(sitemaps)

    def _ask_sitemaps(self, urls: list[str]) -> list[Request]:
        """Requests for sitemaps, each one the run must read to know every post."""
        requests = list(self._follow_all(urls, self.parse_sitemap, validate=True, priority=-10))
        self.ledger.sitemaps_asked(r.url for r in requests)
        return requests

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        ledger, policy = self.ledger, self.policy
        ledger.page_answered(response.url)
        if not_modified(ledger, response):
            return
        try:
            kind, entries = parse_sitemap(response.body, response.url)
        except ValueError as exc:
            logger.warning("Not a sitemap: %s (%s)", response.url, exc)
            self._inc(S.skipped("bad_sitemap"))
            return
        site = [(url, e.lastmod) for e in entries if (url := self._canonical(e.url)) is not None]
        read = response.meta.get("validate", response.url)
        if kind == "sitemapindex":
            posts = [(url, lastmod) for url, lastmod in site if is_post_sitemap(url)]
            ledger.sitemaps_asked(url for url, _ in posts)
            ledger.sitemap_read(read)
            children = [url for url, lastmod in posts if child_sitemap_changed(policy, ledger, url, lastmod)]
            yield from self._follow_all(children, self.parse_sitemap, validate=True, priority=-10)
            return
        self._inc(S.SITEMAP_ENTRIES, len(entries))
        ledger.sitemap_read(read, (url for url, _ in site))
        if unlisted := policy.unlisted(read, {url for url, _ in site}):
            self._inc(S.CHECKED_UNLISTED, len(unlisted))
            yield from self._check_all(unlisted)  # taken down, or moved?
        # Thousands of posts per sitemap: they wait in the run's scratch file, not as
        # Request objects in the scheduler; each article read pulls the next ones.
        wanted = []
        for url, lastmod in site:
            if lastmod:
                ledger.scratch.set_lastmod(url, lastmod)
            why = policy.wanted_from_sitemap(url, lastmod)
            if why == "changed":
                self._inc(S.SITEMAP_CHANGED)
            if why:
                wanted.append(url)
        ledger.scratch.push(wanted)
        yield from self._from_backlog(BACKLOG_IN_FLIGHT)

    # --- listings -----------------------------------------------------------------------
    def parse_listing(self, response: Response) -> list[Request]:
        """A home, category or pagination page: categories, articles, the next page.

        @url https://georgiatoday.ge/category/politics/
        @returns items 0 0
        @returns requests 2
        """
        # A list, not a generator: a suspended generator would keep the page's parsed
        # tree alive until Scrapy resumes it (~1 MB per page in flight).
        if response.meta.get("start_page"):
            self.ledger.start_pages[response.meta["start_page"]] = "ok"
        self.ledger.page_answered(response.url)
        return list(self._listing_outputs(response))

    def _listing_outputs(self, response: Response) -> Iterator[Request]:
        walk = self.walk
        if not_modified(self.ledger, response):
            return  # a category's first page unchanged since the last run: nothing new in it
        if not isinstance(response, TextResponse):
            self._inc(S.skipped("not_html"))
            return
        listing = parse_listing(page_selector(response), response.url)
        self._inc(S.PAGES_LISTING)
        yield from self._follow_all(list(filter(walk.new_category, listing.categories)), self.parse_listing,
                                    validate=True)
        if not listing.entries and listing.says_empty:
            logger.info("Listing says it has no posts: %s", response.url)
            self._inc(S.LISTING_NO_POSTS)
        elif not listing.entries:
            # Posts were expected here: the markup may have changed under our selectors.
            logger.warning("Listing page without article links: %s", response.url)
            self._inc(S.LISTING_EMPTY)
        chain, page_number = response.meta.get("chain", response.url), response.meta.get("listing_page", 1)
        fresh, stop = walk.entries(chain, listing.entries)
        yield from self._follow_all([e.url for e in fresh], self.parse_article)
        if listing.next_page and walk.page_on(response.url, page_number, stop):
            yield from self._follow_all([listing.next_page], self.parse_listing,
                                        meta={"chain": chain, "listing_page": page_number + 1})

    # --- articles -----------------------------------------------------------------------
    def parse_article(self, response: Response, pages: tuple[ArticlePage, ...] = ()) -> list[Any]:
        return [*self._article_outputs(response, pages), *self._from_backlog(1)]  # a list: see parse_listing

    def _from_backlog(self, count: int) -> Iterator[Request]:
        urls = self.ledger.scratch.pop(count)
        if self.policy.mode != "check":
            return self._follow_all(urls, self.parse_article)
        known = [url for url in urls if self.policy.lookup(url) is not None]  # pushed by to_check
        return chain(self._check_all(known), self._follow_all([u for u in urls if u not in known], self.parse_article))

    def on_idle(self) -> None:
        """Nothing in flight (errors and non-articles pull nothing): the next backlog batch."""
        for request in (requests := list(self._from_backlog(BACKLOG_IN_FLIGHT))):
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def _article_outputs(self, response: Response, pages: tuple[ArticlePage, ...]) -> Iterator[Any]:
        ledger = self.ledger
        url = self.origins.to_canonical(response.url)
        if not_modified(ledger, response):  # a conditional check: unchanged since we last saw it
            ledger.still_there(response.meta["validate"])
            return
        try:
            page = article_page(response, url, first=not pages)
        except LaterPage as later:  # landed on /<slug>/N/: the post starts at its first page
            self._inc(S.skipped(later.reason))
            yield from self._follow_all([later.first_url or response.url], self.parse_article)
            return
        except NotHtml:
            ledger.not_html(response.url, response.headers.get("Content-Type"))
            return
        except NotAnArticle as exc:
            # (what a redirect led to — the home page, a category — is no outcome of its own)
            redirected = self._redirected_from(response.meta) - {url}
            ledger.no_article(redirected or {url}, exc.reason, str(exc), response.url)
            if exc.reason not in BROKEN_PAGE_REASONS:  # an article of the dataset became this page
                yield from self._gone(redirected, "redirected")
                yield from self._gone({url}, "not_an_article")
            return
        pages = (*pages, page)
        # URLs that led to page 1 (as linked, before redirects): aliases in the state.
        first_urls = (set(response.meta.get("first_urls", ())) if len(pages) > 1
                      else {page.url, *self._redirected_from(response.meta)})
        next_url = next_page_of_post(pages)
        if next_url is not None:
            request = self._follow(next_url, self.parse_article, cb_kwargs={"pages": pages}, dont_filter=True,
                                   meta={"post_page": len(pages) + 1, "first_urls": sorted(first_urls)})
            if request is not None:
                yield request
                return
        # crawled_at = the fetch time as archived (WARC-Date): reextract rebuilds the same item
        item = load_article(pages, crawled_at=fetched_at(response))
        decision = self.policy.decide(item)
        ledger.article_read(item.url, first_urls, decision)
        # an article of the dataset under another URL (same post id, or redirected): moved
        if (moved := ledger.gone(self.policy.moved(item, first_urls, utcnow()))) is not None:
            yield moved
        if decision == EMIT:
            yield item

    # --- failures -----------------------------------------------------------------------
    def on_robots_error(self, failure: Failure) -> Iterator[Request]:
        """robots.txt unavailable (not a failed page: the robots middleware goes on without
        its rules): read the default sitemap index instead of its ``Sitemap:`` lines."""
        logger.warning("robots.txt unavailable (%s): using the default sitemap index", failure.getErrorMessage())
        self._inc(S.skipped("robots_unavailable"))
        yield from self._ask_sitemaps([self.origins.canonical + DEFAULT_SITEMAP_INDEX])

    def on_feed_error(self, failure: Failure) -> None:
        feed_error(self.ledger, self.policy, failure)

    def on_error(self, failure: Failure) -> list[Tombstone]:
        """Expected trouble (dead link, refusal, failure after retries): the run records it;
        an article of the dataset that answers 404/410 is gone (its tombstone)."""
        request_error(self.ledger, failure)
        response = getattr(failure.value, "response", None)
        request = getattr(failure, "request", None)
        if response is None or request is None or not S.is_dead_status(response.status):
            return []
        return self._gone(self._redirected_from(request.meta, request.url), f"http_{response.status}")
