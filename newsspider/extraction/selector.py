"""Parsing a Scrapy response into a selector, and the small helpers every query uses."""

from __future__ import annotations

from typing import Any

from lxml import etree
from parsel import Selector
from scrapy.http import TextResponse


def page_selector(response: TextResponse) -> Selector:
    """The parsed page of a response.

    Not ``response.selector``: that one and the response refer to each other, so every
    parsed tree (~1 MB of lxml memory per page) stays alive until Python's cyclic garbage
    collector happens to run; in a crawl that doubled the peak memory.  This selector is
    freed as soon as extraction is done with it.

    The bytes are parsed in the encoding Scrapy chose (HTTP header, BOM, meta), which
    spares copying the whole page into a str and back; an encoding lxml does not know
    falls back to Scrapy's decoded text.
    """
    try:
        return Selector(body=response.body, encoding=response.encoding, type="html", base_url=response.url)
    except (LookupError, ValueError, etree.LxmlError):
        return Selector(text=response.text, type="html", base_url=response.url)


def has_class(cls: str) -> str:
    """XPath predicate: the element's class list holds ``cls`` (a whole class name, with
    any whitespace between the classes), e.g. ``"//div" + has_class("content-inner")``."""
    return f'[contains(concat(" ", normalize-space(@class), " "), " {cls} ")]'


def first(values: list[Any]) -> Any:
    """The first result of a query, or None."""
    return values[0] if values else None
