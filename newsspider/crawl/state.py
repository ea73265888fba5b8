"""Crawl state for scheduled (cron) runs: one SQLite file, one connection per crawl process.

What it records (``NEWSSPIDER_STATE_PATH``, empty string disables it):

* ``articles`` — per exported article: canonical url, post_id, published, modified, the
  sitemap ``lastmod`` last seen for it, a content hash, first/last seen.  A row is written
  only when the item has been exported (``item_scraped``), never when the page is requested
  or parsed, so a crash or a dropped item never marks an article as done.
* ``aliases`` — other URLs (as requested, before redirects …) that led to a recorded article.
* ``outcomes`` — URLs that were fetched and gave no article (dead link, not an article,
  item dropped), so incremental runs neither re-fetch them nor keep paging because of them;
  a dropped article is fetched again once its sitemap ``lastmod`` is newer than the check.
* ``failed`` — URLs whose requests failed after all retries (``record_failed``, used by the
  retry middleware); the next run, full or incremental, requests them again (``pending_failed``).
* ``meta`` — ``horizon``: the oldest publication date the state covers ('' = everything).

The file is opened in WAL mode.  ``StateLock`` (``fcntl.flock`` on ``<state>.lock``) makes
sure only one crawl process uses a state file at a time.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["ArticleRecord", "State", "StateLock", "content_hash", "parse_moment", "utcnow"]

#: Item fields that make up an article's content (not ``modified``, ``crawled_at`` …).
HASHED_FIELDS = (
    "url", "post_id", "title", "subtitle", "summary", "authors", "published", "categories",
    "tags", "body", "image_url", "image_caption", "image_credit", "language",
)

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
CREATE TABLE IF NOT EXISTS failed (
    url TEXT PRIMARY KEY,
    reason TEXT,
    first_failed TEXT NOT NULL,
    last_failed TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_moment(value: str | None) -> datetime | None:
    """An aware datetime from ISO 8601 (a plain date is midnight UTC); None if unparsable."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text[:10]), datetime.min.time())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def newer(candidate: str | None, *than: str | None) -> bool:
    """True when ``candidate`` is later than every known moment in ``than`` (unknown = not newer)."""
    moment = parse_moment(candidate)
    if moment is None:
        return False
    known = [m for m in (parse_moment(t) for t in than) if m is not None]
    return not known or moment > max(known)


def content_hash(item: Mapping[str, Any]) -> str:
    data = {name: item.get(name) for name in HASHED_FIELDS}
    blob = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ArticleRecord:
    url: str
    post_id: int | None
    published: str | None
    modified: str | None
    lastmod: str | None
    content_hash: str
    first_seen: str
    last_seen: str


