"""``load_article`` and ``ArticleLoader``: the parsed page(s) of one post → an ``ArticleItem``.

Extraction (``ArticlePage``) hands over raw values as the page has them; the processors
(plain functions of ``newsspider.normalize``) decode entities, normalize whitespace and
Unicode, parse dates into ISO 8601 with offset, canonicalize URLs and turn ids into ints.

``FIELD_PROCESSORS`` is the one table of them: ``load_article`` applies it directly (the
crawl's path: ItemLoader's per-value machinery cost more than the extraction's field
lookups), and ``ArticleLoader`` is the same table as a Scrapy ``ItemLoader`` — the public
face for code that loads items with ``add_value``/``add_xpath``; a test proves both give
the same item on every fixture.  ``load_article`` is used by the spider's article callback
and by ``python -m newsspider.dev.extract``: the same code path, so what the tool prints is
what the crawl emits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from itemloaders.processors import Compose, MapCompose, TakeFirst
from itemloaders.utils import arg_to_iter
from scrapy.loader import ItemLoader

from newsspider.extraction.article import ArticlePage
from newsspider.items import ArticleItem
from newsspider.normalize import (
    absolute_http_url,
    canonical_url,
    clean_text,
    normalize_text,
    parse_date,
    parse_language,
    parse_post_id,
    unique,
)
from newsspider.site import SOURCE_NAME
from newsspider.urls import OriginMap

PARAGRAPH_SEPARATOR = "\n\n"


#: The first value that is neither None nor empty.
take_first = TakeFirst()


def join_paragraphs(paragraphs: list[str]) -> str | None:
    return PARAGRAPH_SEPARATOR.join(paragraphs) or None


#: field → (input: applied to every raw value, None results dropped;
#:          output: the list of processed values → the field's value, None = unset).
FIELD_PROCESSORS: dict[str, tuple[Callable[[Any], Any], Callable[[list[Any]], Any]]] = {
    "url": (canonical_url, take_first),
    "post_id": (parse_post_id, take_first),
    "title": (clean_text, take_first),
    "subtitle": (clean_text, take_first),
    "summary": (clean_text, take_first),
    "authors": (clean_text, unique),
    "published": (parse_date, take_first),
    "modified": (parse_date, take_first),
    "categories": (clean_text, unique),
    "tags": (clean_text, unique),
    # Paragraphs are DOM text: entities are already decoded once by the parser, and
    # decoding again would turn a literal "&amp;" in an article into "&".
    "body": (normalize_text, join_paragraphs),
    "image_url": (absolute_http_url, take_first),
    "image_caption": (clean_text, take_first),
    "image_credit": (clean_text, take_first),
    "language": (parse_language, take_first),
    "source": (clean_text, take_first),
    "crawled_at": (clean_text, take_first),
}


class ArticleLoader(ItemLoader):
    """Loads an ``ArticleItem``: add raw values, get a normalized item.  The processors
    are ``FIELD_PROCESSORS`` (set below as ``<field>_in``/``<field>_out``)."""

    default_item_class = ArticleItem
    default_input_processor = MapCompose(clean_text)
    default_output_processor = TakeFirst()


for _name, (_each, _out) in FIELD_PROCESSORS.items():
    setattr(ArticleLoader, f"{_name}_in", MapCompose(_each))
    setattr(ArticleLoader, f"{_name}_out", Compose(_out))




def build_item(raw: dict[str, Any]) -> ArticleItem:
    """An item from raw field values (a value or a list of values per field), through
    ``FIELD_PROCESSORS`` — what ``ArticleLoader`` does with ``add_value`` per field."""
    fields: dict[str, Any] = {}
    for name, values in raw.items():
        each, out = FIELD_PROCESSORS[name]
        processed = [v for v in map(each, arg_to_iter(values)) if v is not None]
        value = out(processed)
        if value is not None:
            fields[name] = value
    return ArticleItem(**fields)


def canonical_page_url(page: ArticlePage, origins: OriginMap) -> str:
    """The page's own canonical URL on the canonical origin."""
    for candidate in page.url_candidates():
        if origins.is_site(candidate):
            try:
                return origins.to_canonical(candidate)
            except ValueError:  # a broken canonical/og:url: try the next source
                continue
    return origins.to_canonical(page.url)


def load_article(
    pages: Sequence[ArticlePage],
    origins: OriginMap,
    *,
    crawled_at: datetime | None = None,
    source: str = SOURCE_NAME,
) -> ArticleItem:
    """One item from the pages of a post (page 1 first); fields come from page 1, the
    body from all pages in order.  Call ``check_article()`` on page 1 first."""
    item = build_item(raw_fields(pages, origins, crawled_at=crawled_at, source=source))
    item.word_count = len(item.body.split()) if item.body else 0
    return item


def raw_fields(
    pages: Sequence[ArticlePage],
    origins: OriginMap,
    *,
    crawled_at: datetime | None = None,
    source: str = SOURCE_NAME,
) -> dict[str, Any]:
    """The raw value(s) of every field, as the pages give them (page 1 first)."""
    first = pages[0]
    body: list[str] = []
    credit = None
    for page in pages:
        paragraphs, page_credit = page.body_parts()
        body += paragraphs
        credit = page_credit or credit
    moment = crawled_at or datetime.now(timezone.utc)
    return {
        "url": canonical_page_url(first, origins),
        "post_id": first.post_id(),
        "title": first.title(),
        "subtitle": first.subtitle(),
        "summary": first.summary(),
        "authors": first.authors(),
        "published": first.published(),
        "modified": first.modified(),
        "categories": first.categories(),
        "tags": first.tags(),
        "body": body,
        "image_url": first.image_url(),
        "image_caption": first.image_caption(),
        "image_credit": credit,
        "language": first.language(),
        "source": source,
        "crawled_at": moment.astimezone(timezone.utc).isoformat(timespec="seconds"),
    }
