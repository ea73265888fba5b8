"""``WarcArchive``, the extension writing the run's WARC file (see the package docstring):
captures the fetch of each response, writes its records (response or revisit, and request)
before the spider's callback sees it, and ``finish()`` (the commit point) seals the
``.part``: fsync, rename, CDXJ index, directory fsync."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from warcio.warcwriter import WARCWriter

from newsspider.crawl.archive.digests import DigestIndex
from newsspider.crawl.archive.files import WARC_SUFFIX, IndexLines, free_name, seal
from newsspider.crawl.archive.format import (
    _FETCH,
    CALLBACK_HEADER,
    CANONICAL_HEADER,
    FETCHED_AT,
    INFO_BASE_URL,
    INFO_CANONICAL,
    POST_PAGE_HEADER,
    _Fetch,
    _header_pairs,
    fetch_records,
    gzipped,
    http_request_headers,
    http_response_headers,
    payload_digest,
    warc_date,
)
from newsspider.crawl.archive.recovery import recover_archive_parts
from newsspider.crawl.report.stats import STAT

logger = logging.getLogger(__name__)

#: Settings recorded in the warcinfo record.
INFO_SETTINGS = ("USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
                 "AUTOTHROTTLE_ENABLED", "NEWSSPIDER_ARCHIVE_DIR")
STAT_PREFIX = f"{STAT}/archive"


def append(fd: int, data: bytes) -> OSError | None:
    """Append ``data`` to ``fd`` with unbuffered ``write``s: in the OS once this returns,
    safe from ``kill -9``.  A failed write is cut off again, leaving no cut-off record;
    returns its error."""
    start = os.lseek(fd, 0, os.SEEK_CUR)
    blob = memoryview(data)
    try:
        while blob:
            blob = blob[os.write(fd, blob):]
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, start)
            os.lseek(fd, start, os.SEEK_SET)
        return exc
    return None


class WarcArchive:
    """The run's WARC file (see the package docstring).  ``finish()`` is the run's commit
    point for the archive; ``failed`` holds the first write error (the crawl goes on)."""

    def __init__(self, crawler: Crawler, directory: Path) -> None:
        self.crawler = crawler
        self.directory = directory
        self.failed: OSError | None = None
        self.path: Path | None = None  # the finished file
        self.part_path: Path | None = None
        self._fh: IO[bytes] | None = None
        self._finished = False
        self._robots: dict[str, _Fetch] = {}  # robots.txt fetched by the robots middleware
        self._originals: dict[str, tuple[str, str]] = {}  # this run's digest -> (URI, date) of its response record
        self._lines: IndexLines | None = None  # the file's CDXJ index, as it is written
        self.index: DigestIndex | None = None
        self.records = 0
        try:
            directory.mkdir(parents=True, exist_ok=True)
            recover_archive_parts(directory)
            self.index = DigestIndex(directory)
            self.index.sync(directory)
        except (OSError, sqlite3.Error) as exc:
            self._fail(exc if isinstance(exc, OSError) else OSError(str(exc)), "cannot open the archive directory")
        crawler.signals.connect(self._response_downloaded, signal=signals.response_downloaded)
        crawler.signals.connect(self._engine_stopped, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchive:
        settings = crawler.settings
        directory = settings.get("NEWSSPIDER_ARCHIVE_DIR") or ""
        if not settings.getbool("NEWSSPIDER_CRAWL_COMMAND") or not str(directory).strip():
            raise NotConfigured  # only real crawls archive (a message would be a WARNING per run)
        return cls(crawler, Path(directory))

    # --- failures ---------------------------------------------------------------------
    def _stat(self, key: str, count: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"{STAT_PREFIX}/{key}", count)

    def _fail(self, exc: OSError, what: str) -> None:
        if self.failed is None:
            self.failed = exc
            logger.warning("WARC archive %s: %s (%s); the crawl goes on without archiving",
                           what, exc, self.part_path or self.directory)
        self._stat("failed")

    # --- capture ----------------------------------------------------------------------
    def _response_downloaded(self, response: Response, request: Request, **_: Any) -> None:
        fetch = _Fetch(
            at=datetime.now(timezone.utc),
            protocol=str(getattr(response, "protocol", None) or "HTTP/1.1"),
            headers=_header_pairs(response.headers),
            method=request.method,
            request_headers=_header_pairs(request.headers),
        )
        if request.callback is NO_CALLBACK:
            if urlsplit(request.url).path == "/robots.txt":
                self._robots[request.url] = fetch  # the spider's own request reuses it
            return
        request.meta[_FETCH] = fetch
        request.meta[FETCHED_AT] = fetch.at

    def record(self, response: Response, spider: Spider | None) -> None:
        """Archive a response that reaches a spider callback: its response (or revisit)
        and request records are in the file — in the OS, safe from ``kill -9`` — when this
        returns.  A failure is a WARNING and ``failed`` (the crawl goes on without
        archiving)."""
        if self.failed is not None or self._finished:
            return
        if self._fh is None:
            try:
                self._open()
            except OSError as exc:
                self._fail(exc, "cannot be created")
            if self.failed is not None:  # not created, or its warcinfo record not written
                return
        assert self._fh is not None
        request = response.request
        assert request is not None
        fetch = request.meta.get(_FETCH) or self._robots.pop(response.url, None)
        if fetch is None:  # not from the downloader (a cache, a test): what Scrapy has
            fetch = _Fetch(datetime.now(timezone.utc), "HTTP/1.1", _header_pairs(response.headers),
                           request.method, _header_pairs(request.headers))
        body = response.body
        decoded = any(n.lower() == b"content-encoding" for n, _ in fetch.headers) and \
            b"Content-Encoding" not in response.headers
        date = warc_date(fetch.at)
        fields = {"WARC-Date": date}
        origins = getattr(spider, "origins", None)
        if origins is not None:
            with contextlib.suppress(ValueError):
                fields[CANONICAL_HEADER] = origins.to_canonical(response.url)
        callback = getattr(request.callback, "__name__", None)
        if callback:
            fields[CALLBACK_HEADER] = callback
        if request.meta.get("post_page"):
            fields[POST_PAGE_HEADER] = str(request.meta["post_page"])
        digest = payload_digest(body)
        original = self._originals.get(digest) or self._earlier(digest)
        http = http_response_headers(fetch, body, decoded, response.status)
        sent = http_request_headers(response.url, fetch, request)
        record, members = fetch_records(response.url, body, digest, date, http, sent, fields, original)
        offset = self._fh.tell()
        error = append(self._fh.fileno(), b"".join(members))
        if error is not None:
            self._fail(error, "write failed")
            return
        assert self._lines is not None
        self._lines.add(record, offset, len(members[0]))
        self.records += 1
        if original is None:
            self._originals[digest] = (response.url, date)
            self._stat("responses")
        else:
            self._stat("revisits")

    def _earlier(self, digest: str) -> tuple[str, str] | None:
        """The first record of ``digest`` in an earlier run's archive; an unreadable index
        (only a cache) means none: a whole response record, never a wrong revisit."""
        if self.index is None:
            return None
        try:
            return self.index.lookup(digest)
        except sqlite3.Error:
            return None

    def _open(self) -> None:
        name = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
        while True:  # another run may take the same name at the same second: O_EXCL decides
            final = free_name(self.directory / f"{name}{WARC_SUFFIX}", also=".part")
            self.part_path = final.with_name(final.name + ".part")
            try:
                fh = self.part_path.open("xb", buffering=0)
                break
            except FileExistsError:
                continue
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # a live run's .part: recovery leaves it
        self._fh = fh
        self._lines = IndexLines(final.name)
        logger.info("Archiving into %s", self.part_path)
        error = append(fh.fileno(), b"".join(self._warcinfo(final.name)))
        if error is not None:
            self._fail(error, "write failed")

    def _warcinfo(self, filename: str) -> list[bytes]:
        from importlib.metadata import version

        def _version(dist: str) -> str:
            try:
                return version(dist)
            except Exception:
                return "?"

        settings = self.crawler.settings
        spider = getattr(self.crawler, "spider", None)
        info: dict[str, str] = {
            "software": f"newsspider/{_version('newsspider')} (Scrapy {_version('scrapy')}, "
                        f"warcio {_version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "hostname": socket.gethostname(),
            "isPartOf": getattr(spider, "name", "") or "",
        }
        if spider is not None:
            origins = getattr(spider, "origins", None)
            if origins is not None:
                info[INFO_BASE_URL] = origins.fetch
                info[INFO_CANONICAL] = origins.canonical
            info["spider-mode"] = str(getattr(spider, "mode", "") or "")
            info["spider-since"] = str(getattr(spider, "since", "") or "")
        for name in INFO_SETTINGS:
            info[f"setting-{name}"] = str(settings.get(name))
        return gzipped(WARCWriter(None, warc_version="WARC/1.1").create_warcinfo_record(filename, info))

    # --- commit -------------------------------------------------------------------------
    def finish(self) -> Path | None:
        """Seal the ``.part`` (``files.seal``: fsync, rename to its final name, CDXJ index,
        directory fsync), then add its payloads to the digest index.  Returns the archive
        (None when nothing was archived).  Raises ``OSError`` when that fails or an
        earlier write failed (the archive then misses pages).  Idempotent: later calls
        return the same path (or raise the same error)."""
        if not self._finished:
            self._finished = True
            if self._fh is not None and self.part_path is not None:
                fh, self._fh = self._fh, None
                final = free_name(self.part_path.with_name(self.part_path.name[: -len(".part")]))
                # the lines name the file: read it again only if it could not take its planned name
                lines = self._lines.sorted() if self._lines is not None and self._lines.filename == final.name else None
                try:  # still locked until closed: no recovery takes the file or its index meanwhile
                    seal(fh.fileno(), self.part_path, final, lines)
                    self.path = final
                    self._stat("bytes", final.stat().st_size)
                except OSError as exc:
                    self._fail(exc, "could not be finished")
                finally:
                    with contextlib.suppress(OSError):
                        fh.close()
                if self.path is not None and self.index is not None:
                    try:
                        self.index.add_file(self.path.name, ((digest, uri, date) for digest, (uri, date)
                                                             in self._originals.items()))
                    except sqlite3.Error as exc:  # only a cache: the next run rebuilds it
                        logger.warning("Digest index %s not updated (%s)", self.index.path, exc)
            if self.index is not None:
                self.index.close()
                self.index = None
            if self.path is not None:
                logger.info("Archived %d responses in %s", self.records, self.path)
        if self.failed is not None:
            raise self.failed
        return self.path

    def _engine_stopped(self) -> None:
        with contextlib.suppress(OSError):  # logged at WARNING and kept in self.failed
            self.finish()
