"""Never leave the site's origin for another port or scheme of the same host, and count
every redirect that points off it.

Scrapy's off-site check compares host names only: a redirect from ``https://`` down to
``http://``, or to another port of the site's host, would be followed.  Every request —
redirects included, as they pass the downloader middlewares again — whose host is the
site's host but whose scheme or port differ is dropped (INFO, counted under
``newsspider/skipped/other_origin``).  Requests carry canonical URLs whatever the
``base_url`` (``newsspider.crawl.http.mirror``), so the site's origin is the canonical one.

A redirect to another origin — dropped by Scrapy's ``OffsiteMiddleware`` when it is
scheduled (another host: no errback, no log), dropped here (another scheme or port), or
followed (a subdomain) — is counted as it is scheduled: ``newsspider/redirects/off_origin``,
whether the home page was one (``…/off_origin_home``), and where they went
(``…/off_origin_to``).  When the home page or most requests go there, the site moved: the
health check ``moved`` (``newsspider.crawl.report.health``) says where.
"""

from __future__ import annotations

import logging
from collections import Counter

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

from newsspider.crawl.report import stats as S
from newsspider.site import ORIGIN

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port or DEFAULT_PORTS.get(scheme)


class SameOriginMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        parts = urlparse_cached(Request(ORIGIN))
        self.origin = origin(parts.scheme, parts.hostname, parts.port)
        self.moved_to: Counter[str] = Counter()
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SameOriginMiddleware:
        return cls(crawler)

    def request_scheduled(self, request: Request, spider: Spider) -> None:
        """A redirect off the site's origin, counted (module doc)."""
        if not request.meta.get("redirect_urls") or request.meta.get("retry_times"):
            return
        parts = urlparse_cached(request)
        if origin(parts.scheme, parts.hostname, parts.port) == self.origin:
            return
        target = f"{parts.scheme}://{parts.netloc}".lower()
        stats = self.crawler.stats
        assert stats is not None
        stats.inc_value(S.OFF_ORIGIN_REDIRECTS)
        self.moved_to[target] += 1
        if request.meta.get("start_page") == "home":
            stats.set_value(S.OFF_ORIGIN_HOME, 1)
            stats.set_value(S.OFF_ORIGIN_TO, target)
        elif not stats.get_value(S.OFF_ORIGIN_HOME):
            stats.set_value(S.OFF_ORIGIN_TO, self.moved_to.most_common(1)[0][0])
        logger.info("Redirected off the site: %s -> %s", request.meta["redirect_urls"][0], request.url)

    def process_request(self, request: Request) -> None:
        wanted = self.origin
        parts = urlparse_cached(request)
        got = origin(parts.scheme, parts.hostname, parts.port)
        if got[1] == wanted[1] and got != wanted:
            self.crawler.stats.inc_value(S.OFFSITE_ORIGIN)
            logger.info("Not following %s: another port or scheme of the site (%s://%s:%s)", request.url, *wanted)
            raise IgnoreRequest(f"other origin than the site's: {request.url}")
