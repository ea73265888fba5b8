"""Meta-refresh redirects, found without decoding every page."""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Request, Response

#: Scrapy looks for the tag in the first 4096 characters of the decoded page; no
#: character takes more than 4 bytes (UTF-8, UTF-16, UTF-32, GB 18030), so those
#: characters are within this many bytes.
HEAD_BYTES = 4 * 4096


def may_refresh(body: bytes) -> bool:
    """False when the first characters of the page cannot hold ``http-equiv="refresh"``:
    the word is not in the first ``HEAD_BYTES`` bytes, in any letter case, in an
    ASCII-compatible encoding or (NUL bytes dropped) in UTF-16/32."""
    head = body[:HEAD_BYTES]
    if b"\x00" in head:
        head = head.replace(b"\x00", b"")
    return b"refresh" in head.lower()


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Scrapy's ``MetaRefreshMiddleware`` (same settings, same redirects), replacing it in
    ``DOWNLOADER_MIDDLEWARES``.

    Scrapy's looks for ``<meta http-equiv="refresh">`` in ``response.text[:4096]``, which
    decodes — and keeps on the response — the whole body of every HTML page (~2 % of the
    crawl's CPU).  This one first looks at the page's first bytes: only a page whose head
    has the word "refresh" (a redirect stub of a static site copy, whose target the
    ``MirrorRedirectMiddleware`` has already moved onto the mirror) goes through Scrapy's
    check.  (Scrapy would also see ``refresh`` written with character references, which no
    page does.)
    """

    def process_response(self, request: Request, response: Response) -> Any:  # type: ignore[override]
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)
