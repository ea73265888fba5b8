"""The digest index ``<archive dir>/digests.sqlite3``: each archived payload digest ->
the first response record holding it, so a payload already archived (this run or an
earlier one) is written as a ``revisit``.  Only a cache of the archives (see the package
docstring)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from newsspider.crawl.archive.files import WARC_SUFFIX

logger = logging.getLogger(__name__)

INDEX_NAME = "digests.sqlite3"


def response_digests(path: Path) -> Iterator[tuple[str, str, str]]:
    """``(payload digest, target URI, WARC-Date)`` of each response record of a WARC file."""
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type != "response":
                continue
            headers = record.rec_headers
            digest = headers.get_header("WARC-Payload-Digest")
            if digest:
                yield digest, headers.get_header("WARC-Target-URI") or "", headers.get_header("WARC-Date") or ""


class DigestIndex:
    """``digests.sqlite3`` in the archive directory: payload digest -> first response record
    (URI, WARC-Date, file), and the set of files it covers; rebuilt from the archives for
    any file it does not cover."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / INDEX_NAME
        self.db = sqlite3.connect(self.path, timeout=30)
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS digests "
                            "(digest TEXT PRIMARY KEY, uri TEXT NOT NULL, date TEXT NOT NULL, file TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS files (name TEXT PRIMARY KEY)")

    def sync(self, directory: Path) -> int:
        """Index the ``.warc.gz`` files of ``directory`` not indexed yet and forget the
        files no longer there (a deleted archive must not be the original of a revisit);
        returns how many files were indexed."""
        known = {row[0] for row in self.db.execute("SELECT name FROM files")}
        gone = [name for name in known if not (directory / name).is_file()]
        if gone:
            with self.db:
                self.db.executemany("DELETE FROM digests WHERE file = ?", ((name,) for name in gone))
                self.db.executemany("DELETE FROM files WHERE name = ?", ((name,) for name in gone))
        done = 0
        for path in sorted(directory.glob(f"*{WARC_SUFFIX}")):
            if path.name in known:
                continue
            try:
                rows = list(response_digests(path))
            except Exception as exc:  # an unreadable file: leave it out of the index
                logger.warning("Archive %s unreadable, not indexed (%s)", path, exc)
                continue
            self.add_file(path.name, rows)
            done += 1
        return done

    def add_file(self, name: str, rows: Iterable[tuple[str, str, str]]) -> None:
        with self.db:
            self.db.executemany("INSERT OR IGNORE INTO digests VALUES (?, ?, ?, ?)",
                                ((digest, uri, date, name) for digest, uri, date in rows))
            self.db.execute("INSERT OR IGNORE INTO files VALUES (?)", (name,))

    def lookup(self, digest: str) -> tuple[str, str] | None:
        row = self.db.execute("SELECT uri, date FROM digests WHERE digest = ?", (digest,)).fetchone()
        return (row[0], row[1]) if row else None

    def close(self) -> None:
        self.db.close()
