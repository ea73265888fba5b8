"""The archive directory's files: ``<UTC time>.warc.gz``, the ``.warc.gz.part`` a run
writes, a free name when one is taken, and the directory fsync after a rename."""

from __future__ import annotations

from pathlib import Path

from newsspider.crawl.feedstorage import free_name as _free_name
from newsspider.crawl.feedstorage import fsync_directory

#: Make a rename in a directory durable (shared with the JSON Lines outputs).
fsync_dir = fsync_directory

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"


def free_name(path: Path, *, also: str = "") -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …; with ``also=".part"`` a name
    whose ``.part`` is being written counts as taken (two runs started in the same second)."""
    return _free_name(path, WARC_SUFFIX, also=also)
