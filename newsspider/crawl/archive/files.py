"""The archive directory's files: ``<UTC time>.warc.gz`` and its CDXJ index
``<UTC time>.cdxj``, the ``.part`` names they have while written, a free name when one is
taken, the index's lines (``IndexLines``, ``write_index``) and ``seal()``: how a finished
file becomes durable and indexed (the run's own at its commit point, a dead run's in
recovery)."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsspider.crawl.export.feedstorage import free_name as _free_name
from newsspider.crawl.export.feedstorage import fsync_directory

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"
INDEX_SUFFIX = ".cdxj"
INDEX_PART_SUFFIX = ".cdxj.part"


def free_name(path: Path, *, also: str = "") -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …; with ``also=".part"`` a name
    whose ``.part`` is being written counts as taken (two runs started in the same second)."""
    return _free_name(path, WARC_SUFFIX, also=also)


def index_path(warc: Path) -> Path:
    """``<stem>.cdxj`` beside ``<stem>.warc.gz`` (or a plain ``<stem>.warc``)."""
    for suffix in (WARC_SUFFIX, ".warc"):
        if warc.name.endswith(suffix):
            return warc.with_name(warc.name[: -len(suffix)] + INDEX_SUFFIX)
    return warc.with_name(warc.name + INDEX_SUFFIX)


def _cdxj_indexer(output: Any, inputs: Sequence[Any], **options: Any) -> Any:
    from cdxj_indexer.main import CDXJIndexer  # imported when needed: it takes a fifth of a second

    return CDXJIndexer(output, inputs, **options)


class _Located:
    """Where a record is in its file: all that cdxj-indexer asks of the ``ArchiveIterator``
    it reads a file with."""

    def __init__(self, offset: int, length: int) -> None:
        self.offset, self.length = offset, length

    def get_record_offset(self) -> int:
        return self.offset

    def get_record_length(self) -> int:
        return self.length


class IndexLines:
    """The CDXJ lines of the WARC file ``filename`` while it is written: cdxj-indexer's own
    line (``CDXJIndexer.process_index_entry``: its fields, SURT key and format) of each
    response or revisit record, from the record and where it was written, so that the
    finished file need not be read again."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self._indexer = _cdxj_indexer(None, [])
        self._indexer.curr_filename = filename
        self._lines = io.StringIO()

    def add(self, record: Any, offset: int, length: int) -> None:
        self._indexer.process_index_entry(_Located(offset, length), record, self.filename, self._lines)

    def sorted(self) -> list[str]:
        """The lines in the order of ``cdxj-indexer --sort``."""
        return sorted(self._lines.getvalue().splitlines(keepends=True))


def write_index(warc: Path, lines: Sequence[str] | None = None) -> Path:
    """Write ``warc``'s CDXJ index — what ``cdxj-indexer --sort`` writes, the index pywb
    reads (``filename`` = the WARC's base name): ``lines`` (``IndexLines.sorted()``), or
    else made by reading the file — atomically: ``<stem>.cdxj.part``, fsync, rename.  The
    caller fsyncs the directory."""
    index = index_path(warc)
    part = index.with_name(index.name + ".part")
    try:
        with part.open("w", encoding="utf-8") as fh:
            if lines is None:
                _cdxj_indexer(fh, [str(warc)], sort=True).process_all()
            else:
                fh.writelines(lines)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(part, index)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return index


def seal(fd: int, part: Path, final: Path, lines: Sequence[str] | None = None) -> None:
    """Make the complete ``part`` (open as ``fd``) durable as ``final``: fsync, rename,
    its index written (``write_index``), the directory fsynced (both renames durable)."""
    os.fsync(fd)
    os.replace(part, final)
    try:
        write_index(final, lines)
    finally:
        fsync_directory(final.parent)
