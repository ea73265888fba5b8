"""Watches a real ``scrapy crawl`` for tests/test_archive.py, loaded with
``-s EXTENSIONS={..., "archive_helpers.ArchiveWatch": 900}`` and
``-s ARCHIVE_TEST_EVENTS=<file>``.

It appends one JSON line per event to that file, as it happens (nothing is lost if the
crawl dies):

* ``["fsync", path]``, ``["replace", src, dst]``, ``["rename", src, dst]``: the crawl's
  ``os.fsync`` (path of the descriptor, from ``/proc/self/fd``), ``os.replace`` and
  ``os.rename`` calls;
* ``["checkpoint", point]``: the run's commit-protocol checkpoints (``before_commit`` …);
* ``["item", url, archived]`` when an item is scraped (is in the output): ``url`` is the
  URL of the page whose callback produced it, ``archived`` whether a response or revisit
  record of that URL is in the archive's ``.part`` **on disk** at that moment, read
  through a descriptor of its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from scrapy import signals
from warcio.archiveiterator import ArchiveIterator

from newsspider.crawl.archive import complete_members
from newsspider.crawl.run.extension import checkpoint


class ArchiveWatch:
    def __init__(self, crawler: Any) -> None:
        self.events = Path(crawler.settings.get("ARCHIVE_TEST_EVENTS"))
        self.archive = Path(crawler.settings.get("NEWSSPIDER_ARCHIVE_DIR"))
        self._wrap("fsync", lambda fd: [_fd_path(fd)])
        self._wrap("replace", lambda src, dst: [str(src), str(dst)])
        self._wrap("rename", lambda src, dst: [str(src), str(dst)])
        crawler.signals.connect(self.reached, signal=checkpoint)
        crawler.signals.connect(self.item_scraped, signal=signals.item_scraped)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ArchiveWatch:
        return cls(crawler)

    def note(self, *event: Any) -> None:
        with self.events.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(event) + "\n")

    def _wrap(self, name: str, describe: Callable[..., list[str]]) -> None:
        original = getattr(os, name)

        def watched(*args: Any, **kwargs: Any) -> Any:
            if not kwargs:
                self.note(name, *describe(*args))
            return original(*args, **kwargs)

        setattr(os, name, watched)

    def reached(self, point: str, **kwargs: Any) -> None:
        self.note("checkpoint", point)

    def item_scraped(self, item: Any, response: Any, **kwargs: Any) -> None:
        self.note("item", response.url, response.url in self.archived_urls())

    def archived_urls(self) -> set[str]:
        urls: set[str] = set()
        for part in self.archive.glob("*.warc.gz.part"):
            with part.open("rb") as fh:
                ends = list(complete_members(fh))
                fh.seek(0)
                data = fh.read(ends[-1] if ends else 0)
            for record in ArchiveIterator(BytesIO(data)):
                if record.rec_type in ("response", "revisit"):
                    urls.add(record.rec_headers.get_header("WARC-Target-URI"))
        return urls


def _fd_path(fd: int) -> str:
    return os.readlink(f"/proc/self/fd/{fd}")
