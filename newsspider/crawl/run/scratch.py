"""A run's scratch memory on disk: what grows with the number of articles lives here.

A full crawl of the archive meets every article once; remembering each in Python sets and
lists (requested URLs, links seen in each pagination chain, sitemap ``lastmod`` values, the
items waiting for the commit point, request fingerprints) made peak memory grow by ~2 KB
per article.  ``Scratch`` keeps them in a private SQLite file (unlinked as soon as it is
opened, so nothing is left behind even after ``kill -9``) with a small page cache: memory
stays flat, and each lookup costs a few microseconds.  It is never the state: nothing here
survives the run.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

SCHEMA = """
CREATE TABLE seen (kind INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY (kind, key)) WITHOUT ROWID;
CREATE TABLE lastmod (url TEXT PRIMARY KEY, lastmod TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE exported (seq INTEGER PRIMARY KEY, record BLOB NOT NULL);
CREATE TABLE backlog (seq INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL);
CREATE TABLE listed (source TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (source, url)) WITHOUT ROWID;
CREATE TABLE sources (source TEXT PRIMARY KEY) WITHOUT ROWID;
"""
#: Page cache of the scratch file, in KiB (SQLite's negative cache_size).
CACHE_KIB = 1024


class Scratch:
    def __init__(self, directory: str | None = None) -> None:
        fd, path = tempfile.mkstemp(prefix="newsspider-run-", suffix=".sqlite3", dir=directory)
        os.close(fd)
        try:
            self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        finally:
            os.unlink(path)  # the open connection keeps the file; nothing outlives the process
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", f"cache_size=-{CACHE_KIB}"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.executescript(SCHEMA)
        # One transaction for the whole run: nothing here needs to be durable, and a commit
        # per statement would cost a file write each.
        self.db.execute("BEGIN")
        self._kinds: dict[str, int] = {}
        self.exported_count = 0

    def _kind(self, kind: str) -> int:
        return self._kinds.setdefault(kind, len(self._kinds))

    # --- sets ---------------------------------------------------------------------------
    def first_time(self, kind: str, key: str) -> bool:
        """True the first time ``key`` is seen under ``kind`` (then it is remembered)."""
        cursor = self.db.execute("INSERT OR IGNORE INTO seen (kind, key) VALUES (?, ?)", (self._kind(kind), key))
        return cursor.rowcount == 1

    def new_keys(self, kind: str, keys: Iterable[str]) -> list[str]:
        """The keys not seen under ``kind`` before, in order; all of them remembered now."""
        return [key for key in keys if self.first_time(kind, key)]

    # --- the sitemaps' lastmod --------------------------------------------------------------
    def set_lastmod(self, url: str, lastmod: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO lastmod (url, lastmod) VALUES (?, ?)", (url, lastmod))

    def lastmod(self, url: str) -> str | None:
        row = self.db.execute("SELECT lastmod FROM lastmod WHERE url = ?", (url,)).fetchone()
        return row[0] if row else None

    # --- the posts the post sitemaps list --------------------------------------------------
    def list_posts(self, source: str, urls: Iterable[str]) -> None:
        self.db.execute("INSERT OR IGNORE INTO sources (source) VALUES (?)", (source,))
        self.db.executemany("INSERT OR IGNORE INTO listed (source, url) VALUES (?, ?)", ((source, u) for u in urls))

    def listed(self) -> dict[str, list[tuple[str, str | None]]]:
        """Sitemap read -> (url, its ``lastmod``) of every post it listed (none: it lists none now)."""
        by_source: dict[str, list[tuple[str, str | None]]] = {
            source: [] for (source,) in self.db.execute("SELECT source FROM sources")}
        for source, url, lastmod in self.db.execute(
                "SELECT source, url, lastmod FROM listed LEFT JOIN lastmod USING (url) ORDER BY source, url"):
            by_source.setdefault(source, []).append((url, lastmod))
        return by_source

    # --- URLs to request later (a post sitemap lists thousands at once) ----------------------
    def push(self, urls: Iterable[str]) -> None:
        self.db.executemany("INSERT INTO backlog (url) VALUES (?)", ((u,) for u in urls))

    def pop(self, count: int) -> list[str]:
        """Up to ``count`` URLs, oldest first, removed from the backlog."""
        rows = self.db.execute("SELECT seq, url FROM backlog ORDER BY seq LIMIT ?", (count,)).fetchall()
        if rows:
            self.db.execute("DELETE FROM backlog WHERE seq <= ?", (rows[-1][0],))
        return [url for _, url in rows]

    # --- items waiting for the commit point ---------------------------------------------------
    def add_exported(self, record: Any) -> None:
        self.db.execute("INSERT INTO exported (seq, record) VALUES (?, ?)",
                        (self.exported_count, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)))
        self.exported_count += 1

    def exported(self, limit: int) -> Iterator[Any]:
        """The first ``limit`` records, in export order."""
        for (blob,) in self.db.execute("SELECT record FROM exported WHERE seq < ? ORDER BY seq", (limit,)):
            yield pickle.loads(blob)

