"""Downloader middlewares: retries with backoff, politeness under pressure, robots.txt.

``BackoffRetryMiddleware`` replaces Scrapy's ``RetryMiddleware``:

* retries ``RETRY_HTTP_CODES`` (429, 5xx, 408 …) and ``RETRY_EXCEPTIONS`` (timeouts,
  refused/dropped connections, short bodies) up to ``RETRY_TIMES`` times;
* waits ``NEWSSPIDER_RETRY_BASE_DELAY * 2**(n-1)`` seconds before retry n (±
  ``NEWSSPIDER_RETRY_JITTER``, at most ``NEWSSPIDER_RETRY_MAX_DELAY``), and never less
  than the response's ``Retry-After`` (seconds or an HTTP date), which is itself capped
  by ``NEWSSPIDER_RETRY_AFTER_MAX``.  The wait is an ``await`` on the reactor's clock
  inside the middleware: nothing blocks, other requests keep flowing;
* when the site keeps answering 429/503 to *retries* (at least ``NEWSSPIDER_SLOWDOWN_RATIO``
  of the last ``NEWSSPIDER_SLOWDOWN_WINDOW`` answers to retries and first-try successes of a
  download slot; a first-try 429/503 alone only delays its own request), it raises that
  slot's download delay (doubling, up to ``NEWSSPIDER_SLOWDOWN_MAX_DELAY``, at most once
  per second or per current delay, so a burst of answers to requests already in flight
  counts once) so the whole site is fetched more slowly; the extra delay halves again on
  each healthy response;
* a request whose retries are exhausted is logged once at WARNING, counted under
  ``newsspider/failed/retries_exhausted``, recorded in the crawl state (issue 3:
  ``State.record_failed``) so the next run tries it again, and listed at the end of the
  run.  The response/failure then goes on to the spider's errback as usual.

``PoliteRobotsTxtMiddleware`` replaces Scrapy's ``RobotsTxtMiddleware``: same rules, but
it honours ``Crawl-delay`` (the slot delay never drops below it, capped by
``NEWSSPIDER_CRAWL_DELAY_MAX``), and a robots.txt that cannot be fetched (5xx or network
errors after retries) is a WARNING, not an ERROR: the crawl goes on without its rules.

Expected trouble is never logged at ERROR: ERROR means a bug of ours.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.http import HtmlResponse, Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.asyncio import sleep
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import _load_objects
from scrapy.utils.response import get_meta_refresh
from twisted.internet.defer import Deferred

from newsspider.state import State
from newsspider.stats import STAT

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

    from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

THROTTLE_STATUSES = frozenset({429, 503})
#: Most URLs listed by name in the end-of-run log line (all are in the stats and state).
SUMMARY_URLS = 20


def parse_retry_after(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    None when absent or unparseable; never negative."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds and seconds != float("inf") else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


def _late(crawler: Crawler, name: str) -> Any:
    """``crawler.engine``/``crawler.spider``, or None before the crawl has started."""
    try:
        return getattr(crawler, name, None)
    except RuntimeError:
        return None


class SitePoliteness:
    """Per download slot delay floor: robots ``Crawl-delay`` and the 429/503 slowdown.

    One instance per crawler (``SitePoliteness.of(crawler)``), shared by both middlewares.
    The slot delay is kept at least ``floor / (1 - jitter)`` so that even the shortest
    jittered delay respects the floor."""

    MAX_JITTER = 0.2

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.base_delay = settings.getfloat("DOWNLOAD_DELAY")
        self.crawl_delay_max = settings.getfloat("NEWSSPIDER_CRAWL_DELAY_MAX", 30.0)
        self.window = max(1, settings.getint("NEWSSPIDER_SLOWDOWN_WINDOW", 10))
        self.ratio = settings.getfloat("NEWSSPIDER_SLOWDOWN_RATIO", 0.5)
        self.min_throttled = max(1, settings.getint("NEWSSPIDER_SLOWDOWN_MIN_RESPONSES", 3))
        self.start_delay = settings.getfloat("NEWSSPIDER_SLOWDOWN_START_DELAY", 0.5)
        self.max_delay = settings.getfloat("NEWSSPIDER_SLOWDOWN_MAX_DELAY", 5.0)
        self.crawl_delays: dict[str, float] = {}
        self.extra: dict[str, float] = {}
        self.recent: dict[str, deque[bool]] = {}
        self.applied: dict[str, float] = {}
        self.raised_at: dict[str, float] = {}
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def of(cls, crawler: Crawler) -> SitePoliteness:
        found = getattr(crawler, "_newsspider_politeness", None)
        if found is None:
            found = cls(crawler)
            crawler._newsspider_politeness = found  # type: ignore[attr-defined]
        return found

    # --- slot access ----------------------------------------------------------------
    @property
    def _downloader(self) -> Any:
        return getattr(_late(self.crawler, "engine"), "downloader", None)

    def slot_key(self, request: Request) -> str:
        downloader = self._downloader
        if downloader is not None:
            return str(downloader.get_slot_key(request))
        return urlparse_cached(request).hostname or ""

    def floor(self, key: str) -> float:
        return max(self.crawl_delays.get(key, 0.0), self.extra.get(key, 0.0))

    def enforce(self, key: str) -> None:
        """Keep the slot's delay at or above the floor (AutoThrottle may lower it)."""
        downloader = self._downloader
        if downloader is None:
            return
        floor = self.floor(key)
        slot = downloader.slots.get(key)
        per_slot = downloader.per_slot_settings.setdefault(key, {})
        if floor <= 0:
            if slot is not None and self.applied.get(key) is not None and slot.delay == self.applied[key]:
                slot.delay = self.base_delay  # our raise is over; back to the configured delay
            self.applied.pop(key, None)
            per_slot.pop("delay", None)
            per_slot.pop("jitter", None)
            return
        jitter = min(slot.jitter if slot is not None else self.MAX_JITTER, self.MAX_JITTER)
        wanted = floor / (1 - jitter)
        per_slot["delay"] = max(self.base_delay, wanted)
        per_slot["jitter"] = jitter
        if slot is None:
            return
        slot.jitter = min(slot.jitter, self.MAX_JITTER)
        if slot.delay < wanted or (self.applied.get(key) == slot.delay and slot.delay > max(wanted, self.base_delay)):
            slot.delay = max(wanted, self.base_delay)
            self.applied[key] = slot.delay

    def _response_downloaded(self, response: Response, request: Request, **kwargs: Any) -> None:
        self.enforce(self.slot_key(request))

    # --- robots Crawl-delay ---------------------------------------------------------
    def set_crawl_delay(self, key: str, seconds: float) -> None:
        seconds = min(max(0.0, seconds), self.crawl_delay_max)
        self.crawl_delays[key] = seconds
        self.enforce(key)

    # --- 429/503 slowdown -----------------------------------------------------------
    def observe(self, key: str, throttled: bool) -> None:
        """Record one response of the slot and adjust the extra delay."""
        recent = self.recent.setdefault(key, deque(maxlen=self.window))
        recent.append(throttled)
        count = sum(recent)
        before = self.extra.get(key, 0.0)
        if throttled and count >= self.min_throttled and count / len(recent) >= self.ratio:
            now = monotonic()
            if now - self.raised_at.get(key, -1e9) < max(1.0, before):
                return  # answers to requests sent before the last raise: wait for the effect
            self.raised_at[key] = now
            after = min(self.max_delay, max(self.start_delay, before * 2))
            if after != before:
                stats = self.crawler.stats
                if stats is not None:
                    stats.inc_value(f"{STAT}/throttle/slowdowns")
                    stats.max_value(f"{STAT}/throttle/max_delay", after)
                logger.info("Site %s answers 429/503 repeatedly (%d of the last %d responses): "
                            "download delay raised to %.2fs", key, count, len(recent), after)
        elif not throttled and before:
            after = before / 2 if before / 2 >= self.start_delay / 4 else 0.0
            if not after:
                logger.info("Site %s recovered: extra download delay removed", key)
        else:
            return
        self.extra[key] = after
        self.enforce(key)


