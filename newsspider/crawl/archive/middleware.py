"""``WarcArchiveMiddleware``: the spider middleware handing the run's ``WarcArchive`` exactly
the responses that reach a callback, and holding a callback's items until that response's
records are in the file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import Future
from typing import Any
from weakref import WeakKeyDictionary

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from newsspider.crawl.archive.writer import WarcArchive


class WarcArchiveMiddleware:
    """Spider middleware (after ``HttpErrorMiddleware``): every response that reaches a
    callback goes to the run's ``WarcArchive`` before the callback sees it."""

    def __init__(self, archive: WarcArchive) -> None:
        self.archive = archive
        self._jobs: WeakKeyDictionary[Response, Future[None]] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        archive = crawler.get_extension(WarcArchive)
        if archive is None:
            raise NotConfigured  # no archive in this run (no message: Scrapy would log a WARNING)
        return cls(archive)

    def process_spider_input(self, response: Response) -> None:
        if response.status == 304:
            return  # a revalidation answered "not modified": nothing was served to keep
        job = self.archive.record(response, self.archive.crawler.spider)
        if job is not None:
            self._jobs[response] = job

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """No item passes before its response is in the archive file (after ``kill -9``
        every exported article is archived); requests pass at once."""
        job = self._jobs.pop(response, None)
        async for output in result:
            if job is not None and not isinstance(output, Request):
                if not job.done():
                    await asyncio.wrap_future(job)
                job = None
                self.archive.check_writer()
            yield output
