"""The WordPress RSS feed (``/feed/``): links and publication times of the newest posts."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from parsel import Selector

from newsspider.urls import absolute_url


@dataclass(frozen=True)
class FeedEntry:
    url: str
    published: str | None
    """``pubDate`` as ISO 8601 with offset, or None."""


def parse_feed(body: bytes | str, base_url: str = "") -> list[FeedEntry]:
    """Entries of an RSS 2.0 feed, in feed order (newest first); raises ValueError on a
    document that is not RSS."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    root = Selector(text=text, type="xml")
    root.remove_namespaces()
    if not root.xpath("/rss/channel"):
        raise ValueError("not an RSS feed")
    entries: list[FeedEntry] = []
    for item in root.xpath("/rss/channel/item"):
        link = absolute_url(base_url, item.xpath("link/text()").get() or "")
        if not link:
            continue
        published = None
        date_text = (item.xpath("pubDate/text()").get() or "").strip()
        if date_text:
            try:
                published = parsedate_to_datetime(date_text).isoformat()
            except (TypeError, ValueError):
                published = None
        entries.append(FeedEntry(link, published))
    return entries