class BackoffRetryMiddleware:
    """Retries with exponential backoff, jitter and ``Retry-After`` (see module doc)."""

    def __init__(self, crawler: Crawler) -> None:
        settings = crawler.settings
        if not settings.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.max_retry_times = settings.getint("RETRY_TIMES")
        self.retry_http_codes = {int(x) for x in settings.getlist("RETRY_HTTP_CODES")}
        self.priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.exceptions_to_retry = tuple(_load_objects(settings.getlist("RETRY_EXCEPTIONS")))
        self.base_delay = settings.getfloat("NEWSSPIDER_RETRY_BASE_DELAY", 1.0)
        self.max_delay = settings.getfloat("NEWSSPIDER_RETRY_MAX_DELAY", 30.0)
        self.jitter = min(1.0, max(0.0, settings.getfloat("NEWSSPIDER_RETRY_JITTER", 0.5)))
        self.retry_after_max = settings.getfloat("NEWSSPIDER_RETRY_AFTER_MAX", 60.0)
        self.politeness = SitePoliteness.of(crawler)
        self.failed: dict[str, str] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    # --- hooks ------------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
        self.politeness.enforce(self.politeness.slot_key(request))

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        key = self.politeness.slot_key(request)
        throttled = response.status in THROTTLE_STATUSES
        if not throttled or request.meta.get("retry_times", 0) >= 1:
            # Only a retry answered 429/503 again is "repeated" trouble that slows the whole
            # site: a first-try failure is handled by that request's own backoff and
            # Retry-After (a site that fails every first try and serves every retry would
            # otherwise crawl at the maximum delay).
            self.politeness.observe(key, throttled)
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry_after = parse_retry_after(response.headers.get(b"Retry-After"))
        reason = f"HTTP {response.status}"
        return await self._retry(request, reason, retry_after) or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if isinstance(exception, DownloadCancelledError) and "max size" in str(exception):
            self._count("dropped/too_large")
            logger.warning("Page too large, dropped: %s (%s)", request.url, exception)
            raise IgnoreRequest(f"page over DOWNLOAD_MAXSIZE: {exception}")  # a drop, not a failure
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        return await self._retry(request, type(exception).__name__, None)

    # --- retry logic ------------------------------------------------------------------
    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return max(0.0, delay)

    async def _retry(self, request: Request, reason: str, retry_after: float | None) -> Request | None:
        retries = request.meta.get("retry_times", 0) + 1
        max_retries = request.meta.get("max_retry_times", self.max_retry_times)
        if retries > max_retries:
            self._give_up(request, reason, retries - 1)
            return None
        wait = self.backoff(retries, retry_after)
        self._count("retry/count")
        self._count(f"retry/reason/{reason.replace(' ', '_')}")
        if retry_after is not None:
            self._count("retry/retry_after")
        logger.info("Retrying %s in %.1fs (attempt %d of %d): %s%s", request.url, wait, retries + 1,
                    max_retries + 1, reason, f", Retry-After {retry_after:g}s" if retry_after is not None else "")
        if wait > 0:
            await sleep(wait)
        new = request.copy()
        new.meta["retry_times"] = retries
        new.dont_filter = True
        new.priority = request.priority + request.meta.get("priority_adjust", self.priority_adjust)
        return new

    def _give_up(self, request: Request, reason: str, retries: int) -> None:
        if urlparse_cached(request).path == "/robots.txt":  # not a page: the crawl goes on without it
            logger.warning("Gave up on %s after %d retries (%s)", request.url, retries, reason)
            self._count("robotstxt/gave_up")
            return
        url = self._canonical(request.url)
        logger.warning("Gave up on %s after %d retries (%s); recorded for the next run", request.url, retries, reason)
        self._count("failed/retries_exhausted")
        self._count(f"failed/retries_exhausted/{reason.replace(' ', '_')}")
        self.failed[url] = reason
        self._record_state(url, reason)

    def _canonical(self, url: str) -> str:
        origins = getattr(_late(self.crawler, "spider"), "origins", None)
        if origins is not None:
            try:
                return str(origins.to_canonical(url)) if origins.is_site(url) else url
            except ValueError:
                return url
        return url

    def _record_state(self, url: str, reason: str) -> None:
        """Hand the URL to the crawl state (issue 3: ``State.record_failed``) so the next
        run requests it again.  Without a state (disabled, locked) the URL is only in the
        stats and the end-of-run log line."""
        state = State.for_crawler(self.crawler)
        if state is None:
            return
        try:
            state.record_failed(url, reason)
        except Exception as exc:
            logger.warning("Could not record failed URL %s in the crawl state: %s", url, exc)

    def _count(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STAT}/{key}")

    def spider_closed(self, spider: Any = None, reason: str = "") -> None:
        if not self.failed:
            return
        urls = sorted(self.failed)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value(f"{STAT}/failed_urls", urls)
        shown = ", ".join(urls[:SUMMARY_URLS]) + (" …" if len(urls) > SUMMARY_URLS else "")
        logger.warning("%d URL(s) failed after all retries and will be retried by the next run: %s",
                       len(urls), shown)


