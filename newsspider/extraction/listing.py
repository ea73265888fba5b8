"""Listing pages (home, category archives and their pagination): what to follow.

JNews prints posts as ``article.jeg_post`` blocks with an ``h3.jeg_post_title`` link; the
main column is ``div.jeg_main_content``; hero blocks (``div.jeg_heroblock``) sit above it
on the home page.  Sidebars, "Trending" and footer widgets use the same markup, so links
are only taken from the main column and the hero blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from parsel import Selector

from newsspider.loaders import parse_date
from newsspider.urls import absolute_url

MAIN_COLUMN = '//div[contains(concat(" ", normalize-space(@class), " "), " jeg_main_content ")]'
HERO_BLOCK = '//div[contains(concat(" ", normalize-space(@class), " "), " jeg_heroblock ")]'
POST_BLOCK = './/article[contains(concat(" ", normalize-space(@class), " "), " jeg_post ")]'
POST_TITLE_LINK = './/*[contains(concat(" ", normalize-space(@class), " "), " jeg_post_title ")]//a/@href'
POST_DATE = './/div[contains(concat(" ", normalize-space(@class), " "), " jeg_meta_date ")]'
#: Category links in the site's menus (top, main, mobile, footer) and post meta.
MENU_LINKS = '//ul[contains(@class, "jeg_menu") or contains(@class, "menu")]//a[contains(@href, "/category/")]/@href'
NEXT_PAGE = (
    '//link[@rel="next"]/@href'
    ' | //a[contains(concat(" ", normalize-space(@class), " "), " page_nav ")'
    ' and contains(concat(" ", normalize-space(@class), " "), " next ")]/@href'
)
#: JNews's "No Content Available" notice of a block (an empty category is not a broken page).
EMPTY_NOTICE = './/div[contains(concat(" ", normalize-space(@class), " "), " jeg_empty_module ")]'
CATEGORY_PATH = re.compile(r"^/category/[^?#]+$")
PAGINATION_SUFFIX = re.compile(r"/page/\d+/?$")


@dataclass
class ListingEntry:
    url: str
    published: str | None = None
    """The entry's visible date as ``YYYY-MM-DD`` (None for relative dates)."""


@dataclass
class Listing:
    entries: list[ListingEntry] = field(default_factory=list)
    next_page: str | None = None
    categories: list[str] = field(default_factory=list)
    says_empty: bool = False
    """The main column shows JNews's "No Content Available" notice."""


def _blocks(root: Selector) -> list[Selector]:
    blocks = root.xpath(MAIN_COLUMN) + root.xpath(HERO_BLOCK)
    return blocks or [root]


def parse_listing(root: Selector, page_url: str) -> Listing:
    """Article entries of the main listing blocks, the next page, the category links."""
    listing = Listing()
    seen: set[str] = set()
    blocks = _blocks(root)
    for block in blocks:
        for post in block.xpath(POST_BLOCK):
            href = post.xpath(POST_TITLE_LINK).get()
            if not href:
                continue
            url = absolute_url(page_url, href)
            if url is None or url in seen:
                continue
            seen.add(url)
            date_text = post.xpath(POST_DATE).xpath("string()").get()
            listing.entries.append(ListingEntry(url, parse_date(date_text)))
    if not listing.entries:
        listing.says_empty = any(block.xpath(EMPTY_NOTICE) for block in blocks)
    next_href = root.xpath(NEXT_PAGE).get()
    listing.next_page = absolute_url(page_url, next_href) if next_href else None
    listing.categories = category_links(root, page_url)
    return listing


def category_links(root: Selector, page_url: str) -> list[str]:
    """First pages of the category archives linked from the site's menus."""
    found: dict[str, None] = {}
    for href in root.xpath(MENU_LINKS).getall():
        url = absolute_url(page_url, href)
        if url is None:
            continue
        path = urlsplit(url).path
        if CATEGORY_PATH.match(path) and not PAGINATION_SUFFIX.search(path):
            found[url] = None
    return list(found)
