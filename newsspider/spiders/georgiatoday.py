"""The ``georgiatoday`` spider: routing only.

It decides what to fetch next — home page, category archives from the site's menus and
their pagination, Yoast post sitemaps, article pages and the further pages of
multi-page posts — and hands each response to ``newsspider.extraction``.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import scrapy
from itemadapter import ItemAdapter
from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from twisted.python.failure import Failure

from newsspider.crawl.archive import fetched_at
from newsspider.crawl.state import ArticleRecord, State, newer
from newsspider.crawl.stats import STAT, is_dead_status
from newsspider.extraction import ArticlePage, NotAnArticle, page_selector
from newsspider.extraction.feed import parse_feed
from newsspider.extraction.listing import parse_listing
from newsspider.extraction.loader import load_article
from newsspider.extraction.sitemap import is_post_sitemap, parse_sitemap, robots_sitemaps
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

MODES = ("full", "incremental")
#: Politeness protects someone else's server: a mirror on this machine is crawled at
#: full speed unless the command line says otherwise (robots.txt is still obeyed).
LOCAL_MIRROR_SETTINGS = {"DOWNLOAD_DELAY": 0.0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
#: ``NotAnArticle`` reasons that mean "a post, but unreadable": dropped (WARNING, counted,
#: judged by the health check), not skipped.  The page type check comes first, so these
#: only ever concern pages whose body class says they are posts.
BROKEN_PAGE_REASONS = frozenset({"truncated_page", "no_content_container", "no_title_heading"})
#: Where Yoast (and WordPress core, redirecting) serve the sitemap index.
DEFAULT_SITEMAP_INDEX = "/sitemap_index.xml"


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

    name = "georgiatoday"
    canonical_origin = "https://georgiatoday.ge"

    @classmethod
    def check_arguments(
        cls, base_url: str | None = None, mode: str | None = None, since: str | None = None, **_: Any
    ) -> tuple[OriginMap, str, date | None]:
        """The spider arguments, parsed; ``ValueError`` says what is accepted (the crawl
        command turns it into a usage error before anything starts)."""
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

    def __init__(
        self,
        base_url: str | None = None,
        mode: str | None = None,
        since: str | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.origins, self.mode, self.since = self.check_arguments(base_url, mode, since)
        self.allowed_domains = [urlsplit(self.origins.fetch).hostname or ""]
        self._chains: dict[str, set[str]] = {}
        self._categories_followed: set[str] = set()
        self._article_requests: set[str] = set()
        # Bookkeeping of this run, saved in the state by newsspider.crawl.run.CronRun.
        self.sitemap_lastmod: dict[str, str] = {}  # canonical url -> sitemap <lastmod>
        self.aliases: dict[str, set[str]] = {}  # item url -> other URLs that led to it
        self.outcomes: dict[str, str] = {}  # url -> dead:<status> / not_article / dropped:<reason>
        self.unchanged: set[str] = set()  # recorded articles fetched again, unchanged
        self.rechecked: set[str] = set()  # earlier failures answered this time
        # Set by CronRun: start of an earlier run that never finished (killed), or None.
        self.resume_after: str | None = None
        # Days looked back by an incremental first run on an empty state (else None).
        self.initial_window: int | None = None

    # --- helpers ------------------------------------------------------------------------
    def _inc(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STAT}/{key}", count)

    def _follow(self, url: str, callback: Any, **kwargs: Any) -> Request | None:
        """A request for a site link (fetched from ``base_url``), None for off-site links."""
        if not self.origins.is_site(url):
            self._inc("links/offsite")
            return None
        try:
            target = self.origins.to_fetch(url)
        except ValueError:
            logger.info("Invalid link skipped: %r", url)
            self._inc("links/invalid")
            return None
        if callback == self.parse_article and not kwargs.get("dont_filter"):
            # An article is linked from several listings and the sitemap: yield it once
            # (Scrapy's dupefilter would drop the repeats, after building each request).
            if target in self._article_requests:
                return None
            self._article_requests.add(target)
        return Request(target, callback=callback, errback=self.on_error, **kwargs)

    def _too_old(self, published: str | None) -> bool:
        return bool(self.since and published and published[:10] < self.since.isoformat())

    # --- state (incremental runs) -------------------------------------------------------
    @property
    def crawl_state(self) -> State | None:
        return State.for_crawler(self.crawler)

    def _incremental(self) -> bool:
        return self.mode == "incremental"

    def _unseen(self, url: str) -> bool:
        """Neither a recorded article nor a URL that already gave no article."""
        state = self.crawl_state
        canonical = self.origins.to_canonical(url)
        return state is None or (not state.known(canonical) and state.outcome(canonical) is None)

    def _redirected_from(self, response: Response) -> set[str]:
        """Canonical forms of the site URLs this response was redirected from."""
        return {self.origins.to_canonical(u) for u in response.meta.get("redirect_urls", ())
                if self.origins.is_site(u)}

    def _set_since(self) -> None:
        """Incremental runs without ``since``: the state's horizon, or on an empty state
        the last ``NEWSSPIDER_INITIAL_WINDOW_DAYS`` days."""
        state = self.crawl_state
        horizon = state.get_meta("horizon") if state is not None else None
        if self.since is None and self._incremental():
            if state is None or (horizon is None and state.is_empty()):
                days = self.settings.getint("NEWSSPIDER_INITIAL_WINDOW_DAYS", 7)
                self.since = (datetime.now(timezone.utc) - timedelta(days=days)).date()
                self.initial_window = days
                logger.info("Empty state: incremental run looks back %d days (since %s)", days, self.since)
            elif horizon:
                self.since = date.fromisoformat(horizon)
        if state is not None and horizon is None and state.is_empty():
            state.set_meta("horizon", self.since.isoformat() if self.since else "")

    # --- entry points -------------------------------------------------------------------
    async def start(self) -> AsyncIterator[Request]:
        if getattr(self.crawler, "newsspider_locked", False):
            logger.warning("Another crawl holds the state lock: nothing to do")
            return
        self._set_since()
        home = self._follow(self.origins.canonical + "/", self.parse_listing)
        if home is not None:
            yield home
        retries = self.settings.getint("NEWSSPIDER_ROBOTS_RETRY_TIMES", 2)
        robots = Request(self.origins.fetch + "/robots.txt", callback=self.parse_robots,
                         errback=self.on_robots_error, priority=-10, meta={"max_retry_times": retries})
        yield robots
        if self._incremental():
            feed = self._follow(self.origins.canonical + "/feed/", self.parse_feed)
            if feed is not None:
                yield feed
        state = self.crawl_state
        for url in state.pending_failed() if state is not None else ():
            request = self._follow(url, self.parse_recheck, meta={"recheck": url})
            if request is not None:
                yield request

    def parse_recheck(self, response: Response) -> Iterator[Any]:
        """A URL that failed after all retries in an earlier run, answered now."""
        self.rechecked.add(response.meta["recheck"])
        path = self.origins.to_canonical(response.url).split("://", 1)[1].partition("/")[2]
        if not path or path.startswith("category/"):
            yield from self.parse_listing(response)
        else:
            yield from self.parse_article(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        """``/feed/``: the newest posts; fetch those not in the state (incremental)."""
        try:
            entries = parse_feed(response.body, response.url)
        except ValueError as exc:
            logger.warning("Not a feed: %s (%s)", response.url, exc)
            self._inc("skipped/bad_feed")
            return
        for entry in entries:
            if self._too_old(entry.published) or not self._unseen(entry.url):
                continue
            self._inc("feed/new")
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
            self._inc("skipped/bad_sitemap")
            return
        for entry in entries:
            if kind == "sitemapindex":
                if is_post_sitemap(entry.url):
                    request = self._follow(entry.url, self.parse_sitemap, priority=-10)
                    if request is not None:
                        yield request
            elif self._wanted_from_sitemap(entry.url, entry.lastmod):
                request = self._follow(entry.url, self.parse_article)
                if request is not None:
                    yield request

    def _wanted_from_sitemap(self, url: str, lastmod: str | None) -> bool:
        """Full mode: every post within ``since``.  Incremental: a recorded article only
        when its ``lastmod`` is newer than what the state holds; an unknown one within
        ``since`` (or one that gave no article, once its ``lastmod`` is newer)."""
        canonical = self.origins.to_canonical(url)
        if lastmod:
            self.sitemap_lastmod[canonical] = lastmod
        state = self.crawl_state
        if not self._incremental() or state is None:
            return not self._too_old(lastmod)
        record = state.lookup(canonical)
        if record is not None:
            if newer(lastmod, record.modified, record.lastmod, record.published):
                self._inc("sitemap/changed")
                return True
            return False
        outcome = state.outcome(canonical)
        if outcome is not None:
            return newer(lastmod, outcome[1])
        return not self._too_old(lastmod)

    # --- listings -----------------------------------------------------------------------
    def parse_listing(self, response: Response) -> list[Request]:
        # A list, not a generator: a suspended generator would keep the page's parsed
        # tree alive until Scrapy resumes it (~1 MB per page in flight).
        return list(self._listing_outputs(response))

    def _listing_outputs(self, response: Response) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            self._inc("skipped/not_html")
            return
        listing = parse_listing(page_selector(response), response.url)
        self._inc("pages/listing")
        for category in listing.categories:
            if category in self._categories_followed:
                continue  # every page repeats the menus: follow each category once
            self._categories_followed.add(category)
            if self._incremental() and not self._unseen(category):
                continue  # a dead category link of an earlier run
            request = self._follow(category, self.parse_listing)
            if request is not None:
                yield request
        if not listing.entries and listing.says_empty:
            logger.info("Listing says it has no posts: %s", response.url)
            self._inc("listing/no_posts")
        elif not listing.entries:
            # Posts were expected here: the markup may have changed under our selectors.
            logger.warning("Listing page without article links: %s", response.url)
            self._inc("listing/empty")
        # Links already seen in this listing's page chain: a pagination trap repeats them.
        chain = self._chains.setdefault(response.meta.get("chain", response.url), set())
        new = [e for e in listing.entries if e.url not in chain]
        chain.update(e.url for e in listing.entries)
        fresh = [e for e in new if not self._too_old(e.published)]
        known = False
        if self._incremental():
            # Stop paging at the first page without anything new: the rest is in the state.
            unseen = [e for e in fresh if self._unseen(e.url)]
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
            self._inc(f"listing/stopped_{reason}")
            return
        # Hard cap per chain, whatever the pages look like (a trap inventing new links).
        page_number = response.meta.get("listing_page", 1)
        limit = self.settings.getint("NEWSSPIDER_MAX_LISTING_PAGES", 5000)
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
    def parse_article(self, response: Response, pages: tuple[ArticlePage, ...] = ()) -> list[Any]:
        return list(self._article_outputs(response, pages))  # a list: see parse_listing

    def _article_outputs(self, response: Response, pages: tuple[ArticlePage, ...]) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            logger.warning("Not an HTML page: %s (%s)", response.url, response.headers.get("Content-Type"))
            self._inc("skipped/not_html")
            return
        page = ArticlePage.from_response(response, self.origins.to_canonical(response.url))
        if not pages:
            try:
                page.check_article()
            except NotAnArticle as exc:
                if exc.reason in BROKEN_PAGE_REASONS:
                    logger.warning("Broken article page dropped: %s (%s)", response.url, exc)
                    self._inc(f"dropped/{exc.reason}")
                    for url in {page.url, *self._redirected_from(response)}:
                        self.outcomes[url] = f"dropped:{exc.reason}"
                else:
                    logger.info("Not an article: %s (%s)", response.url, exc)
                    self._inc(f"skipped/{exc.reason}")
                    for url in {page.url, *self._redirected_from(response)}:
                        self.outcomes[url] = "not_article"
                return
            if page.page_number() > 1:
                # Landed on /<slug>/N/: the post starts at its first page.
                candidates = page.url_candidates()
                first = self._follow(candidates[-1] if candidates else response.url, self.parse_article)
                self._inc("skipped/later_page")
                if first is not None:
                    yield first
                return
        pages = (*pages, page)
        # URLs that led to page 1 (as linked, before redirects): aliases in the state.
        first_urls = (set(response.meta.get("first_urls", ())) if len(pages) > 1
                      else {page.url, *self._redirected_from(response)})
        next_url = self._next_page_of_post(pages)
        if next_url is not None:
            request = self._follow(next_url, self.parse_article, cb_kwargs={"pages": pages}, dont_filter=True)
            if request is not None:
                request.meta["post_page"] = len(pages) + 1
                request.meta["first_urls"] = sorted(first_urls)
                yield request
                return
        # crawled_at = fetch time of the post's last page, as archived (WARC-Date): reextract
        # rebuilds the same item from the archive.
        item = load_article(pages, self.origins, crawled_at=fetched_at(response) or datetime.now(timezone.utc))
        state = self.crawl_state
        record = state.lookup(item.url) if state is not None and item.url else None
        if record is None and self._too_old(item.published):
            self._inc("skipped/before_since")
            return
        self._inc("pages/article")
        if item.url and first_urls - {item.url}:
            self.aliases.setdefault(item.url, set()).update(first_urls - {item.url})
        if (
            record is not None
            and self._skip_unchanged(record)
            and State.compare(ItemAdapter(item), record) == "unchanged"
        ):
            # Known and unchanged: not emitted again (outputs hold each version once).
            self.unchanged.add(record.url)
            self._inc("unchanged_skipped")
            return
        yield item

    def _skip_unchanged(self, record: ArticleRecord) -> bool:
        """Incremental runs emit only new and changed articles; a full run emits every
        article, except those an interrupted earlier run already exported (resume)."""
        if self._incremental():
            return True
        return bool(self.resume_after and record.last_seen >= self.resume_after)

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
        self._inc("skipped/robots_unavailable")
        request = self._follow(self.origins.canonical + DEFAULT_SITEMAP_INDEX, self.parse_sitemap, priority=-10)
        if request is not None:
            yield request

    def on_error(self, failure: Failure) -> None:
        """Expected trouble (dead link, timeout after retries): WARNING, counted."""
        request = failure.request if hasattr(failure, "request") else None
        response = getattr(failure.value, "response", None)
        if response is not None:
            logger.warning("Dead link (HTTP %s): %s", response.status, response.url)
            self._inc(f"failed/http_{response.status}")
            if is_dead_status(response.status):
                self.outcomes[self.origins.to_canonical(response.url)] = f"dead:{response.status}"
                if request is not None and request.meta.get("recheck"):
                    self.rechecked.add(request.meta["recheck"])
        else:
            logger.warning("Request failed: %s (%s)", getattr(request, "url", "?"), failure.getErrorMessage())
            self._inc(f"failed/{failure.type.__name__ if failure.type else 'unknown'}")
        if request is not None and request.meta.get("post_page"):
            logger.warning("Multi-page post incomplete, not emitted: %s", request.url)
            self._inc("dropped/multipage_incomplete")
