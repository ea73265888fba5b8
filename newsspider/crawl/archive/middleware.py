"""``WarcArchiveMiddleware``: the spider middleware handing the run's ``WarcArchive`` exactly
the responses that reach a callback, before the callback sees them."""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from newsspider.crawl.archive.writer import WarcArchive


class WarcArchiveMiddleware:
    """Spider middleware (after ``HttpErrorMiddleware``): every response that reaches a
    callback is written to the run's archive before the callback runs, so no item of that
    callback can reach the output before its page is in the file — not even in a
    ``kill -9``'d run's ``.part``."""

    def __init__(self, archive: WarcArchive) -> None:
        self.archive = archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        archive = crawler.get_extension(WarcArchive)
        if archive is None:
            raise NotConfigured  # no archive in this run (no message: Scrapy would log a WARNING)
        return cls(archive)

    def process_spider_input(self, response: Response) -> None:
        if response.status == 304:
            return  # a revalidation answered "not modified": nothing was served to keep
        self.archive.record(response, self.archive.crawler.spider)