class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware plus ``Crawl-delay``, WARNING-level failures, and
    one download of robots.txt per run: the spider's own request for it (to read the
    ``Sitemap:`` lines) gets the response this middleware already has."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.politeness = SitePoliteness.of(crawler)
        self.robots_retry_times = crawler.settings.getint("NEWSSPIDER_ROBOTS_RETRY_TIMES", 2)
        self._robots_responses: dict[str, Response] = {}

    # A downloader middleware may answer with a Response; the base class never does.
    async def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        await super().process_request(request)
        cached = self._robots_responses.get(urlparse_cached(request).netloc)
        if cached is not None and request.url == cached.url:
            self._stats.inc_value(f"{STAT}/robotstxt/reused")
            return cached.replace(request=request)
        return None

    def _user_agent(self) -> str:
        return str(self._robotstxt_useragent or self._default_useragent)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        url = urlparse_cached(request)
        netloc = url.netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            robotsreq = Request(
                f"{url.scheme}://{url.netloc}/robots.txt",
                priority=self.DOWNLOAD_PRIORITY,
                meta={"dont_obey_robotstxt": True, "max_retry_times": self.robots_retry_times},
                callback=NO_CALLBACK,
            )
            try:
                resp = await self.crawler.engine.download_async(robotsreq)
                if resp.status < 500:  # a 5xx is retried by whoever asks again
                    self._robots_responses[netloc] = resp
                await self._parse_robots(resp, netloc, robotsreq)
            except Exception as exc:  # network failure after retries: expected trouble
                if not isinstance(exc, IgnoreRequest):
                    logger.warning("robots.txt of %s could not be fetched (%s: %s); crawling without its rules",
                                   netloc, type(exc).__name__, exc)
                    self._stats.inc_value(f"{STAT}/robotstxt/unavailable")
                self._robots_error(exc, netloc)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            return await maybe_deferred_to_future(parser)
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500:
            logger.warning("robots.txt of %s answered HTTP %d after retries; crawling without its rules",
                           netloc, response.status)
            self._stats.inc_value(f"{STAT}/robotstxt/unavailable")
            response = response.replace(body=b"")
        elif response.status >= 400:
            response = response.replace(body=b"")  # no robots.txt: everything allowed
        await super()._parse_robots(response, netloc, request)
        parser = self._parsers.get(netloc)
        if parser is None or isinstance(parser, Deferred):
            return
        try:
            delay = parser.crawl_delay(self._user_agent())
        except Exception:
            delay = None
        if delay:
            key = self.politeness.slot_key(request)
            self.politeness.set_crawl_delay(key, float(delay))
            self._stats.set_value(f"{STAT}/robotstxt/crawl_delay", float(delay))
            logger.info("robots.txt of %s asks for Crawl-delay %gs: honoured (slot %s, cap %gs)",
                        netloc, delay, key, self.politeness.crawl_delay_max)


