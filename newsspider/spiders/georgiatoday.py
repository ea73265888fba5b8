"""The ``georgiatoday`` spider: routing only.

It decides what to fetch next — home page, category archives from the site's menus and
their pagination, Yoast post sitemaps, the feed, article pages and the further pages of
multi-page posts — hands each response to ``newsspider.extraction``, and tells the run
(``newsspider.crawl.run.Run``) what it found; the run answers what is wanted.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from twisted.python.failure import Failure

from newsspider import site
from newsspider.crawl import stats as S
from newsspider.crawl.run import MODES, Run, RunExtension
from newsspider.extraction import ArticlePage, NotAnArticle, page_selector
from newsspider.extraction.feed import parse_feed
from newsspider.extraction.listing import parse_listing
from newsspider.extraction.loader import load_article
from newsspider.extraction.sitemap import is_post_sitemap, parse_sitemap, robots_sitemaps
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: Politeness protects someone else's server: a mirror on this machine is crawled at
#: full speed unless the command line says otherwise (robots.txt is still obeyed).
LOCAL_MIRROR_SETTINGS = {"DOWNLOAD_DELAY": 0.0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
#: ``NotAnArticle`` reasons that mean "a post, but unreadable": pending, asked again later.
BROKEN_PAGE_REASONS = frozenset({"truncated_page", "no_content_container", "no_title_heading"})
#: Where Yoast (and WordPress core, redirecting) serve the sitemap index.
DEFAULT_SITEMAP_INDEX = "/sitemap_index.xml"
#: Body classes of WordPress listing pages (home, archives).
LISTING_BODY_CLASSES = frozenset({"home", "blog", "archive", "category", "tag", "paged"})
ARGUMENTS = ("base_url", "mode", "since")


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback IP address (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_since(value: str | None) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"since must be a date YYYY-MM-DD, got {value!r}") from None


class GeorgiaTodaySpider(scrapy.Spider):
    """Crawl georgiatoday.ge (or a mirror of it at ``base_url``) into article items."""

    name = site.NAME
    canonical_origin = site.ORIGIN

    @classmethod
    def check_arguments(
        cls, base_url: str | None = None, mode: str | None = None, since: str | None = None, **others: Any
    ) -> tuple[OriginMap, str, date | None]:
        """The spider arguments, parsed; ``ValueError`` says what is accepted (the crawl
        command turns it into a usage error before anything starts).  Names starting with
        ``_`` belong to the scheduler (scrapyd's ``_job``)."""
        unknown = sorted(k for k in others if not k.startswith("_"))
        if unknown:
            raise ValueError(f"unknown argument {unknown[0]!r}; the arguments are {', '.join(ARGUMENTS)}")
        try:
            origins = OriginMap(cls.canonical_origin, (base_url or cls.canonical_origin).rstrip("/"))
        except ValueError:
            example = "http://127.0.0.1:8000"
            raise ValueError(f"base_url must be an http(s) URL such as {example}, got {base_url!r}") from None
        chosen = (mode or "incremental").strip().lower()
        if chosen not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        return origins, chosen, parse_since(since)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> GeorgiaTodaySpider:
        # -s NEWSSPIDER_BASE_URL=… gives tools without spider arguments (scrapy check) a mirror.
        kwargs.setdefault("base_url", crawler.settings.get("NEWSSPIDER_BASE_URL") or None)
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._relax_for_local_mirror(crawler.settings)
        return spider

    def _relax_for_local_mirror(self, settings: Settings) -> None:
        """``base_url`` on a loopback address: politeness delays off, except where the
        command line (or the spider's caller) set them; settings are not frozen yet here."""
        if not is_loopback(urlsplit(self.origins.fetch).hostname or "") or settings.frozen:
            return
        relaxed = {}
        for name, value in LOCAL_MIRROR_SETTINGS.items():
            if (settings.getpriority(name) or 0) <= SETTINGS_PRIORITIES["project"]:
                settings.set(name, value, priority="spider")
                relaxed[name] = value
        if relaxed:
            logger.info("base_url %s is on this machine: %s (set them with -s to change)", self.origins.fetch,
                        ", ".join(f"{k}={v}" for k, v in relaxed.items()))

    def __init__(self, base_url: str | None = None, mode: str | None = None, since: str | None = None,
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origins, self.mode, self.since = self.check_arguments(base_url, mode, since)
        self.allowed_domains = [urlsplit(self.origins.fetch).hostname or ""]
        self._chains: dict[str, set[str]] = {}
        self._categories_followed: set[str] = set()
        self._article_requests: set[str] = set()
        self._run: Run | None = None

    @property
    def run(self) -> Run:
        """The crawl's run (a bare one when the spider is used without a crawl: tests, tools)."""
        if self._run is None:
            try:
                found = RunExtension.of(self.crawler)
            except RuntimeError:  # no extension manager: a spider built alone
                found = None
            self._run = found or Run(settings=self.crawler.settings, stats=self.crawler.stats, origins=self.origins,
                                     mode=self.mode, since=self.since)
        return self._run

    # --- helpers ------------------------------------------------------------------------
    def _follow(self, url: str, callback: Any, **kwargs: Any) -> Request | None:
        """A request for a site link (fetched from ``base_url``), None for off-site links."""
        if not self.origins.is_site(url):
            self.run._inc(S.LINKS_OFFSITE)
            return None
        try:
            target = self.origins.to_fetch(url)
        except ValueError:
            logger.info("Invalid link skipped: %r", url)
            self.run._inc(S.LINKS_INVALID)
            return None
        if callback == self.parse_article and not kwargs.get("dont_filter"):
            # An article is linked from several listings and the sitemap: yield it once
            # (Scrapy's dupefilter would drop the repeats, after building each request).
            if target in self._article_requests:
                return None
            self._article_requests.add(target)
        kwargs.setdefault("errback", self.on_error)
        return Request(target, callback=callback, **kwargs)

    def _redirected_from(self, response: Response) -> set[str]:
        """Canonical forms of the site URLs this response was redirected from."""
        return {self.origins.to_canonical(u) for u in response.meta.get("redirect_urls", ())
                if self.origins.is_site(u)}

    # --- entry points -------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        run = self.run
        if run.stopping:
            return
        pending = run.begin(self.origins, self.mode, self.since)
        home = self._follow(self.origins.canonical + "/", self.parse_listing, meta={"start_page": "home"})
        if home is not None:
            yield home
        retries = self.settings.getint("NEWSSPIDER_ROBOTS_RETRY_TIMES", 2)
        yield Request(self.origins.fetch + "/robots.txt", callback=self.parse_robots, errback=self.on_robots_error,
                      priority=-10, meta={"max_retry_times": retries})
        if run.incremental:
            # Optional: the sitemaps and listings lead to the same posts.  One retry, none
            # while it keeps failing run after run.
            tries = 0 if run.feed_failing_since else self.settings.getint("NEWSSPIDER_OPTIONAL_RETRY_TIMES", 1)
            feed = self._follow(self.origins.canonical + "/feed/", self.parse_feed, errback=self.on_feed_error,
                                meta={"max_retry_times": tries})
            if feed is not None:
                yield feed
        for page in pending:
            request = self._follow(page.url, self.parse, meta={"recheck": page.url})
            if request is not None:
                yield request

    def parse(self, response: Response, **kwargs: Any) -> list[Any]:
        """Route any page by its type: robots.txt, a sitemap, the feed, a listing or an
        article (``scrapy parse --spider georgiatoday <url>``; pages asked again).

        @url https://georgiatoday.ge/north-korea-confirms-deployment-of-troops-to-support-russia-in-ukraine-war/
        @mirror
        @returns items 1 1
        @returns requests 0 0
        @scrapes url post_id title authors published categories body language source crawled_at
        """
        self.run.answered(response.meta.get("recheck", ""))
        path = urlsplit(response.url).path
        head = response.body[:512].lstrip().lower()
        if path.endswith("/robots.txt"):
            return list(self.parse_robots(response))
        if head.startswith(b"<?xml") or head.startswith((b"<urlset", b"<sitemapindex", b"<rss")):
            return list(self.parse_feed(response) if b"<rss" in head else self.parse_sitemap(response))
        if isinstance(response, TextResponse):
            classes = set((page_selector(response).xpath("/html/body/@class").get() or "").split())
            if classes & LISTING_BODY_CLASSES:
                return self.parse_listing(response)
        return self.parse_article(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """``/feed/``: the newest posts; fetch those not in the state (incremental)."""
        try:
            entries = parse_feed(response.body, response.url)
        except ValueError as exc:
            self.run.feed_failed(f"Not a feed: {response.url} ({exc})")
            return
        self.run.feed_ok = True
        for entry in entries:
            if self.run.too_old(entry.published) or not self.run.unseen(entry.url):
                continue
            self.run._inc(S.FEED_NEW)
            request = self._follow(entry.url, self.parse_article)
            if request is not None:
                yield request

    def parse_robots(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        sitemaps = robots_sitemaps(response.body, response.url) or [self.origins.canonical + DEFAULT_SITEMAP_INDEX]
        for url in sitemaps:
            request = self._follow(url, self.parse_sitemap, priority=-10)
            if request is not None:
                yield request

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        try:
            kind, entries = parse_sitemap(response.body, response.url)
        except ValueError as exc:
            logger.warning("Not a sitemap: %s (%s)", response.url, exc)
            self.run._inc(S.skipped("bad_sitemap"))
            return
        for entry in entries:
            if kind == "sitemapindex":
                request = (self._follow(entry.url, self.parse_sitemap, priority=-10)
                           if is_post_sitemap(entry.url) else None)
            else:
                self.run._inc(S.SITEMAP_ENTRIES)
                wanted = self.run.wanted_from_sitemap(entry.url, entry.lastmod)
                request = self._follow(entry.url, self.parse_article) if wanted else None
            if request is not None:
                yield request

    # --- listings -----------------------------------------------------------------------
    def parse_listing(self, response: Response) -> list[Request]:
        """A home, category or pagination page: categories, articles, the next page.

        @url https://georgiatoday.ge/category/politics/
        @mirror
        @returns items 0 0
        @returns requests 2
        """
        # A list, not a generator: a suspended generator would keep the page's parsed
        # tree alive until Scrapy resumes it (~1 MB per page in flight).
        if response.meta.get("start_page"):
            self.run.start_pages[response.meta["start_page"]] = "ok"
        return list(self._listing_outputs(response))

    def _listing_outputs(self, response: Response) -> Iterator[Request]:
        run = self.run
        if not isinstance(response, TextResponse):
            run._inc(S.skipped("not_html"))
            return
        listing = parse_listing(page_selector(response), response.url)
        run._inc(S.PAGES_LISTING)
        for category in listing.categories:
            if category in self._categories_followed:
                continue  # every page repeats the menus: follow each category once
            self._categories_followed.add(category)
            if run.incremental and not run.unseen(category):
                continue  # a dead category link of an earlier run
            request = self._follow(category, self.parse_listing)
            if request is not None:
                yield request
        if not listing.entries and listing.says_empty:
            logger.info("Listing says it has no posts: %s", response.url)
            run._inc(S.LISTING_NO_POSTS)
        elif not listing.entries:
            # Posts were expected here: the markup may have changed under our selectors.
            logger.warning("Listing page without article links: %s", response.url)
            run._inc(S.LISTING_EMPTY)
        # Links already seen in this listing's page chain: a pagination trap repeats them.
        chain = self._chains.setdefault(response.meta.get("chain", response.url), set())
        new = [e for e in listing.entries if e.url not in chain]
        chain.update(e.url for e in listing.entries)
        fresh = [e for e in new if not run.too_old(e.published)]
        known = False
        if run.incremental:
            # Stop paging at the first page without anything new: the rest is in the state.
            unseen = [e for e in fresh if run.unseen(e.url)]
            known = len(unseen) < len(fresh)
            fresh = unseen
        for entry in fresh:
            request = self._follow(entry.url, self.parse_article)
            if request is not None:
                yield request
        if not listing.next_page:
            return
        if not fresh:
            reason = "known" if known else "since" if new else "no_new_links"
            logger.info("Stopped paging %s (%s)", response.url, reason)
            run._inc(S.listing_stopped(reason))
            return
        # Hard cap per chain, whatever the pages look like (a trap inventing new links).
        page_number = response.meta.get("listing_page", 1)
        limit = self.settings.getint("NEWSSPIDER_MAX_LISTING_PAGES", 5000)
        if limit and page_number >= limit:
            logger.warning("Stopped paging %s (NEWSSPIDER_MAX_LISTING_PAGES=%d reached)", response.url, limit)
            run._inc(S.LISTING_STOPPED_MAX_PAGES)
            return
        request = self._follow(listing.next_page, self.parse_listing,
                               meta={"chain": response.meta.get("chain", response.url),
                                     "listing_page": page_number + 1})
        if request is not None:
            yield request

    # --- articles -----------------------------------------------------------------------
    def parse_article(self, response: Response, pages: tuple[ArticlePage, ...] = ()) -> list[Any]:
        return list(self._article_outputs(response, pages))  # a list: see parse_listing

    def _article_outputs(self, response: Response, pages: tuple[ArticlePage, ...]) -> Iterator[Any]:
        run = self.run
        if not isinstance(response, TextResponse):
            logger.warning("Not an HTML page: %s (%s)", response.url, response.headers.get("Content-Type"))
            run._inc(S.skipped("not_html"))
            return
        page = ArticlePage.from_response(response, self.origins.to_canonical(response.url))
        if not pages:
            try:
                page.check_article()
            except NotAnArticle as exc:
                urls = {page.url, *self._redirected_from(response), *response.meta.get("first_urls", ())}
                if exc.reason in BROKEN_PAGE_REASONS:
                    run.broken(urls, exc.reason, response.url)
                else:
                    logger.info("Not an article: %s (%s)", response.url, exc)
                    run.not_article(urls, exc.reason)
                return
            if page.page_number() > 1:
                # Landed on /<slug>/N/: the post starts at its first page.
                candidates = page.url_candidates()
                first = self._follow(candidates[-1] if candidates else response.url, self.parse_article)
                run._inc(S.skipped("later_page"))
                if first is not None:
                    yield first
                return
        pages = (*pages, page)
        # URLs that led to page 1 (as linked, before redirects): aliases in the state.
        first_urls = (set(response.meta.get("first_urls", ())) if len(pages) > 1
                      else {page.url, *self._redirected_from(response)})
        next_url = self._next_page_of_post(pages)
        if next_url is not None:
            request = self._follow(next_url, self.parse_article, cb_kwargs={"pages": pages}, dont_filter=True,
                                   meta={"post_page": len(pages) + 1, "first_urls": sorted(first_urls)})
            if request is not None:
                yield request
                return
        item = load_article(pages, self.origins, crawled_at=datetime.now(timezone.utc))
        record = run.lookup(item.url)
        if record is None and run.too_old(item.published):
            run._inc(S.skipped("before_since"))
            return
        run._inc(S.PAGES_ARTICLE)
        run.led_to(item.url, first_urls)
        if not run.already_exported(item, record):
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
    def on_robots_error(self, failure: Failure) -> Iterator[Request]:
        """robots.txt unavailable (not a failed page: the robots middleware goes on without
        its rules): read the default sitemap index instead of its ``Sitemap:`` lines."""
        logger.warning("robots.txt unavailable (%s): using the default sitemap index", failure.getErrorMessage())
        self.run._inc(S.skipped("robots_unavailable"))
        request = self._follow(self.origins.canonical + DEFAULT_SITEMAP_INDEX, self.parse_sitemap, priority=-10)
        if request is not None:
            yield request

    def on_feed_error(self, failure: Failure) -> None:
        response = getattr(failure.value, "response", None)
        why = f"HTTP {response.status}" if response is not None else failure.getErrorMessage()
        self.run.feed_failed(f"The feed {self.origins.fetch}/feed/ failed ({why})")

    def on_error(self, failure: Failure) -> None:
        """Expected trouble (dead link, refusal, failure after retries): the run records it."""
        run = self.run
        request: Request | None = getattr(failure, "request", None)
        response = getattr(failure.value, "response", None)
        fetched = response.url if response is not None else request.url if request is not None else "?"
        url = self.origins.to_canonical(fetched) if self.origins.is_site(fetched) else fetched
        pending_url = (request.meta.get("recheck") if request is not None else None) or url
        start_page = request.meta.get("start_page") if request is not None else None
        if request is not None and request.meta.get("post_page"):
            first = request.meta.get("first_urls") or [url]
            run.broken(set(first), "multipage_incomplete", f"{request.url} (page {request.meta['post_page']})")
            return
        if response is not None:
            if start_page:
                run.start_pages[start_page] = f"http_{response.status}"
            if S.is_dead_status(response.status):
                logger.warning("Dead link (HTTP %s): %s", response.status, response.url)
                run._inc(S.failed(f"http_{response.status}"))
                run.dead(pending_url, response.status)
            else:
                run.request_failed(pending_url, f"http_{response.status}", S.failed(f"http_{response.status}"),
                                   f"Request failed (HTTP {response.status}): {response.url}; asked again next run")
        elif failure.check(IgnoreRequest):
            if start_page:
                run.start_pages[start_page] = "robots" if "robots" in failure.getErrorMessage().lower() else "ignored"
            logger.info("Request not sent: %s (%s)", fetched, failure.getErrorMessage())
        else:
            name = failure.type.__name__ if failure.type else "unknown"
            if start_page:
                run.start_pages[start_page] = f"error:{failure.getErrorMessage()}"
            run.request_failed(pending_url, name, S.failed(name),
                               f"Request failed: {fetched} ({failure.getErrorMessage()}); asked again next run")
