"""Parsing a Scrapy response into a selector for the extraction code."""

from __future__ import annotations

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
