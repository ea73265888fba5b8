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

from lxml import etree
from lxml.html import HtmlElement
from parsel import Selector

from newsspider.extraction.selector import first, has_class
from newsspider.normalize import parse_date
from newsspider.urls import absolute_url

#: The main column and the home page's hero blocks: one pass over the page.
BLOCKS = etree.XPath('//div[contains(@class, "jeg_main_content") or contains(@class, "jeg_heroblock")]')
MAIN_COLUMN_CLASS = "jeg_main_content"
HERO_BLOCK_CLASS = "jeg_heroblock"
POST_BLOCK = etree.XPath(".//article" + has_class("jeg_post"))
POST_TITLE_LINK = etree.XPath(".//*" + has_class("jeg_post_title") + "//a/@href", smart_strings=False)
POST_DATE = etree.XPath("string((.//div" + has_class("jeg_meta_date") + ")[1])", smart_strings=False)
#: Category links in the site's menus (top, main, mobile, footer) and post meta.
MENU_LINKS = etree.XPath('//ul[contains(@class, "menu")]//a[contains(@href, "/category/")]/@href',
                        smart_strings=False)
#: Yoast's ``<link rel="next">``, else the theme's "next" pagination link.
NEXT_LINK = etree.XPath('/html/head/link[@rel="next"]/@href', smart_strings=False)
NEXT_PAGE_LINK = etree.XPath("//a" + has_class("page_nav") + has_class("next") + "/@href", smart_strings=False)
NEXT_LINK_ANYWHERE = etree.XPath('//link[@rel="next"]/@href', smart_strings=False)
#: JNews's "No Content Available" notice of a block (an empty category is not a broken page).
EMPTY_NOTICE = etree.XPath(".//div" + has_class("jeg_empty_module"))
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
    """A listing block (or, without blocks, the page) shows JNews's "No Content Available"."""


def _blocks(root: HtmlElement) -> list[HtmlElement]:
    """The main column(s), then the hero blocks; the whole page when it has neither."""
    found = BLOCKS(root)
    blocks = [el for el in found if MAIN_COLUMN_CLASS in el.classes]
    blocks += [el for el in found if HERO_BLOCK_CLASS in el.classes]
    return blocks or [root]


def parse_listing(page: Selector, page_url: str) -> Listing:
    """Article entries of the main listing blocks, the next page, the category links."""
    root = page.root
    listing = Listing()
    seen: set[str] = set()
    blocks = _blocks(root)
    for block in blocks:
        for post in POST_BLOCK(block):
            hrefs = POST_TITLE_LINK(post)
            if not hrefs:
                continue
            url = absolute_url(page_url, hrefs[0])
            if url is None or url in seen:
                continue
            seen.add(url)
            listing.entries.append(ListingEntry(url, parse_date(POST_DATE(post))))
    if not listing.entries:
        listing.says_empty = any(EMPTY_NOTICE(block) for block in blocks)
    next_href = first(NEXT_LINK(root)) or first(NEXT_PAGE_LINK(root)) or first(NEXT_LINK_ANYWHERE(root))
    listing.next_page = absolute_url(page_url, next_href) if next_href else None
    listing.categories = category_links(root, page_url)
    return listing


def category_links(root: HtmlElement, page_url: str) -> list[str]:
    """First pages of the category archives linked from the site's menus."""
    found: dict[str, None] = {}
    for href in MENU_LINKS(root):
        url = absolute_url(page_url, href)
        if url is None:
            continue
        path = urlsplit(url).path
        if CATEGORY_PATH.match(path) and not PAGINATION_SUFFIX.search(path):
            found[url] = None
    return list(found)
