"""``recover_archive_parts()``: the ``.warc.gz.part`` of a dead run becomes a readable
``.warc.gz``, cut after its last complete record (see the package docstring)."""

from __future__ import annotations

import logging
import os
from io import BytesIO
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from newsspider.crawl.archive.files import PART_SUFFIX, free_name
from newsspider.crawl.archive.reading import complete_members
from newsspider.crawl.feedstorage import fsync_directory

try:  # POSIX: a live run's .part is locked; elsewhere the run lock alone protects it
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


def _records_intact(data: bytes) -> int:
    """How many WARC records parse from ``data`` with their full declared length."""
    count = 0
    try:
        for record in ArchiveIterator(BytesIO(data), no_record_parse=True):
            block = record.raw_stream.read()
            if record.length is not None and len(block) != int(record.length):
                break
            count += 1
    except Exception:  # warcio raises various errors on damaged input
        pass
    return count


def recover_archive_parts(directory: str | Path) -> list[Path]:
    """Turn the ``.warc.gz.part`` files of dead runs in ``directory`` into readable
    ``.warc.gz`` files: cut after the last complete record (a record cut off by ``kill -9``
    is dropped), fsync, rename.  A ``.part`` still locked by a live run is left alone; one
    without any complete record is removed.  Returns the files written."""
    directory = Path(directory)
    written: list[Path] = []
    if not directory.is_dir():
        return written
    for part in sorted(directory.glob(f"*{PART_SUFFIX}")):
        with part.open("r+b") as fh:
            if fcntl is not None:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    continue  # a live run is writing it
            ends = list(complete_members(fh))
            fh.seek(0)
            data = fh.read(ends[-1]) if ends else b""
            intact = _records_intact(data)
            keep = ends[intact - 1] if intact else 0
            size = fh.seek(0, os.SEEK_END)
            if intact:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
        if not intact:
            part.unlink()
            logger.warning("Removed an interrupted run's archive without a complete record: %s", part)
            continue
        final = free_name(part.with_name(part.name[: -len(".part")]))
        os.replace(part, final)
        fsync_directory(directory)
        written.append(final)
        logger.warning("Recovered %d records of an interrupted run's archive into %s (%d bytes cut off)",
                       intact, final, size - keep)
    return written
