"""The crawl state: one SQLite file that says what has been exported, durably.

The invariant (docs/cron.md, "Exactly once"): **the state never runs ahead of the
output on disk.**  An article is recorded in ``articles`` only in the transaction of a
commit point, after its line is in an output file that has been flushed, fsync'd and
renamed into place — or by the recovery of such a file at the start of a later run.

Tables (``NEWSSPIDER_STATE_PATH``; an empty setting disables the state):

* ``articles`` — per exported article: canonical url, post_id, published, modified, the
  sitemap ``lastmod`` last seen for it, a content hash, first/last seen.
* ``aliases`` — other URLs (as requested, before redirects …) that led to an article,
  and those of pages dropped as its duplicates (same URL or post id).
* ``outcomes`` — final answers without an article: ``dead:404``/``dead:410``,
  ``not_article``.  Never fetched again by incremental runs (unless their sitemap
  ``lastmod`` moves).
* ``pending`` — transient failures: a page truncated or unreadable, an item dropped for a
  missing field, a request that failed after all retries, a 403.  Every later run fetches
  them again (``due_pending``) until they export, answer 404/410, or reach the bounds
  (attempts, days) and are given up — a full run tries given-up pages again too.
* ``outputs`` — the journal of atomic output files of runs: written when a ``.part`` file
  is opened and when its final name is chosen, deleted in the commit transaction.  A row
  left behind names an output whose items may not be in ``articles`` yet: the next run
  recovers it (``newsspider.crawl.export.feedstorage.recover_outputs``) before deciding anything.
* ``tombstones`` — articles the site took down or moved (``newsspider.items.Tombstone``),
  the latest per URL, recorded with the commit point that made their output line durable.
  A deletion takes the article's row (and aliases) out of ``articles`` and gives its URL a
  final outcome; a move renames the row (the post id is the article's identity), in the
  same transaction as the move's tombstone; an article exported again under a tombstoned
  URL (it came back) clears the tombstone.
* ``sitemap`` — every post the post sitemaps listed (url, ``lastmod``, the post sitemap
  that listed it): each sitemap's rows are replaced when a run that did its job read it
  whole, and a ``full``/``check`` run that read them all replaces the whole list
  (``sitemap_read`` in ``meta`` says when); ``coverage`` reconciles it with the tables
  above, and a post a re-read sitemap no longer lists is checked (``unlisted``).
* ``meta`` — ``horizon`` (the oldest publication date the state covers, '' = everything),
  ``open_run_started`` (a run that never finished), ``feed_failing_since``.

``StateLock`` (``fcntl.flock`` on ``<state>.lock``) makes sure one crawl process at a time
uses a state file; only the ``crawl`` command takes it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from newsspider.crawl.run.lock import StateLock
from newsspider.crawl.run.records import (
    ArticleRecord,
    Commit,
    Coverage,
    ExportRecord,
    MissingPost,
    PendingPage,
    TombstoneRecord,
    content_hash,
)
from newsspider.normalize import newer

__all__ = ["ArticleRecord", "Commit", "Coverage", "PendingPage", "State", "StateError", "StateLock", "content_hash",
           "coverage", "utcnow"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    url TEXT PRIMARY KEY,
    post_id INTEGER,
    published TEXT,
    modified TEXT,
    lastmod TEXT,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS articles_post_id ON articles(post_id);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, url TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (url TEXT PRIMARY KEY, outcome TEXT NOT NULL, checked TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (
    url TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    first_failed TEXT NOT NULL,
    last_failed TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 1,
    given_up INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outputs (part TEXT PRIMARY KEY, final TEXT, opened TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS validators (url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT, lastmod TEXT);
CREATE TABLE IF NOT EXISTS sitemap (url TEXT PRIMARY KEY, lastmod TEXT, source TEXT);
CREATE TABLE IF NOT EXISTS tombstones (
    url TEXT PRIMARY KEY,
    post_id INTEGER,
    detected_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    modified TEXT,
    moved_to TEXT
);
"""
#: States of the version before sitemaps were kept per post sitemap.
SITEMAP_SOURCE = "ALTER TABLE sitemap ADD COLUMN source TEXT"

