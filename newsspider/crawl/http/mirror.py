"""Fetching the site from a mirror (``base_url``): a download-time concern only.

Everything above the downloader — requests, responses, redirects, the spider, extraction,
items, the state and the WARC archive — speaks canonical ``https://georgiatoday.ge/...``
URLs.  ``MirrorDownloadHandler`` is Scrapy's HTTP handler with one difference when the
spider has a ``base_url`` (the demo server, a local mirror, a mirror under a path): it
sends each request to the same path under ``base_url``, and hands the response back under
the canonical URL, with a redirect's ``Location`` on the mirror (or on any form of the
site's own origin: ``http://``, ``www.``) rewritten to its canonical form, so that
Scrapy's redirect, off-site and robots.txt handling never see the mirror.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.http import Request, Response

from newsspider.urls import OriginMap

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


class MirrorDownloadHandler(HTTP11DownloadHandler):
    """``DOWNLOAD_HANDLERS`` for http and https (module doc)."""

    def _origins(self) -> OriginMap | None:
        origins: Any = getattr(self._crawler.spider, "origins", None)
        return origins if isinstance(origins, OriginMap) and origins.fetch != origins.canonical else None

    async def download_request(self, request: Request) -> Response:
        origins = self._origins()
        if origins is None or not origins.is_site(request.url):
            return await super().download_request(request)
        response = await super().download_request(request.replace(url=origins.to_fetch(request.url)))
        headers = response.headers
        location = headers.get(b"Location") if response.status in REDIRECT_STATUSES else None
        if location:
            target = canonical_location(origins, location.decode("latin-1"))
            if target is not None:
                headers = headers.copy()
                headers[b"Location"] = target.encode("latin-1", "replace")
        return response.replace(url=request.url, headers=headers, request=request)


def canonical_location(origins: OriginMap, location: str) -> str | None:
    """An absolute redirect target on the mirror or the site, in canonical form (None:
    a relative target, resolved against the canonical URL anyway, or another site — the
    mirror's own host and port under another scheme too: the mirror moved, e.g. to
    ``https://``, and fetching the same URL again would loop)."""
    if not location.lower().startswith(("http://", "https://")):
        return None
    try:
        parts, fetch = urlsplit(location), urlsplit(origins.fetch)
        if parts.netloc.lower() == fetch.netloc and parts.scheme.lower() != fetch.scheme:
            return None
        return origins.to_canonical(location) if origins.is_site(location) else None
    except ValueError:
        return None
