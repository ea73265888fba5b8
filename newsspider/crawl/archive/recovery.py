"""``recover_archive_parts()``: the ``.warc.gz.part`` of a dead run becomes a readable,
indexed ``.warc.gz``, cut after its last complete record; the index a run was killed
writing is written again (see the package docstring)."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from pathlib import Path

from newsspider.crawl.archive.files import (
    INDEX_PART_SUFFIX,
    PART_SUFFIX,
    WARC_SUFFIX,
    free_name,
    seal,
    write_index,
)
from newsspider.crawl.archive.reading import complete_members
from newsspider.crawl.export.feedstorage import fsync_directory

logger = logging.getLogger(__name__)

#: Seconds a locked ``.part`` is given to be let go before it counts as a live run's.
LOCK_PATIENCE = 2.0


def _lock(fd: int, patience: float) -> bool:
    deadline = time.monotonic() + patience
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)


def recover_archive_parts(directory: str | Path, patience: float = LOCK_PATIENCE) -> list[Path]:
    """Turn the ``.warc.gz.part`` files of dead runs in ``directory`` into readable
    ``.warc.gz`` files: cut after the last complete record (``complete_members``: a record
    cut off by ``kill -9`` is dropped), then ``seal`` (fsync, rename, CDXJ index, directory
    fsync).  A ``.part`` still locked after ``patience`` seconds is a live run's and left
    alone; one without any complete record is removed.  Then the ``.cdxj.part`` of a run
    killed while indexing its finished file: the index is written again.  Returns the
    WARC files recovered."""
    directory = Path(directory)
    written: list[Path] = []
    if not directory.is_dir():
        return written
    for part in sorted(directory.glob(f"*{PART_SUFFIX}")):
        try:
            fh = part.open("r+b")
        except FileNotFoundError:
            continue  # its run finished it meanwhile
        with fh:  # the lock is held until the file is finished: one recoverer at a time
            if not _lock(fh.fileno(), patience):
                continue  # a live run is writing it
            if not _same_file(part, fh.fileno()):
                continue  # its run renamed it while we waited: finished, not dead
            ends = list(complete_members(fh))
            size = fh.seek(0, os.SEEK_END)
            if not ends:
                part.unlink()
                logger.warning("Removed an interrupted run's archive without a complete record: %s", part)
                continue
            # no live run held its lock: a dead run's file, which nobody writes any more
            os.ftruncate(fh.fileno(), ends[-1])
            final = free_name(part.with_name(part.name[: -len(".part")]))
            seal(fh.fileno(), part, final)
        written.append(final)
        logger.warning("Recovered %d records of an interrupted run's archive into %s (%d bytes cut off)",
                       len(ends), final, size - ends[-1])
    for index_part in sorted(directory.glob(f"*{INDEX_PART_SUFFIX}")):
        warc = index_part.with_name(index_part.name[: -len(INDEX_PART_SUFFIX)] + WARC_SUFFIX)
        try:
            indexed = warc.open("rb")
        except FileNotFoundError:  # its WARC was recovered under another name, and indexed there
            index_part.unlink(missing_ok=True)
            continue
        with indexed:  # a run holds its file's lock until its index is written
            if not _lock(indexed.fileno(), patience) or not index_part.exists():
                continue  # a live run is indexing it, or has just done so
            write_index(warc)
            fsync_directory(directory)
            logger.warning("Indexed %s, whose run was killed while indexing it", warc)
    return written


def _same_file(path: Path, fd: int) -> bool:
    try:
        named, opened = os.stat(path), os.fstat(fd)
    except FileNotFoundError:
        return False
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)