#: State files of earlier versions: ``failed`` rows are pending pages.
MIGRATIONS = """
INSERT OR IGNORE INTO pending (url, reason, first_failed, last_failed, attempts)
    SELECT url, COALESCE(reason, 'failed'), first_failed, last_failed, failures FROM failed;
DROP TABLE failed;
"""
#: Earlier versions also kept transient answers (a dropped item, a 403) as final outcomes.
PENDING_OUTCOMES = """
BEGIN IMMEDIATE;
INSERT OR IGNORE INTO pending (url, reason, first_failed, last_failed)
    SELECT url, outcome, checked, checked FROM outcomes
    WHERE outcome LIKE 'dropped:%' OR (outcome LIKE 'dead:%' AND outcome NOT IN ('dead:404', 'dead:410'));
DELETE FROM outcomes
    WHERE outcome LIKE 'dropped:%' OR (outcome LIKE 'dead:%' AND outcome NOT IN ('dead:404', 'dead:410'));
COMMIT;
"""


#: An ``ArticleRecord`` as a row of ``articles``.
ARTICLE_COLUMNS = "url, post_id, published, modified, lastmod, content_hash, first_seen, last_seen"

#: Each listed post with what the state knows of it (the aliases' lookups use their keys).
COVERAGE_QUERY = """
SELECT s.url, s.lastmod,
       EXISTS (SELECT 1 FROM articles a WHERE a.url = s.url)
       OR EXISTS (SELECT 1 FROM aliases x JOIN articles a ON a.url = x.url WHERE x.alias = s.url),
       p.reason, p.given_up, o.outcome
FROM sitemap s LEFT JOIN pending p ON p.url = s.url LEFT JOIN outcomes o ON o.url = s.url
ORDER BY s.url
"""


class StateError(Exception):
    """The state could not be read or written (the path and the OS/SQLite error say why)."""


