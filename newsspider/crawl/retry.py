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

Expected trouble is never logged at ERROR: ERROR means a bug of ours.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import _load_objects

from newsspider.crawl.politeness import SitePoliteness, _late
from newsspider.crawl.state import State
from newsspider.crawl.stats import STAT

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


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

