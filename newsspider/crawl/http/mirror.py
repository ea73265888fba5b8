"""Keep the redirects of a mirror on the mirror (``base_url``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from scrapy.http import HtmlResponse, Request, Response
from scrapy.utils.response import get_meta_refresh

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)


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