class MirrorRedirectMiddleware:
    """Keeps redirects of a mirror on the mirror.

    A mirror served at ``base_url`` may answer a redirect with the real site's absolute
    URL (``Location: https://georgiatoday.ge/new-slug/``, as WordPress does), or hold a
    ``<meta http-equiv="refresh">`` page pointing there (as static site copies write
    their redirects).  That URL is off ``allowed_domains``, so the article would be
    silently filtered; this rewrites such a target to the same path under ``base_url``,
    before ``RedirectMiddleware`` / ``MetaRefreshMiddleware`` follow it.  Nothing to do
    when fetching from the site itself.
    """

    REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MirrorRedirectMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        origins = getattr(getattr(self.crawler, "spider", None), "origins", None)
        if origins is None or origins.fetch == origins.canonical:
            return response
        if response.status in self.REDIRECT_STATUSES:
            return self._rewrite_location(response, origins)
        if isinstance(response, HtmlResponse) and not request.meta.get("dont_redirect"):
            return self._rewrite_meta_refresh(response, origins)
        return response

    @staticmethod
    def _on_mirror(target: str, origins: OriginMap) -> str | None:
        """``target`` moved under ``base_url`` when it is an absolute URL of the site."""
        try:
            on_site = target.lower().startswith(("http://", "https://")) and origins.is_site(target)
            rewritten = origins.to_fetch(target) if on_site else None
        except ValueError:
            return None
        return rewritten if rewritten != target else None

    def _rewrite_location(self, response: Response, origins: OriginMap) -> Response:
        location = response.headers.get(b"Location")
        rewritten = self._on_mirror(location.decode("latin-1"), origins) if location else None
        if rewritten is None:
            return response
        headers = response.headers.copy()
        headers[b"Location"] = rewritten.encode("latin-1", "replace")
        return response.replace(headers=headers)

    def _rewrite_meta_refresh(self, response: HtmlResponse, origins: OriginMap) -> Response:
        head = response.body[:META_REFRESH_WINDOW]
        if b"refresh" not in head.lower():  # nearly every page: no meta refresh at all
            return response
        _, target = get_meta_refresh(response)
        rewritten = self._on_mirror(target, origins) if target else None
        literal = target.encode(response.encoding, "replace") if target and rewritten else b""
        if rewritten is None or literal not in head:
            return response
        body = head.replace(literal, rewritten.encode(response.encoding, "replace"), 1)
        return response.replace(body=body + response.body[META_REFRESH_WINDOW:])


#: Where Scrapy's MetaRefreshMiddleware looks for the tag (the first 4096 characters).
META_REFRESH_WINDOW = 4096

__all__ = ["BackoffRetryMiddleware", "MirrorRedirectMiddleware", "PoliteRobotsTxtMiddleware", "SitePoliteness",
           "parse_retry_after"]
