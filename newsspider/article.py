"""Turn the parsed page(s) of one post into an ``ArticleItem``.

Used by the spider's article callback and by ``python -m newsspider.extract``: the same
code path, so what the tool prints is what the crawl emits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from newsspider.extraction import ArticlePage
from newsspider.items import ArticleItem
from newsspider.loaders import ArticleLoader
from newsspider.urls import OriginMap

SOURCE_NAME = "Georgia Today"


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
