"""Politeness: robots.txt with ``Crawl-delay``, and the site-wide slowdown under 429/503.

``SitePoliteness`` keeps a delay floor per download slot (the robots ``Crawl-delay`` and the
extra delay of the slowdown); one instance per crawler, reached through
``crawler.get_extension(SitePoliteness)``.

``PoliteRobotsTxtMiddleware`` replaces Scrapy's ``RobotsTxtMiddleware``: same rules, but
it honours ``Crawl-delay`` (the slot delay never drops below it, capped by
``NEWSSPIDER_CRAWL_DELAY_MAX``), and a robots.txt that cannot be fetched (5xx or network
errors after retries) is a WARNING, not an ERROR: the crawl goes on without its rules.

Expected trouble is never logged at ERROR: ERROR means a bug of ours.
"""

from __future__ import annotations

import logging
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from newsspider.crawl.report import stats as S

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser


logger = logging.getLogger(__name__)


def _late(crawler: Crawler, name: str) -> Any:
    """``crawler.engine``/``crawler.spider``, or None before the crawl has started."""
    try:
        return getattr(crawler, name, None)
    except RuntimeError:
        return None


class SitePoliteness:
    """Per download slot delay floor: robots ``Crawl-delay`` and the 429/503 slowdown.

    An extension (``crawler.get_extension(SitePoliteness)``), shared by both middlewares.
    The slot delay is kept at least ``floor / (1 - jitter)`` so that even the shortest
    jittered delay respects the floor."""

    MAX_JITTER = 0.2

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.base_delay = settings.getfloat("DOWNLOAD_DELAY")
        self.crawl_delay_max = settings.getfloat("NEWSSPIDER_CRAWL_DELAY_MAX")
        self.window = max(1, settings.getint("NEWSSPIDER_SLOWDOWN_WINDOW"))
        self.ratio = settings.getfloat("NEWSSPIDER_SLOWDOWN_RATIO")
        self.min_throttled = max(1, settings.getint("NEWSSPIDER_SLOWDOWN_MIN_RESPONSES"))
        self.start_delay = settings.getfloat("NEWSSPIDER_SLOWDOWN_START_DELAY")
        self.max_delay = settings.getfloat("NEWSSPIDER_SLOWDOWN_MAX_DELAY")
        self.crawl_delays: dict[str, float] = {}
        self.extra: dict[str, float] = {}
        self.recent: dict[str, deque[bool]] = {}
        self.applied: dict[str, float] = {}
        self.raised_at: dict[str, float] = {}
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SitePoliteness:
        return cls(crawler)

    @classmethod
    def of(cls, crawler: Crawler) -> SitePoliteness:
        """The crawl's instance (an extension, shared by both middlewares); a private one
        when the crawler has no extensions yet (a middleware built alone in a test)."""
        try:
            found = crawler.get_extension(cls)
        except RuntimeError:
            found = None
        return found or cls(crawler)

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
                    stats.inc_value(S.THROTTLE_SLOWDOWNS)
                    stats.max_value(S.THROTTLE_MAX_DELAY, after)
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



class PoliteRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware plus ``Crawl-delay``, WARNING-level failures, and
    one download of robots.txt per run: the spider's own request for it (to read the
    ``Sitemap:`` lines) gets the response this middleware already has."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.politeness = SitePoliteness.of(crawler)
        self.robots_retry_times = crawler.settings.getint("NEWSSPIDER_ROBOTS_RETRY_TIMES")
        self._robots_responses: dict[str, Response] = {}

    # A downloader middleware may answer with a Response; the base class never does.
    async def process_request(self, request: Request) -> Response | None:  # type: ignore[override]
        await super().process_request(request)
        cached = self._robots_responses.get(urlparse_cached(request).netloc)
        if cached is not None and request.url == cached.url:
            self._stats.inc_value(S.ROBOTS_REUSED)
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
                    self._stats.inc_value(S.ROBOTS_UNAVAILABLE)
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
            self._stats.inc_value(S.ROBOTS_UNAVAILABLE)
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
            self._stats.set_value(S.ROBOTS_CRAWL_DELAY, float(delay))
            logger.info("robots.txt of %s asks for Crawl-delay %gs: honoured (slot %s, cap %gs)",
                        netloc, delay, key, self.politeness.crawl_delay_max)

