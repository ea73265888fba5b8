"""Parsing a Scrapy response into a selector, and the small helpers every query uses."""

from __future__ import annotations

import re
from typing import Any

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
from parsel import Selector
from parsel.selector import create_root_node
from scrapy.http import TextResponse

#: Every element is an ``HtmlElement`` (comments ``HtmlComment`` …), chosen in C.
#: ``lxml.html.HTMLParser`` asks a Python method for the class of every element the code
#: touches (to give ``<form>``/``<input>`` their own subclasses, which we never use): a
#: tenth of the extraction's CPU time.
#: ``<body class>`` in the raw HTML: the page kind without parsing, and pages whose markup
#: makes lxml drop the attribute.
BODY_CLASS_RAW = re.compile(rb"<body\b[^>]*?\sclass\s*=\s*[\"']?([^\"'>]*)", re.IGNORECASE)
_ELEMENT_CLASSES = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


class HTMLParser(etree.HTMLParser):
    """lxml's HTML parser (the options parsel gives it) building ``HtmlElement`` trees."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.set_element_class_lookup(_ELEMENT_CLASSES)


def page_selector(response: TextResponse) -> Selector:
    """The parsed page of a response.

    Not ``response.selector``: that one and the response refer to each other, so every
    parsed tree (~1 MB of lxml memory per page) stays alive until Python's cyclic garbage
    collector happens to run; in a crawl that doubled the peak memory.  This selector is
    freed as soon as extraction is done with it.

    The bytes are parsed in the encoding Scrapy chose (HTTP header, BOM, meta), which
    spares copying the whole page into a str and back; an encoding lxml does not know
    falls back to Scrapy's decoded text.  Parsed as parsel does (``create_root_node``),
    with ``HTMLParser`` above.
    """
    try:
        root = create_root_node("", HTMLParser, base_url=response.url, body=response.body, encoding=response.encoding)
    except (LookupError, ValueError, etree.LxmlError):
        root = create_root_node(response.text, HTMLParser, base_url=response.url)
    return Selector(root=root, type="html")


def has_class(cls: str) -> str:
    """XPath predicate: the element's class list holds ``cls`` (a whole class name, with
    any whitespace between the classes), e.g. ``"//div" + has_class("content-inner")``."""
    return f'[contains(concat(" ", normalize-space(@class), " "), " {cls} ")]'


def first(values: list[Any]) -> Any:
    """The first result of a query, or None."""
    return values[0] if values else None
