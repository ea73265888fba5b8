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

from newsspider.crawl.export.feedstorage import AtomicFileFeedStorage, GuardedFile


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


# --- system calls of the crawl process, recorded and broken ---------------------------------
def install_syscall_hooks(environ: Any = os.environ) -> None:
    """Wrap ``os.fsync``/``os.fdatasync``/``os.rename``/``os.replace``/``os.write`` and
    ``sqlite3.connect`` in this process; called at interpreter start by the crawl command of
    ``tests/test_guards.py`` (before Scrapy: the recovery of a dead run's files at start-up
    is seen too).  Set by environment variables, each optional:

    ``GUARD_SYSCALL_LOG``: a JSON Lines file, one event per fsync (``fdatasync`` too) and per
    rename: the call, the path (``/proc/self/fd``), its size when fsync'd, the target of a
    rename, the URLs in ``GUARD_STATE``'s ``articles`` table at that instant (read on a
    connection of its own) and ``PRAGMA synchronous`` of the crawl's own connections to it.
    ``GUARD_EIO``: ``fsync:GLOB`` — fsync(2) of a file matching GLOB fails with EIO;
    ``write:GLOB:BYTES`` — write(2) to it writes up to BYTES bytes in the file, then fails
    with EIO.
    ``GUARD_SQLITE_SYNCHRONOUS``: every new SQLite connection starts with this
    ``synchronous`` (``NORMAL``: as an SQLite built with that default)."""
    import fnmatch
    import json
    import sqlite3
    import threading

    log_path = environ.get("GUARD_SYSCALL_LOG")
    state = os.path.realpath(environ["GUARD_STATE"]) if environ.get("GUARD_STATE") else None
    fault, _, rest = environ.get("GUARD_EIO", "").partition(":")
    pattern, _, limit = rest.partition(":")
    synchronous = environ.get("GUARD_SQLITE_SYNCHRONOUS")
    real = {name: getattr(os, name) for name in ("write", "fsync", "fdatasync", "rename", "replace")}
    connect = sqlite3.connect
    own: list[sqlite3.Connection] = []  # the crawl's connections to the state file
    lock = threading.Lock()

    def path_of(fd: int) -> str:
        try:
            return os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return ""

    def articles() -> list[str] | None:
        if state is None or not os.path.exists(state):
            return None
        db = connect(f"file:{state}?mode=ro", uri=True, isolation_level=None)
        try:
            return sorted(row[0] for row in db.execute("SELECT url FROM articles"))
        except sqlite3.Error:
            return None  # no table yet
        finally:
            db.close()

    def pragmas() -> list[int]:
        values = []
        for db in own:
            try:
                values.append(db.execute("PRAGMA synchronous").fetchone()[0])
            except sqlite3.Error:
                continue  # closed
        return values

    def record(call: str, path: str, **more: Any) -> None:
        if log_path:
            event = {"call": call, "path": path, **more, "articles": articles(), "synchronous": pragmas()}
            with lock, open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(event) + "\n")

    def eio() -> OSError:
        return OSError(errno.EIO, os.strerror(errno.EIO))

    def write(fd: int, data: Any) -> int:
        if fault == "write" and fnmatch.fnmatchcase(path_of(fd), pattern):
            room = int(limit) - os.lseek(fd, 0, os.SEEK_CUR)
            if room <= 0:
                raise eio()
            data = memoryview(data)[:room]  # a short write, as write(2) does
        return int(real["write"](fd, data))

    def syncer(call: str) -> Any:
        def sync(fd: int) -> None:
            path = path_of(fd)
            if fault == "fsync" and fnmatch.fnmatchcase(path, pattern):
                raise eio()
            real[call](fd)
            record("fsync", path, size=os.fstat(fd).st_size, how=call)
        return sync

    def renamer(call: str) -> Any:
        def rename(src: Any, dst: Any, **kwargs: Any) -> None:
            real[call](src, dst, **kwargs)
            record("rename", os.path.abspath(src), to=os.path.abspath(dst), how=call)
        return rename

    def connect_hooked(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = connect(database, *args, **kwargs)
        if synchronous:
            db.execute(f"PRAGMA synchronous={synchronous}")
        if state is not None and isinstance(database, (str, os.PathLike)) and \
                os.path.realpath(database) == state:
            own.append(db)
        return db

    os.write = write
    os.fsync, os.fdatasync = syncer("fsync"), syncer("fdatasync")
    os.rename, os.replace = renamer("rename"), renamer("replace")
    sqlite3.connect = connect_hooked  # type: ignore[assignment]
