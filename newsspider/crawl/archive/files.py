"""The archive directory's files: ``<UTC time>.warc.gz`` and its CDXJ index
``<UTC time>.cdxj``, the ``.part`` names they have while written, a free name when one is
taken, and ``seal()``: how a finished file becomes durable and indexed (the run's own at
its commit point, a dead run's in recovery)."""

from __future__ import annotations

import os
from pathlib import Path

from newsspider.crawl.output.feedstorage import free_name as _free_name
from newsspider.crawl.output.feedstorage import fsync_directory

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"
INDEX_SUFFIX = ".cdxj"
INDEX_PART_SUFFIX = ".cdxj.part"


def free_name(path: Path, *, also: str = "") -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …; with ``also=".part"`` a name
    whose ``.part`` is being written counts as taken (two runs started in the same second)."""
    return _free_name(path, WARC_SUFFIX, also=also)


def index_path(warc: Path) -> Path:
    """``<stem>.cdxj`` beside ``<stem>.warc.gz``."""
    return warc.with_name(warc.name[: -len(WARC_SUFFIX)] + INDEX_SUFFIX)


def write_index(warc: Path) -> Path:
    """Write ``warc``'s CDXJ index — exactly what ``cdxj-indexer --sort`` writes, the index
    pywb reads (``filename`` = the WARC's base name) — atomically: ``<stem>.cdxj.part``,
    fsync, rename.  The caller fsyncs the directory."""
    from cdxj_indexer.main import CDXJIndexer  # here: its imports take a third of a second

    index = index_path(warc)
    part = index.with_name(index.name + ".part")
    try:
        with part.open("w", encoding="utf-8") as fh:
            CDXJIndexer(fh, [str(warc)], sort=True).process_all()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, index)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return index


def seal(fd: int, part: Path, final: Path) -> None:
    """Make the complete ``part`` (open as ``fd``) durable as ``final``: fsync, rename,
    its index written (``write_index``), the directory fsynced (both renames durable)."""
    os.fsync(fd)
    os.replace(part, final)
    try:
        write_index(final)
    finally:
        fsync_directory(final.parent)
