"""Never leave the site's origin for another port or scheme of the same host.

Scrapy's off-site check compares host names only: a redirect from the mirror at
``http://127.0.0.1:8000`` to ``http://127.0.0.1:9000/…`` (another service on the same
machine), or from ``https://`` down to ``http://``, would be followed.  Every request —
redirects included, as they pass the downloader middlewares again — whose host is the
fetch origin's host but whose scheme or port differ is dropped (INFO, counted under
``newsspider/skipped/other_origin``).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.httpobj import urlparse_cached

from newsspider.crawl.report import stats as S

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(scheme: str, host: str | None, port: int | None) -> tuple[str, str, int | None]:
    scheme = scheme.lower()
    return scheme, (host or "").lower(), port or DEFAULT_PORTS.get(scheme)


class SameOriginMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._origin: tuple[str, str, int | None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SameOriginMiddleware:
        return cls(crawler)

    def _fetch_origin(self) -> tuple[str, str, int | None] | None:
        if self._origin is None:
            origins: Any = getattr(self.crawler.spider, "origins", None)
            if origins is None:
                return None
            parts = urlparse_cached(Request(origins.fetch))
            self._origin = origin(parts.scheme, parts.hostname, parts.port)
        return self._origin

    def process_request(self, request: Request) -> None:
        wanted = self._fetch_origin()
        if wanted is None:
            return
        parts = urlparse_cached(request)
        got = origin(parts.scheme, parts.hostname, parts.port)
        if got[1] == wanted[1] and got != wanted:
            self.crawler.stats.inc_value(S.OFFSITE_ORIGIN)
            logger.info("Not following %s: another port or scheme of the site (%s://%s:%s)", request.url, *wanted)
            raise IgnoreRequest(f"other origin than the site's: {request.url}")
