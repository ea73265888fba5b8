"""The item pipelines on their own: what they drop and what they count."""

from __future__ import annotations

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newsspider.crawl.pipelines import DropDuplicates
from newsspider.items import ArticleItem
from newsspider.urls import url_key


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


def test_urls_seen_are_kept_as_64_bit_hashes() -> None:
    """Memory per article must stay small: an int per URL, not the URL."""
    pipeline = DropDuplicates(None)
    urls = [f"https://georgiatoday.ge/article-number-{n}-with-a-long-slug/" for n in range(5000)]
    for url in urls:
        pipeline.process_item(ArticleItem(url=url))
    assert pipeline.urls == {url_key(u) for u in urls}
    assert len(pipeline.urls) == 5000 and all(0 <= k < 2**64 for k in pipeline.urls)
