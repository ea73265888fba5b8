"""Fault injection for tests/test_cron.py, loaded into the real ``scrapy crawl`` with ``-s``.

``BlankFields`` (an item pipeline placed before validation) empties chosen fields of the
first N items: ``-s CRON_TEST_BLANK=title:2`` or ``authors:6``.
``RaiseInSpider`` (a spider middleware) raises from the spider output of the first N
article responses: ``-s CRON_TEST_RAISE=1``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from itemadapter import ItemAdapter


class BlankFields:
    def __init__(self, spec: str) -> None:
        name, _, count = spec.partition(":")
        self.name, self.left = name, int(count or 0)

    @classmethod
    def from_crawler(cls, crawler: Any) -> BlankFields:
        return cls(crawler.settings.get("CRON_TEST_BLANK", ""))

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if self.name and self.left > 0:
            self.left -= 1
            ItemAdapter(item)[self.name] = [] if self.name in ("authors", "tags", "categories") else None
        return item


class RaiseInSpider:
    def __init__(self, count: int) -> None:
        self.left = count

    @classmethod
    def from_crawler(cls, crawler: Any) -> RaiseInSpider:
        return cls(crawler.settings.getint("CRON_TEST_RAISE", 0))

    async def process_spider_output(
        self, response: Any, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for entry in result:
            if self.left > 0 and type(entry).__name__ == "ArticleItem":
                self.left -= 1
                raise RuntimeError(f"injected failure for {response.url}")
            yield entry
