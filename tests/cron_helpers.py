"""Fault injection for tests/test_cron.py, loaded into the real ``scrapy crawl`` with ``-s``.

``BlankFields`` (an item pipeline placed before validation) empties chosen fields of the
first N items: ``-s CRON_TEST_BLANK=title:2`` or ``authors:6``.
``RaiseInSpider`` (a spider middleware) raises from the spider output of the first N
article responses: ``-s CRON_TEST_RAISE=1``.
"""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from typing import Any

from itemadapter import ItemAdapter

from newsspider.crawl.output.feedstorage import AtomicFileFeedStorage, GuardedFile


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


class KillAt:
    """``kill -9`` of the crawl process at a named point of the commit protocol
    (``newsspider.crawl.run.extension.checkpoint``): ``-s CRON_TEST_KILL_AT=item_written:8`` (after
    the 8th item is in the output), ``before_rename``, ``before_commit``, ``after_commit``.
    Enable with ``-s EXTENSIONS={"cron_helpers.KillAt": 900}``."""

    def __init__(self, crawler: Any) -> None:
        import signal

        from newsspider.crawl.run.extension import checkpoint

        point, _, count = crawler.settings.get("CRON_TEST_KILL_AT", "").partition(":")
        self.point, self.left = point, int(count or 1)

        def reached(point: str, **kwargs: Any) -> None:
            if point == self.point:
                self.left -= 1
                if self.left <= 0:
                    os.kill(os.getpid(), signal.SIGKILL)

        self.reached = reached
        crawler.signals.connect(reached, signal=checkpoint)

    @classmethod
    def from_crawler(cls, crawler: Any) -> KillAt:
        return cls(crawler)


class _FillingFile(GuardedFile):
    limit = 0

    def write_some(self, data: memoryview) -> int:
        room = self.limit - os.lseek(self.fd, 0, os.SEEK_CUR)
        if room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return os.write(self.fd, data[:room])  # a short write, as write(2) does near the end


class FullDisk(AtomicFileFeedStorage):
    """A disk that fills up: ``write(2)`` on the output writes what fits, then fails with
    ENOSPC once the file holds ``CRON_TEST_DISK_BYTES`` bytes.  Enable with
    ``-s FEED_STORAGES={"file": "cron_helpers.FullDisk", "": "cron_helpers.FullDisk"}``."""

    @classmethod
    def from_crawler(cls, crawler: Any, uri: str, *, feed_options: dict[str, Any] | None = None) -> FullDisk:
        storage = super().from_crawler(crawler, uri, feed_options=feed_options)
        limit = crawler.settings.getint("CRON_TEST_DISK_BYTES")
        storage.file_class = type("Filling", (_FillingFile,), {"limit": limit})
        return storage  # type: ignore[return-value]


class _RunStateHook:
    """Base of the test extensions that break the run's state file on purpose."""

    def __init__(self, crawler: Any) -> None:
        from scrapy import signals

        self.crawler = crawler
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Any:
        return cls(crawler)

    def state(self) -> Any:
        from newsspider.crawl.run.extension import RunExtension

        run = RunExtension.of(self.crawler)
        assert run is not None and run.ledger.state is not None
        return run.ledger.state

    def spider_opened(self, spider: Any) -> None:
        raise NotImplementedError


class FillStateDisk(_RunStateHook):
    """The state's disk is full from now on: SQLite's ``max_page_count`` pinned to the
    file's size makes every write that needs a page fail with SQLITE_FULL ("database or
    disk is full"), as a full disk does."""

    def spider_opened(self, spider: Any) -> None:
        db = self.state().db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")


class DeleteState(_RunStateHook):
    """Someone deletes the state file while the crawl runs."""

    def spider_opened(self, spider: Any) -> None:
        os.unlink(self.state().path)
