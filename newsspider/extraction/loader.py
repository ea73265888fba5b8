"""``load_article`` and ``ArticleLoader``: the parsed page(s) of one post → an ``ArticleItem``.

Extraction hands over each field's raw values, its sources in precedence order (a method
of ``ArticlePage``, or of ``Post`` for the fields that span a post's pages); the
``ArticleLoader``, a Scrapy ``ItemLoader``, normalizes them: one ``<field>_in``/
``<field>_out`` pair per field, plain functions of ``newsspider.normalize`` (entities
decoded, whitespace and Unicode normalized, dates in ISO 8601 with a time and an offset,
a day alone at midnight Tbilisi time; URLs canonical, ids as ints), the first usable
value winning unless the field is a list.

``load_article`` is the one way an item is built: the spider's article callback,
``newsspider extract`` and ``reextract`` all call it, so what the tool prints is what the
crawl emits and what reextract rebuilds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from itemloaders.processors import Compose, MapCompose, TakeFirst
from scrapy.loader import ItemLoader

from newsspider.extraction.article import ArticlePage
from newsspider.extraction.post import Post
from newsspider.items import ArticleItem
from newsspider.normalize import (
    absolute_http_url,
    canonical_url,
    clean_text,
    normalize_text,
    parse_language,
    parse_post_id,
    parse_timestamp,
    unique,
    utc_timestamp,
)
from newsspider.site import SOURCE_NAME


def join_paragraphs(paragraphs: list[str]) -> str | None:
    """The body: paragraphs joined by a blank line; no paragraphs, no body (None, not "":
    a loader that starts from an item's field defaults outputs every field)."""
    return "\n\n".join(paragraphs) or None


class ArticleLoader(ItemLoader):
    """Loads an ``ArticleItem``: add raw values per field (in precedence order), get the
    normalized item.  Input processors drop what they turn into None; a field without a
    usable value stays unset (null, or [] for a list)."""

    default_item_class = ArticleItem
    default_output_processor = TakeFirst()

    url_in = MapCompose(canonical_url)
    post_id_in = MapCompose(parse_post_id)
    title_in = MapCompose(clean_text)
    subtitle_in = MapCompose(clean_text)
    summary_in = MapCompose(clean_text)
    authors_in = MapCompose(clean_text)
    authors_out = Compose(unique)
    published_in = MapCompose(parse_timestamp)
    modified_in = MapCompose(parse_timestamp)
    categories_in = MapCompose(clean_text)
    categories_out = Compose(unique)
    tags_in = MapCompose(clean_text)
    tags_out = Compose(unique)
    # Paragraphs are DOM text: entities are already decoded once by the parser, and
    # decoding again would turn a literal "&amp;" in an article into "&".
    body_in = MapCompose(normalize_text)
    body_out = Compose(join_paragraphs)
    image_url_in = MapCompose(absolute_http_url)
    image_caption_in = MapCompose(clean_text)
    image_credit_in = MapCompose(clean_text)
    language_in = MapCompose(parse_language)
    source_in = MapCompose(clean_text)
    crawled_at_in = MapCompose(utc_timestamp)

    def load_item(self) -> ArticleItem:
        """The item, with ``word_count`` = the number of whitespace-separated words of its body."""
        item: ArticleItem = super().load_item()
        item.word_count = len(item.body.split()) if item.body else 0
        return item


def load_article(
    pages: Sequence[ArticlePage],
    *,
    crawled_at: datetime | None = None,
    source: str = SOURCE_NAME,
) -> ArticleItem:
    """The item of a post from its pages, page 1 first, each made with its canonical URL
    (``https://georgiatoday.ge/…``): fields from page 1, body and image credit from all
    pages.  Call ``check_article()`` on page 1 first.  ``crawled_at``: the fetch time
    (default: now)."""
    page, post = pages[0], Post(pages)
    loader = ArticleLoader()
    loader.add_value("url", page.urls())
    loader.add_value("post_id", page.post_id())
    loader.add_value("title", page.title())
    loader.add_value("subtitle", page.subtitle())
    loader.add_value("summary", page.summary())
    loader.add_value("authors", page.authors())
    loader.add_value("published", page.published())
    loader.add_value("modified", page.modified())
    loader.add_value("categories", page.categories())
    loader.add_value("tags", page.tags())
    loader.add_value("body", post.body())
    loader.add_value("image_url", page.image_url())
    loader.add_value("image_caption", page.image_caption())
    loader.add_value("image_credit", post.image_credit())
    loader.add_value("language", page.language())
    loader.add_value("source", source)
    loader.add_value("crawled_at", crawled_at or datetime.now(timezone.utc))
    return loader.load_item()
