"""What kind of page a response is, from its bytes: robots.txt, a sitemap, the feed, a
listing (WordPress body classes of the home page and archives) or, else, an article page
(which the article extraction then accepts or turns down with a reason).  The page is not
parsed here: the callback it is routed to parses it once."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse

from newsspider.extraction.selector import BODY_CLASS_RAW

PageKind = Literal["robots", "sitemap", "feed", "listing", "article"]
#: Body classes of WordPress listing pages (home, archives).
LISTING_BODY_CLASSES = frozenset({"home", "blog", "archive", "category", "tag", "paged"})


def page_kind(response: Response) -> PageKind:
    if urlsplit(response.url).path.endswith("/robots.txt"):
        return "robots"
    head = response.body[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<urlset", b"<sitemapindex", b"<rss")):
        return "feed" if b"<rss" in head else "sitemap"
    match = BODY_CLASS_RAW.search(response.body) if isinstance(response, TextResponse) else None
    if match and set(match.group(1).decode("ascii", "replace").split()) & LISTING_BODY_CLASSES:
        return "listing"
    return "article"
