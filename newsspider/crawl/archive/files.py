"""The archive directory's files: ``<UTC time>.warc.gz``, the ``.warc.gz.part`` a run
writes, a free name when one is taken, and the directory fsync after a rename."""

from __future__ import annotations

import os
from pathlib import Path

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"


def fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def free_name(path: Path) -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …"""
    candidate, n = path, 0
    stem = path.name[: -len(WARC_SUFFIX)] if path.name.endswith(WARC_SUFFIX) else path.stem
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}-{n}{WARC_SUFFIX}")
    return candidate
