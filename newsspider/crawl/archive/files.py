"""The archive directory's files: ``<UTC time>.warc.gz``, the ``.warc.gz.part`` a run
writes, and a free name when one is taken (the directory fsync after a rename is
``newsspider.crawl.output.feedstorage.fsync_directory``, shared with the JSON Lines outputs)."""

from __future__ import annotations

from pathlib import Path

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"


def free_name(path: Path, *, also: str = "") -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …; with ``also=".part"`` a name
    whose ``.part`` is being written counts as taken (two runs started in the same second)."""
    from newsspider.crawl.output.feedstorage import free_name as shared  # Scrapy: not in the writer process

    return shared(path, WARC_SUFFIX, also=also)
