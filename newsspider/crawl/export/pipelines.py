"""Item pipelines: small classes, one job each, in the order of ``ITEM_PIPELINES``.

1. ``RequireFields`` — drop items missing a required field (WARNING + stat).
2. ``DropDuplicates`` — drop a second item for the same canonical URL or post id.

Each counts what it drops under ``newsspider/dropped/<reason>``; both judge articles only
(a ``Tombstone`` passes through: the spider emits one per URL and run).
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.statscollectors import StatsCollector

from newsspider.crawl.report import stats as S
from newsspider.crawl.run.scratch import Scratch
from newsspider.items import Tombstone


class _CountingPipeline:
    def __init__(self, stats: StatsCollector | None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler.stats)

    def drop(self, adapter: ItemAdapter, reason: str) -> DropItem:
        if self.stats is not None:
            self.stats.inc_value(S.dropped(reason))
        return DropItem(f"{reason}: {adapter.get('url')}")


class RequireFields(_CountingPipeline):
    """An item needs ``url``, ``title``, a non-empty ``body``, ``published`` and at
    least one author; anything else is a broken page, dropped with its reason."""

    REQUIRED = ("url", "title", "body", "published")

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, Tombstone):
            return item
        adapter = ItemAdapter(item)
        for name in self.REQUIRED:
            value = adapter.get(name)
            if not isinstance(value, str) or not value.strip():
                raise self.drop(adapter, f"missing_{name}")
        authors = adapter.get("authors")
        if not isinstance(authors, list) or not authors:
            raise self.drop(adapter, "missing_authors")
        return item


class DropDuplicates(_CountingPipeline):
    """Emit each article once per run: same canonical URL or same post id = duplicate.
    What it has seen is kept in the run's scratch file (flat memory on long crawls)."""

    def __init__(self, stats: StatsCollector | None, scratch: Scratch | None = None) -> None:
        super().__init__(stats)
        self.scratch = scratch or Scratch()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DropDuplicates:
        from newsspider.crawl.run.extension import RunExtension

        return cls(crawler.stats, RunExtension.of(crawler, default=True).ledger.scratch)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, Tombstone):
            return item
        adapter = ItemAdapter(item)
        url, post_id = str(adapter.get("url")), adapter.get("post_id")
        if not self.scratch.first_time("item url", url) or (
                post_id is not None and not self.scratch.first_time("item post id", str(post_id))):
            raise self.drop(adapter, "duplicate")
        return item
