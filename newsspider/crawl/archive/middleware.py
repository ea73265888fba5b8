"""``WarcArchiveMiddleware``: the spider middleware handing the run's ``WarcArchive`` exactly
the responses that reach a callback, and holding a callback's items until that response's
records are in the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from newsspider.crawl.archive.writer import WarcArchive


class WarcArchiveMiddleware:
    """Spider middleware (after ``HttpErrorMiddleware``): every response that reaches a
    callback goes to the run's archive before the callback sees it, and no item of that
    callback passes before its records are in the file — not even in a ``kill -9``'d
    run's ``.part`` is an item exported whose page is not archived."""

    def __init__(self, archive: WarcArchive) -> None:
        self.archive = archive
        self._pages: WeakKeyDictionary[Response, int] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        archive = crawler.get_extension(WarcArchive)
        if archive is None:
            raise NotConfigured  # no archive in this run (no message: Scrapy would log a WARNING)
        return cls(archive)

    def process_spider_input(self, response: Response) -> None:
        if response.status == 304:
            return  # a revalidation answered "not modified": nothing was served to keep
        page = self.archive.record(response, self.archive.crawler.spider)
        if page is not None:
            self._pages[response] = page

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Requests pass at once; the first item waits until the page is written (by then
        it almost always is: the writer works while the callback parses)."""
        page = self._pages.pop(response, None)
        async for output in result:
            if page is not None and not isinstance(output, Request):
                self.archive.wait_for(page)
                page = None
            yield output
