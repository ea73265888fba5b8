"""``ArticleLoader`` and ``load_article``: the parsed page(s) of one post → an ``ArticleItem``.

Extraction (``ArticlePage``) hands over raw values as the page has them; the loader's
input/output processors (plain functions of ``newsspider.normalize``) decode entities,
normalize whitespace and Unicode, parse dates into ISO 8601 with offset, canonicalize
URLs and turn ids into ints.  Used by the spider's article callback, by ``reextract`` and
by ``python -m newsspider.dev.extract``: the same code path, so what the tool prints is
what the crawl emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, ClassVar

from itemloaders.processors import Compose, Join, MapCompose, TakeFirst
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


class ArticleLoader(ItemLoader):
    """Loads an ``ArticleItem``; add raw values, get a normalized item.

    Processors are looked up once per field and class: ItemLoader otherwise rebuilds an
    ItemAdapter (and runs ``dataclasses.fields``) on every ``add_value``, which cost more
    than the extraction itself.  ``ArticleItem`` declares no per-field processors, so the
    class attributes below are the whole answer.
    """

    _processors: ClassVar[dict[tuple[type, str, str], Any]] = {}

    def get_input_processor(self, field_name: str) -> Any:
        key = (type(self), "in", field_name)
        if key not in self._processors:
            self._processors[key] = super().get_input_processor(field_name)
        return self._processors[key]

    def get_output_processor(self, field_name: str) -> Any:
        key = (type(self), "out", field_name)
        if key not in self._processors:
            self._processors[key] = super().get_output_processor(field_name)
        return self._processors[key]

    default_item_class = ArticleItem
    default_input_processor = MapCompose(clean_text)
    default_output_processor = TakeFirst()

    url_in = MapCompose(canonical_url)
    post_id_in = MapCompose(parse_post_id)
    published_in = MapCompose(parse_date)
    modified_in = MapCompose(parse_date)
    language_in = MapCompose(parse_language)
    image_url_in = MapCompose(absolute_http_url)

    authors_out = Compose(unique)
    categories_out = Compose(unique)
    tags_out = Compose(unique)

    # Paragraphs are DOM text: entities are already decoded once by the parser, and
    # decoding again would turn a literal "&amp;" in an article into "&".
    body_in = MapCompose(normalize_text)
    body_out = Compose(Join(PARAGRAPH_SEPARATOR), lambda text: text or None)


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
    first = pages[0]
    loader = ArticleLoader()
    loader.add_value("url", canonical_page_url(first, origins))
    loader.add_value("post_id", first.post_id())
    loader.add_value("title", first.title())
    loader.add_value("subtitle", first.subtitle())
    loader.add_value("summary", first.summary())
    loader.add_value("authors", first.authors())
    loader.add_value("published", first.published())
    loader.add_value("modified", first.modified())
    loader.add_value("categories", first.categories())
    loader.add_value("tags", first.tags())
    credit = None
    for page in pages:
        paragraphs, page_credit = page.body_parts()
        loader.add_value("body", paragraphs)
        credit = page_credit or credit
    loader.add_value("image_url", first.image_url())
    loader.add_value("image_caption", first.image_caption())
    loader.add_value("image_credit", credit)
    loader.add_value("language", first.language())
    loader.add_value("source", source)
    moment = crawled_at or datetime.now(timezone.utc)
    loader.add_value("crawled_at", moment.astimezone(timezone.utc).isoformat(timespec="seconds"))
    item: ArticleItem = loader.load_item()
    item.word_count = len(item.body.split()) if item.body else 0
    return item
