"""Yoast sitemaps and robots.txt ``Sitemap:`` lines, via Scrapy's own sitemap helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from scrapy.utils.sitemap import Sitemap

from newsspider.normalize import parse_date
from newsspider.urls import absolute_url

#: Sitemaps of posts in an index: Yoast's (also Rank Math's and AIOSEO's) ``post-sitemap.xml``,
#: ``post-sitemap2.xml`` …, and WordPress core's ``wp-sitemap-posts-post-1.xml`` … (a site
#: without an SEO plugin).  Pages, categories, tags and authors have sitemaps of their own.
POST_SITEMAP = re.compile(r"/(?:post-sitemap\d*|wp-sitemap-posts-post-\d+)\.xml$")


@dataclass(frozen=True)
class SitemapEntry:
    url: str
    lastmod: str | None
    """``<lastmod>`` as ISO 8601 with offset (``YYYY-MM-DD`` when it has no time), or None."""


def robots_sitemaps(robots_text: bytes, base_url: str) -> list[str]:
    """The usable URLs of robots.txt's ``Sitemap:`` lines.  (Scrapy's
    ``sitemap_urls_from_robots`` stops at the first line ``urljoin`` cannot parse.)"""
    found = []
    for line in robots_text.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "sitemap":
            url = absolute_url(base_url, value.split("#", 1)[0])
            if url is not None:
                found.append(url)
    return found


def parse_sitemap(body: bytes, base_url: str = "") -> tuple[str, list[SitemapEntry]]:
    """(``"sitemapindex"`` or ``"urlset"``, entries); raises ValueError on a non-sitemap."""
    try:
        sitemap = Sitemap(body)
    except Exception as exc:  # lxml raises several types on garbage
        raise ValueError(f"not a sitemap: {exc}") from exc
    entries = []
    for entry in sitemap:
        url = absolute_url(base_url, entry.get("loc") or "")
        if url is not None:
            entries.append(SitemapEntry(url, parse_date(entry.get("lastmod"))))
    return sitemap.type or "", entries


def is_post_sitemap(url: str) -> bool:
    return bool(POST_SITEMAP.search(url.split("?", 1)[0]))
