"""The item pipelines on their own: what they drop and what they count."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newsspider.crawl.export.pipelines import DropDuplicates
from newsspider.items import ArticleItem


def test_drop_duplicates_by_url_or_post_id() -> None:
    crawler = get_crawler()
    pipeline = DropDuplicates.from_crawler(crawler)
    first = ArticleItem(url="https://georgiatoday.ge/a/", post_id=1)
    assert pipeline.process_item(first) is first
    assert pipeline.process_item(ArticleItem(url="https://georgiatoday.ge/b/", post_id=None)) is not None
    assert pipeline.process_item(ArticleItem(url="https://georgiatoday.ge/%e1%83%a5/", post_id=3)) is not None
    for again in (ArticleItem(url="https://georgiatoday.ge/a/", post_id=2),    # same URL
                  ArticleItem(url="https://georgiatoday.ge/c/", post_id=1),    # same post id
                  ArticleItem(url="https://georgiatoday.ge/b/", post_id=None),
                  ArticleItem(url="https://georgiatoday.ge/%e1%83%a5/", post_id=None)):
        with pytest.raises(DropItem, match=r"^duplicate: "):
            pipeline.process_item(again)
    assert crawler.stats.get_value("newsspider/dropped/duplicate") == 4
    assert pipeline.process_item(ArticleItem(url="https://georgiatoday.ge/a", post_id=None)) is not None  # another URL


def test_what_duplicates_has_seen_is_not_kept_in_memory() -> None:
    """Memory must not grow with the articles: the URLs and ids seen live in the run's
    scratch file (a bounded SQLite page cache), not in Python sets."""
    import gc
    import tracemalloc

    pipeline = DropDuplicates(None)
    items = [ArticleItem(url=f"https://georgiatoday.ge/article-number-{n}-with-a-long-slug/", post_id=n)
             for n in range(5000)]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for item in items:
        pipeline.process_item(item)
    gc.collect()  # the ItemAdapters of the items, not the pipeline's
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert grown < 100_000, grown  # a set of 5000 URLs alone is ~1 MB
    with pytest.raises(DropItem):  # and it does remember them
        pipeline.process_item(ArticleItem(url=items[4321].url, post_id=None))
