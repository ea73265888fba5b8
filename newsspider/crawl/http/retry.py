"""Retries with exponential backoff, jitter and ``Retry-After``, built on Scrapy's
``get_retry_request`` (so the standard ``retry/count``, ``retry/reason_count/*`` and
``retry/max_reached`` stats exist).  ``BackoffRetryMiddleware`` replaces Scrapy's
``RetryMiddleware``:

* retries ``RETRY_HTTP_CODES`` (429, 5xx, 408 …) and ``RETRY_EXCEPTIONS`` (timeouts,
  refused/dropped connections, short bodies) up to ``RETRY_TIMES`` times (a request's
  ``max_retry_times`` meta wins: the optional feed gets one retry);
* waits ``NEWSSPIDER_RETRY_BASE_DELAY * 2**(n-1)`` seconds before retry n (±
  ``NEWSSPIDER_RETRY_JITTER``, at most ``NEWSSPIDER_RETRY_MAX_DELAY``), and never less
  than the response's ``Retry-After`` (seconds or an HTTP date), which is itself capped
  by ``NEWSSPIDER_RETRY_AFTER_MAX``.  The wait is an ``await`` on the reactor's clock
  inside the middleware: nothing blocks, other requests keep flowing;
* tells ``SitePoliteness`` about every answer, so repeated 429/503 slow the whole site;
* an unreachable site is reported within seconds, not after minutes of backoff: while
  nothing of the site has answered in this run, a connection that cannot be made at all
  (unknown host, refused) gets ``UNREACHABLE_RETRY_TIMES`` retries; once one
  request has given up that way the site is unreachable (one WARNING): the home page
  still gets one try, no other request is sent (``IgnoreRequest``: pending pages stay
  pending, untouched).  The first answer of the site ends this: a page failing on its own
  is retried as always.

A page over ``DOWNLOAD_MAXSIZE`` never gets here: ``newsspider.crawl.http.size`` makes it
a counted, pending drop (``dropped/too_large``).

A request whose retries are exhausted goes on to the spider's errback as usual; the run's
ledger (``newsspider.crawl.run.ledger``, through ``newsspider.crawl.run.failures``)
records it as pending for the next run.  Expected trouble is
never logged at ERROR: ERROR means a bug of ours.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import CannotResolveHostError, DownloadConnectionRefusedError, IgnoreRequest, NotConfigured
from scrapy.http import Request, Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.misc import _load_objects
from scrapy.utils.response import response_status_message
from twisted.internet.error import ConnectError

from newsspider.crawl.http.politeness import SitePoliteness
from newsspider.crawl.report import stats as S

if TYPE_CHECKING:
    from scrapy.crawler import Crawler


logger = logging.getLogger(__name__)

#: Retries of a connection that cannot be made at all while nothing of the site has answered.
UNREACHABLE_RETRY_TIMES = 2

THROTTLE_STATUSES = frozenset({429, 503})
#: No connection at all: the host name does not resolve, or nothing listens there.
CONNECT_ERRORS = (CannotResolveHostError, DownloadConnectionRefusedError, ConnectError)


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
        self.retry_http_codes = {int(x) for x in settings.getlist("RETRY_HTTP_CODES")}
        self.exceptions_to_retry = tuple(_load_objects(settings.getlist("RETRY_EXCEPTIONS")))
        self.base_delay = settings.getfloat("NEWSSPIDER_RETRY_BASE_DELAY")
        self.max_delay = settings.getfloat("NEWSSPIDER_RETRY_MAX_DELAY")
        self.jitter = min(1.0, max(0.0, settings.getfloat("NEWSSPIDER_RETRY_JITTER")))
        self.retry_after_max = settings.getfloat("NEWSSPIDER_RETRY_AFTER_MAX")
        self.unreachable_retries = UNREACHABLE_RETRY_TIMES
        self.politeness = SitePoliteness.of(crawler)
        self.answered = False  # the site answered something in this run
        self.unreachable: str | None = None  # ... not yet, and a request gave up connecting: why

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> BackoffRetryMiddleware:
        return cls(crawler)

    # --- hooks ------------------------------------------------------------------------
    def process_request(self, request: Request) -> None:
        if self.unreachable and not self.answered and request.meta.get("start_page") != "home":
            raise IgnoreRequest(f"the site is unreachable: {self.unreachable}")
        self.politeness.enforce(self.politeness.slot_key(request))

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        self.answered = True
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
        return await self._retry(request, response_status_message(response.status), retry_after) or response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get("dont_retry", False):
            return None
        if self.answered or not isinstance(exception, CONNECT_ERRORS):
            return await self._retry(request, exception, None)
        if self.unreachable:
            return None
        retry = await self._retry(request, exception, None, max_retries=self.unreachable_retries)
        if retry is None and not self.answered and not self.unreachable:
            self.unreachable = f"{type(exception).__name__}: {exception}"
            logger.warning("Cannot connect to the site (%s) and nothing of it has answered: the home page gets "
                           "one try, no other request is sent", self.unreachable)
        return retry

    # --- retry logic ------------------------------------------------------------------
    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        delay *= 1 + random.uniform(-self.jitter, self.jitter)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.retry_after_max))
        return max(0.0, delay)

    async def _retry(self, request: Request, reason: str | Exception, retry_after: float | None,
                     max_retries: int | None = None) -> Request | None:
        """The retry of ``request`` after its backoff, or None when it gave up: after the
        request's ``max_retry_times``, ``RETRY_TIMES``, and at most ``max_retries``."""
        # The give-up is logged at WARNING by whoever handles the failure (the run: one
        # line per URL, with what happens next), so Scrapy's own line is INFO.
        spider = self.crawler.spider
        assert spider is not None  # requests only flow while a spider is open
        allowed = request.meta.get("max_retry_times")
        if allowed is None:
            allowed = self.crawler.settings.getint("RETRY_TIMES")
        if max_retries is not None:
            allowed = min(allowed, max_retries)
        new = get_retry_request(request, spider=spider, reason=reason, logger=logger, max_retry_times=allowed,
                                give_up_log_level=logging.INFO)
        if new is None:
            return None
        attempt = new.meta["retry_times"]
        wait = self.backoff(attempt, retry_after)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(S.RETRY_WAITED, round(wait, 3))  # type: ignore[arg-type]  # float sums
            if retry_after is not None:
                stats.inc_value(S.RETRY_AFTER)
        logger.info("Retrying %s in %.1fs (attempt %d of %d): %s%s", request.url, wait, attempt + 1, allowed + 1,
                    reason if isinstance(reason, str) else type(reason).__name__,
                    f", Retry-After {retry_after:g}s" if retry_after is not None else "")
        if wait > 0:
            await sleep(wait)
        return new