def coverage(db: sqlite3.Connection) -> Coverage | None:
    """The post sitemaps as the last full or check run that read them all found them (kept
    current by later runs' re-reads), against the dataset: in
    it (an exported article, under its URL or an alias), else pending (its reason), dead
    (404/410), not an article, or never fetched (no answer kept: skipped by ``since``, a
    run stopped first …).  None when no such run has read them into this state."""
    read = db.execute("SELECT value FROM meta WHERE key = 'sitemap_read'").fetchone()
    if read is None:
        return None
    listed = in_dataset = 0
    missing = []
    for url, lastmod, present, reason, given_up, outcome in db.execute(COVERAGE_QUERY):
        listed += 1
        if present:
            in_dataset += 1
        elif reason is not None:
            missing.append(MissingPost(url, "pending", reason, lastmod, bool(given_up)))
        elif outcome is not None and outcome.startswith("dead:"):
            missing.append(MissingPost(url, "dead", outcome.removeprefix("dead:"), lastmod))
        elif outcome is not None:
            missing.append(MissingPost(url, "not_article", "", lastmod))
        else:
            missing.append(MissingPost(url, "never_fetched", "", lastmod))
    return Coverage(read[0], listed, in_dataset, missing)


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class State:
    """The crawl state (one instance per crawl process, owned by the run extension).

    Opening checks that the file can be written (a run must not fetch anything it could
    not record); every failure is a ``StateError`` naming the path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed transaction survives power loss, as the output files do.
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA busy_timeout=10000")
            self.db.executescript(SCHEMA)
            if self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'failed'").fetchone():
                self.db.executescript(MIGRATIONS)
            self.db.executescript(PENDING_OUTCOMES)
            if "source" not in {row[1] for row in self.db.execute("PRAGMA table_info(sitemap)")}:
                self.db.execute(SITEMAP_SOURCE)
            problem = self.db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise sqlite3.DatabaseError(f"the file is damaged ({problem}): restore it from a backup, or start "
                                            "over with its outputs (make reset: rm -r output state archive)")
            self.set_meta("opened", utcnow())  # proves the file is writable now
            self.identity = self._identity()
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"state {self.path}: {exc}") from exc

    @staticmethod
    def bound_to(path: str | os.PathLike[str]) -> str | None:
        """The ``base_url`` the state at ``path`` was built from; None for no state yet, one
        from before states were bound, or one that cannot be read here (opening it for the
        run says why)."""
        if not Path(path).exists():
            return None
        try:
            db = State.read_only(path)
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'base_url'").fetchone()
            finally:
                db.close()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def _identity(self) -> tuple[int, int]:
        st = os.stat(self.path)
        return st.st_dev, st.st_ino

    def check_same_file(self) -> None:
        """StateError when the file was deleted or replaced since it was opened (the
        connection would write into a file nobody will read again)."""
        try:
            same = self._identity() == self.identity
        except OSError:
            same = False
        if not same:
            raise StateError(f"state {self.path}: the file was deleted or replaced during the run; nothing of "
                             "this run is recorded, and the next run starts from whatever state it finds there")

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass
        finally:
            self.db.close()

    # --- reading --------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def lookup(self, url: str) -> ArticleRecord | None:
        """The article recorded under this canonical URL or one of its aliases."""
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS}"
            " FROM articles WHERE url = ?"
            " OR url = (SELECT url FROM aliases WHERE alias = ?)",
            (url, url),
        ).fetchone()
        return ArticleRecord(*row) if row else None

    def by_post_id(self, post_id: int | None, other_than: str) -> ArticleRecord | None:
        """The article recorded for this post id under another URL (the post moved there)."""
        if post_id is None:
            return None
        row = self.db.execute(
            f"SELECT {ARTICLE_COLUMNS}"
            " FROM articles WHERE post_id = ? AND url != ? LIMIT 1", (post_id, other_than)).fetchone()
        return ArticleRecord(*row) if row else None

    def article_urls(self) -> list[str]:
        """Every article in the dataset, oldest first."""
        return [row[0] for row in self.db.execute("SELECT url FROM articles ORDER BY first_seen, url")]

    def unlisted(self, sitemap: str, listed: set[str]) -> list[str]:
        """Articles of the dataset that ``sitemap`` listed when last read and no longer lists."""
        rows = self.db.execute("SELECT s.url FROM sitemap s JOIN articles a ON a.url = s.url WHERE s.source = ?"
                               " ORDER BY s.url", (sitemap,))
        return [url for (url,) in rows if url not in listed]

    def tombstone(self, url: str) -> TombstoneRecord | None:
        row = self.db.execute("SELECT url, post_id, detected_at, reason, modified, moved_to FROM tombstones"
                              " WHERE url = ?", (url,)).fetchone()
        return TombstoneRecord(*row) if row else None

    def known(self, url: str) -> bool:
        return self.lookup(url) is not None

    def outcome(self, url: str) -> tuple[str, str] | None:
        """(outcome, checked) for a URL that gave a final answer without an article."""
        row = self.db.execute("SELECT outcome, checked FROM outcomes WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1]) if row else None

    def pending(self, url: str) -> PendingPage | None:
        row = self.db.execute("SELECT url, reason, first_failed, attempts, given_up FROM pending WHERE url = ?",
                              (url,)).fetchone()
        return PendingPage(row[0], row[1], row[2], row[3], bool(row[4])) if row else None

    def due_pending(self, *, include_given_up: bool = False) -> list[PendingPage]:
        """Pages a run should fetch again, oldest failure first."""
        rows = self.db.execute(
            "SELECT url, reason, first_failed, attempts, given_up FROM pending"
            + ("" if include_given_up else " WHERE given_up = 0") + " ORDER BY first_failed, url")
        return [PendingPage(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def classify(self, item: Mapping[str, Any]) -> str:
        """``new``, ``updated`` (content hash differs or ``modified`` is newer) or ``unchanged``."""
        return self.compare(item, self.lookup(item["url"]))

    @staticmethod
    def compare(item: Mapping[str, Any], record: ArticleRecord | None, digest: str | None = None) -> str:
        """``classify`` against a record already looked up (None: not recorded);
        ``digest`` is the item's ``content_hash`` when the caller has it already."""
        if record is None:
            return "new"
        if record.content_hash != (digest or content_hash(item)) or newer(item.get("modified"), record.modified):
            return "updated"
        return "unchanged"

    def coverage(self) -> Coverage | None:
        return coverage(self.db)

    @staticmethod
    def read_only(path: str | os.PathLike[str]) -> sqlite3.Connection:
        """A read-only connection to the state at ``path`` (``sqlite3.Error`` when it
        cannot be opened or is not a state)."""
        db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
        try:
            db.execute("SELECT 1 FROM meta LIMIT 1")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def validators(self, url: str) -> tuple[str | None, str | None, str | None]:
        """(ETag, Last-Modified, sitemap-index lastmod) last seen by a run that did its job."""
        row = self.db.execute("SELECT etag, last_modified, lastmod FROM validators WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1], row[2]) if row else (None, None, None)

    def journal(self) -> list[tuple[str, str | None]]:
        """Output files of earlier runs not committed yet: (part path, final path or None)."""
        return [(r[0], r[1]) for r in self.db.execute("SELECT part, final FROM outputs ORDER BY opened, part")]

    # --- writing --------------------------------------------------------------------------
    def _write(self, sql: str, params: Iterable[Any] = ()) -> None:
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                self.db.execute(sql, tuple(params))
        except sqlite3.Error as exc:
            raise StateError(f"state {self.path}: {exc}") from exc

    def set_meta(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def journal_open(self, part: str) -> None:
        self._write("INSERT OR REPLACE INTO outputs (part, final, opened) VALUES (?, NULL, ?)", (part, utcnow()))

    def journal_final(self, part: str, final: str) -> None:
        self._write("UPDATE outputs SET final = ? WHERE part = ?", (final, part))

    def journal_drop(self, part: str) -> None:
        self._write("DELETE FROM outputs WHERE part = ?", (part,))

    def commit(self, batch: Commit) -> dict[str, int]:
        """Apply a run's commit in one transaction; returns how many articles were
        ``new``/``updated``/``unchanged`` against the state before it.  StateError (and
        nothing written) when it fails."""
        counts = {"new": 0, "updated": 0, "unchanged": 0, "deleted": 0, "moved": 0}
        now = utcnow()
        try:
            with self.db:
                self.db.execute("BEGIN IMMEDIATE")
                for url, (lastmod, aliases) in batch.touched.items():
                    self._touch(url, lastmod, aliases, now)
                self.db.executemany(
                    "INSERT OR REPLACE INTO outcomes (url, outcome, checked) SELECT ?, ?, ?"
                    " WHERE NOT EXISTS (SELECT 1 FROM articles WHERE url = ?)",
                    [(url, outcome, now, url) for url, outcome in batch.outcomes.items()])
                self.db.executemany("DELETE FROM pending WHERE url = ?",
                                    [(u,) for u in (*batch.resolved, *batch.outcomes)])
                self.db.executemany(
                    "INSERT INTO pending (url, reason, first_failed, last_failed) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(url) DO UPDATE SET reason=excluded.reason, last_failed=excluded.last_failed,"
                    " attempts=attempts+1",
                    [(url, reason, now, now) for url, reason in batch.failures.items()])
                self.db.executemany("UPDATE pending SET given_up = 1 WHERE url = ?", [(u,) for u in batch.given_up])
                tombstones = list(batch.tombstones)
                for tombstone in tombstones:  # before the exports: the moved article is found under its new URL
                    if not tombstone.deletion:
                        self._move(tombstone)
                for record in batch.exported:  # after the failures: an export clears its pending row
                    counts[self._record(record, now)] += 1
                for tombstone in tombstones:
                    counts["deleted" if tombstone.deletion else "moved"] += 1
                    self._bury(tombstone)
                # aliases only of articles in the state (this transaction's exports included)
                self.db.executemany(
                    "INSERT OR IGNORE INTO aliases (alias, url) SELECT ?, url FROM articles"
                    " WHERE (url = ? OR post_id = ?) AND NOT EXISTS (SELECT 1 FROM articles WHERE url = ?)"
                    " ORDER BY url = ? DESC LIMIT 1",
                    [(url, item_url, post_id, url, item_url) for url, (item_url, post_id) in batch.duplicates.items()])
                self.db.executemany("DELETE FROM outputs WHERE part = ?", [(p,) for p in batch.outputs_done])
                self.db.executemany(
                    "INSERT INTO validators (url, etag, last_modified, lastmod) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT(url) DO UPDATE SET etag=COALESCE(excluded.etag, etag),"
                    " last_modified=COALESCE(excluded.last_modified, last_modified),"
                    " lastmod=COALESCE(excluded.lastmod, lastmod)",
                    [(url, *v) for url, v in batch.validators.items()])
                for source, posts in batch.sitemaps.items():
                    self.db.execute("DELETE FROM sitemap WHERE source = ?", (source,))
                    self.db.executemany("INSERT OR REPLACE INTO sitemap (url, lastmod, source) VALUES (?, ?, ?)",
                                        [(url, lastmod, source) for url, lastmod in posts])
                if batch.sitemaps_complete:
                    read = list(batch.sitemaps)
                    self.db.execute(f"DELETE FROM sitemap WHERE source IS NULL OR source NOT IN "
                                    f"({','.join('?' * len(read))})", read)
                    self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('sitemap_read', ?)", (now,))
                for key, value in batch.meta.items():
                    if value is None:
                        self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
                    else:
                        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        except sqlite3.Error as exc:
            raise StateError(f"state {self.path}: {exc}") from exc
        return counts

    def _record(self, record: ExportRecord, now: str) -> str:
        known = self.lookup(record.url)
        kind = "new" if known is None else self.compare({"modified": record.modified}, known, record.digest)
        url = known.url if known is not None else record.url  # came in under an alias
        lastmod = record.lastmod
        if known is not None and not newer(lastmod, known.lastmod):
            lastmod = known.lastmod
        self.db.execute(
            "INSERT INTO articles (url, post_id, published, modified, lastmod, content_hash, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET post_id=excluded.post_id,"
            " published=excluded.published, modified=excluded.modified, lastmod=excluded.lastmod,"
            " content_hash=excluded.content_hash, last_seen=excluded.last_seen",
            (url, record.post_id, record.published, record.modified, lastmod, record.digest, now, now))
        names = {a for a in record.aliases if a and a != url} | ({record.url} - {url})
        self.db.executemany("INSERT OR REPLACE INTO aliases (alias, url) VALUES (?, ?)", [(a, url) for a in names])
        self.db.executemany("DELETE FROM outcomes WHERE url = ?", [(u,) for u in {url, *names}])
        self.db.executemany("DELETE FROM pending WHERE url = ?", [(u,) for u in {url, *names}])
        self.db.executemany("DELETE FROM tombstones WHERE url = ?", [(u,) for u in {url, *names}])
        return kind

    def _move(self, tombstone: TombstoneRecord) -> None:
        """A move made durable: the article keeps its row (its post id is its identity)
        under the new URL, the old one an alias; when the new URL has a row of its own
        already (recorded by itself, or another post's), the old row goes."""
        old, new = tombstone.url, tombstone.moved_to
        if not new or self.db.execute("SELECT 1 FROM articles WHERE url = ?", (old,)).fetchone() is None:
            return
        if self.db.execute("SELECT 1 FROM articles WHERE url = ?", (new,)).fetchone() is None:
            self.db.execute("UPDATE articles SET url = ? WHERE url = ?", (new, old))
        else:
            self.db.execute("DELETE FROM articles WHERE url = ?", (old,))
        self.db.execute("UPDATE aliases SET url = ? WHERE url = ?", (new, old))
        self.db.execute("INSERT OR REPLACE INTO aliases (alias, url) VALUES (?, ?)", (old, new))

    def _bury(self, tombstone: TombstoneRecord) -> None:
        """A tombstone made durable: kept (the latest per URL); a deletion takes the article
        (and its aliases) out of the dataset and gives its URL a final outcome."""
        self.db.execute("INSERT OR REPLACE INTO tombstones (url, post_id, detected_at, reason, modified, moved_to)"
                        " VALUES (?, ?, ?, ?, ?, ?)", (tombstone.url, tombstone.post_id, tombstone.detected_at,
                                                       tombstone.reason, tombstone.modified, tombstone.moved_to))
        if tombstone.deletion:
            self.db.execute("DELETE FROM aliases WHERE url = ?", (tombstone.url,))
            self.db.execute("DELETE FROM articles WHERE url = ?", (tombstone.url,))
            self.db.execute("INSERT OR REPLACE INTO outcomes (url, outcome, checked) VALUES (?, ?, ?)",
                            (tombstone.url, tombstone.outcome, tombstone.detected_at))
            self.db.execute("DELETE FROM pending WHERE url = ?", (tombstone.url,))

    def _touch(self, url: str, lastmod: str | None, aliases: Iterable[str], now: str) -> None:
        record = self.lookup(url)
        if record is None:
            return
        keep = lastmod if newer(lastmod, record.lastmod) else record.lastmod
        self.db.execute("UPDATE articles SET last_seen = ?, lastmod = ? WHERE url = ?", (now, keep, record.url))
        self.db.executemany("INSERT OR IGNORE INTO aliases (alias, url) VALUES (?, ?)",
                            [(a, record.url) for a in aliases if a and a != record.url])
        self.db.executemany("DELETE FROM pending WHERE url = ?", [(u,) for u in {url, *aliases}])

    # --- conveniences (tests, tools): one-record commits ----------------------------------
    def record_article(self, item: Mapping[str, Any], *, lastmod: str | None = None,
                       aliases: Iterable[str] = ()) -> str:
        """Record one exported item at once; returns ``new``/``updated``/``unchanged``."""
        counts = self.commit(Commit(exported=[ExportRecord.of(item, lastmod, aliases)]))
        return next(kind for kind, n in counts.items() if n)

    def record_failed(self, url: str, reason: str) -> None:
        self.commit(Commit(failures={url: reason}))

    def resolve(self, urls: Iterable[str]) -> None:
        self.commit(Commit(resolved=set(urls)))

    def begin_run(self) -> str | None:
        """Mark a run as open; returns when an earlier run that never finished started
        (it was killed or stopped), so a full run can resume after it instead of
        emitting its articles a second time."""
        interrupted = self.get_meta("open_run_started")
        if interrupted is None:
            self.set_meta("open_run_started", utcnow())
        return interrupted
