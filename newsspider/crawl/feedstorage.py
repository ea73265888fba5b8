"""Crash-safe local feed files for cron runs.

``AtomicFileFeedStorage`` replaces Scrapy's ``FileFeedStorage`` for local paths.  Feeds
without the ``atomic`` option (``-O out.jsonl``, ``-o …``) behave exactly as in Scrapy.
A feed with ``"atomic": True`` (the default ``FEEDS`` entry in ``settings.py``):

* is written to ``<final name>.<pid>.part`` without buffering (every exported line is in
  the file before the item is recorded in the state), and renamed to its final name when
  the feed is closed — a reader never sees a half-written ``*.jsonl``;
* with ``store_empty: False``, a run without items leaves no file at all;
* a ``.part`` file left by a killed run (its process is gone) is recovered by the next run
  writing to the same directory: cut after its last complete line, items not yet in the
  state recorded there, and renamed to its final name — so after ``kill -9`` and a rerun,
  the outputs taken together hold every article once.
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import IO, Any

from scrapy.extensions.feedexport import FileFeedStorage

from newsspider.crawl.state import State

logger = logging.getLogger(__name__)

PART = re.compile(r"^(?P<final>.+)\.(?P<pid>\d+)\.part$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_name(path: Path) -> Path:
    """``path`` or, if it exists, ``<stem>-1<suffix>``, ``-2`` …"""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def recover_parts(directory: Path, state: State | None) -> list[Path]:
    """Finish the ``.part`` files of dead runs in ``directory``; returns the files written."""
    written: list[Path] = []
    if not directory.is_dir():
        return written
    for part in sorted(directory.iterdir()):
        match = PART.match(part.name)
        if not match or _alive(int(match["pid"])):
            continue
        data = part.read_bytes()
        data = data[: data.rfind(b"\n") + 1]
        recorded = 0
        lines = [line for line in data.splitlines() if line.strip()]
        if state is not None:
            for line in lines:
                try:
                    item = json.loads(line)
                except ValueError:
                    continue
                if isinstance(item, dict) and item.get("url") and state.classify(item) != "unchanged":
                    state.record_article(item)
                    recorded += 1
        if not lines:
            part.unlink()
            logger.warning("Removed empty output of an interrupted run: %s", part)
            continue
        final = _free_name(part.with_name(match["final"]))
        with part.open("r+b") as fh:
            fh.truncate(len(data))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, final)
        written.append(final)
        logger.warning("Recovered %d items of an interrupted run into %s (%d newly recorded in the state)",
                       len(lines), final, recorded)
    return written


class AtomicFileFeedStorage(FileFeedStorage):
    """Local file feed storage; atomic (temp name + rename) when the feed option
    ``atomic`` is true, plain Scrapy behaviour otherwise."""

    def __init__(self, uri: str, *, feed_options: dict[str, Any] | None = None) -> None:
        super().__init__(uri, feed_options=feed_options)
        self.atomic = bool((feed_options or {}).get("atomic"))
        self.crawler: Any = None
        self.final_path: Path = Path(self.path)
        self.part_path: Path | None = None

    @classmethod
    def from_crawler(
        cls, crawler: Any, uri: str, *, feed_options: dict[str, Any] | None = None
    ) -> AtomicFileFeedStorage:
        storage = cls(uri, feed_options=feed_options)
        storage.crawler = crawler
        return storage

    def open(self, spider: Any) -> IO[bytes]:
        if not self.atomic:
            return super().open(spider)
        directory = self.final_path.parent
        directory.mkdir(parents=True, exist_ok=True)
        recover_parts(directory, State.for_crawler(self.crawler))
        self.part_path = self.final_path.with_name(f"{self.final_path.name}.{os.getpid()}.part")
        return self.part_path.open("wb", buffering=0)

    def store(self, file: IO[bytes]) -> None:
        if not self.atomic or self.part_path is None:
            super().store(file)
            return
        file.flush()
        os.fsync(file.fileno())
        file.close()
        if self.part_path.stat().st_size == 0:
            self.part_path.unlink()
            logger.info("Nothing new: no output file written")
            return None
        self.final_path = _free_name(self.final_path)
        os.replace(self.part_path, self.final_path)
        return None