class StateLock:
    """An exclusive, non-blocking ``flock`` on ``<state path>.lock``, held for the process.

    Re-acquiring a lock this process already holds succeeds (the crawl command takes it
    before the crawler starts; the state extension takes it again)."""

    _held: ClassVar[dict[str, int]] = {}

    def __init__(self, state_path: str | os.PathLike[str]) -> None:
        self.path = str(Path(state_path).resolve()) + ".lock"

    @property
    def held(self) -> bool:
        return self.path in self._held

    def acquire(self) -> bool:
        if self.held:
            return True
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._held[self.path] = fd
        return True

    def release(self) -> None:
        fd = self._held.pop(self.path, None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


class State:
    """The crawl state.  Use one instance per crawl process (see ``for_crawler``)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)

    # --- the crawl's instance -------------------------------------------------------------
    @staticmethod
    def for_crawler(crawler: Any) -> State | None:
        """The state opened for this crawl by ``newsspider.crawl.run.CronRun`` (None when
        state is disabled or another process holds the lock)."""
        return getattr(crawler, "newsspider_state", None)

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self.db.close()

    # --- reading --------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is None

    def lookup(self, url: str) -> ArticleRecord | None:
        """The article recorded under this canonical URL or one of its aliases."""
        row = self.db.execute(
            "SELECT url, post_id, published, modified, lastmod, content_hash, first_seen, last_seen"
            " FROM articles WHERE url = ?"
            " OR url = (SELECT url FROM aliases WHERE alias = ?)",
            (url, url),
        ).fetchone()
        return ArticleRecord(*row) if row else None

    def known(self, url: str) -> bool:
        return self.lookup(url) is not None

    def outcome(self, url: str) -> tuple[str, str] | None:
        """(outcome, checked) for a URL that gave no article, or None."""
        row = self.db.execute("SELECT outcome, checked FROM outcomes WHERE url = ?", (url,)).fetchone()
        return (row[0], row[1]) if row else None

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

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def pending_failed(self) -> list[str]:
        """URLs that failed after all retries in earlier runs, oldest failure first."""
        return [r[0] for r in self.db.execute("SELECT url FROM failed ORDER BY first_failed, url")]

    # --- writing --------------------------------------------------------------------------
    def record_article(
        self,
        item: Mapping[str, Any],
        *,
        lastmod: str | None = None,
        aliases: Iterable[str] = (),
    ) -> str:
        """Record an exported item; returns what it was (``new``/``updated``/``unchanged``)."""
        url = item["url"]
        record = self.lookup(url)
        digest = content_hash(item)
        kind = self.compare(item, record, digest)
        now = utcnow()
        if record is not None and record.url != url:
            url = record.url  # the item came in under an alias of a recorded article
        if record is not None and not newer(lastmod, record.lastmod):
            lastmod = record.lastmod
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO articles (url, post_id, published, modified, lastmod, content_hash,"
                " first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(url) DO UPDATE SET post_id=excluded.post_id,"
                " published=excluded.published, modified=excluded.modified,"
                " lastmod=excluded.lastmod, content_hash=excluded.content_hash,"
                " last_seen=excluded.last_seen",
                (url, item.get("post_id"), item.get("published"), item.get("modified"), lastmod,
                 digest, now, now),
            )
            names = {a for a in aliases if a and a != url} | ({item["url"]} - {url})
            self.db.executemany("INSERT OR REPLACE INTO aliases (alias, url) VALUES (?, ?)",
                                [(a, url) for a in names])
            self.db.executemany("DELETE FROM outcomes WHERE url = ?", [(u,) for u in {url, *names}])
            self.db.executemany("DELETE FROM failed WHERE url = ?", [(u,) for u in {url, *names}])
        return kind

    def touch(self, url: str, *, lastmod: str | None = None, aliases: Iterable[str] = ()) -> None:
        """A recorded article was seen again unchanged: refresh last_seen (and lastmod)."""
        record = self.lookup(url)
        if record is None:
            return
        keep = lastmod if newer(lastmod, record.lastmod) else record.lastmod
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("UPDATE articles SET last_seen = ?, lastmod = ? WHERE url = ?",
                            (utcnow(), keep, record.url))
            self.db.executemany("INSERT OR IGNORE INTO aliases (alias, url) VALUES (?, ?)",
                                [(a, record.url) for a in aliases if a and a != record.url])

    def record_outcomes(self, outcomes: Mapping[str, str]) -> None:
        """Remember URLs that gave no article (``dead``, ``not_article``, ``dropped:<reason>``)."""
        if not outcomes:
            return
        now = utcnow()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO outcomes (url, outcome, checked) SELECT ?, ?, ?"
                " WHERE NOT EXISTS (SELECT 1 FROM articles WHERE url = ?)",
                [(url, outcome, now, url) for url, outcome in outcomes.items()],
            )

    def record_failed(self, url: str, reason: str) -> None:
        """A request failed after all retries: fetch it again in the next run."""
        now = utcnow()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute(
                "INSERT INTO failed (url, reason, first_failed, last_failed) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(url) DO UPDATE SET reason=excluded.reason,"
                " last_failed=excluded.last_failed, failures=failures+1",
                (url, reason, now, now),
            )

    def resolve_failed(self, urls: Iterable[str]) -> None:
        """These earlier failures were answered this time."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM failed WHERE url = ?", [(u,) for u in urls])

    def begin_run(self) -> str | None:
        """Mark a run as open; returns when an earlier run that never finished started
        (it was killed or stopped), so a full run can resume after it instead of
        emitting its articles a second time."""
        interrupted = self.get_meta("open_run_started")
        if interrupted is None:
            self.set_meta("open_run_started", utcnow())
        return interrupted

    def end_run(self) -> None:
        """The run finished: the next full run starts from scratch."""
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM meta WHERE key = ?", ("open_run_started",))

    def set_meta(self, key: str, value: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
