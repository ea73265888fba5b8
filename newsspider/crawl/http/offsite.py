"""Never leave the site's origin for another port or scheme of the same host.

Scrapy's off-site check compares host names only: a redirect from ``https://`` down to
``http://``, or to another port of the site's host, would be followed.  Every request —
redirects included, as they pass the downloader middlewares again — whose host is the
site's host but whose scheme or port differ is dropped (INFO, counted under
``newsspider/skipped/other_origin``).  Requests carry canonical URLs whatever the
``base_url`` (``newsspider.crawl.http.mirror``), so the site's origin is the canonical one.
"""

from __future__ import annotations

import logging

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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SameOriginMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        wanted = self.origin
        parts = urlparse_cached(request)
        got = origin(parts.scheme, parts.hostname, parts.port)
        if got[1] == wanted[1] and got != wanted:
            self.crawler.stats.inc_value(S.OFFSITE_ORIGIN)
            logger.info("Not following %s: another port or scheme of the site (%s://%s:%s)", request.url, *wanted)
            raise IgnoreRequest(f"other origin than the site's: {request.url}")
