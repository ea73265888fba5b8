"""``WarcArchive``, the extension writing the run's WARC file (see the package docstring):
captures the fetch of each response, writes its records (response or revisit, and request)
before the spider's callback sees it, and ``finish()`` (the commit point) fsyncs and
renames the ``.part``."""

from __future__ import annotations

import contextlib
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

from newsspider.crawl.archive.child import append
from newsspider.crawl.archive.digests import DigestIndex
from newsspider.crawl.archive.files import WARC_SUFFIX, free_name
from newsspider.crawl.archive.format import (
    _FETCH,
    CALLBACK_HEADER,
    CANONICAL_HEADER,
    FETCHED_AT,
    GZIP_LEVEL,
    GZIP_LEVELS,
    INFO_BASE_URL,
    INFO_CANONICAL,
    POST_PAGE_HEADER,
    _Fetch,
    _header_pairs,
    _record_bytes,
    http_request_headers,
    http_response_headers,
    warc_date,
)
from newsspider.crawl.archive.process import STALL_SECONDS, WriterProcess
from newsspider.crawl.archive.recovery import recover_archive_parts
from newsspider.crawl.output.feedstorage import fsync_directory
from newsspider.crawl.report.stats import STAT

try:  # POSIX: a live run's .part is locked; elsewhere the run lock alone protects it
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Settings recorded in the warcinfo record.
INFO_SETTINGS = ("USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
                 "AUTOTHROTTLE_ENABLED", "NEWSSPIDER_ARCHIVE_DIR", "NEWSSPIDER_ARCHIVE_GZIP_LEVEL")
STAT_PREFIX = f"{STAT}/archive"


def _gzip_level(level: int) -> int:
    if level in GZIP_LEVELS:
        return level
    used = min(max(level, GZIP_LEVELS[0]), GZIP_LEVELS[-1])
    logger.warning("NEWSSPIDER_ARCHIVE_GZIP_LEVEL=%d is not a level of ISA-L's gzip (%d fastest … %d smallest): "
                   "using %d", level, GZIP_LEVELS[0], GZIP_LEVELS[-1], used)
    return used


class WarcArchive:
    """The run's WARC file (see the package docstring).  ``finish()`` is the run's commit
    point for the archive; ``failed`` holds the first write error (the crawl goes on)."""

    def __init__(self, crawler: Crawler, directory: Path) -> None:
        self.crawler = crawler
        self.directory = directory
        self.failed: OSError | None = None
        self.gzip_level = _gzip_level(crawler.settings.getint("NEWSSPIDER_ARCHIVE_GZIP_LEVEL", GZIP_LEVEL))
        self.path: Path | None = None  # the finished file
        self.part_path: Path | None = None
        self._fh: IO[bytes] | None = None
        self._finished = False
        self._writer: WriterProcess | None = None
        self._robots: dict[str, _Fetch] = {}  # robots.txt fetched by the robots middleware
        self._written: list[tuple[str, str, str]] = []  # (digest, uri, date) of written responses
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
        directory = settings.get("NEWSSPIDER_ARCHIVE_DIR", "archive/georgiatoday/") or ""
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

    def record(self, response: Response, spider: Spider | None) -> int | None:
        """Archive a response that reaches a spider callback (its request and response or
        revisit records): hands it to the writer process and returns its number; the
        records are in the file — in the OS, safe from ``kill -9`` — once ``wait_for``
        that number returns.  A failure is a WARNING and ``failed`` (the crawl goes on
        without archiving)."""
        self.check_writer()
        if self.failed is not None or self._finished:
            return None
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
        fields = {"WARC-Date": date}  # the writer process adds the payload digest
        origins = getattr(spider, "origins", None)
        if origins is not None:
            with contextlib.suppress(ValueError):
                fields[CANONICAL_HEADER] = origins.to_canonical(response.url)
        callback = getattr(request.callback, "__name__", None)
        if callback:
            fields[CALLBACK_HEADER] = callback
        if request.meta.get("post_page"):
            fields[POST_PAGE_HEADER] = str(request.meta["post_page"])
        if self._writer is None:
            try:
                self._open()
            except OSError as exc:
                self._fail(exc, "cannot be created")
                return None
            if self._writer is None:  # its warcinfo record could not be written
                return None
        http = http_response_headers(fetch, body, decoded, response.status)
        sent = http_request_headers(response.url, fetch, request)
        self.records += 1
        return self._writer.send(response.url, body, date, http, sent, fields)

    def wait_for(self, seq: int) -> None:
        """Block until page ``seq`` (``record``'s number) is in the file, or the writer
        failed (then a WARNING and ``failed``)."""
        if self._writer is not None:
            self._writer.wait_for(seq)
            self.check_writer()

    def check_writer(self) -> None:
        """Report a failure the writer process met (WARNING, stat, ``failed``)."""
        if self._writer is not None and self._writer.error is not None and self.failed is None:
            self._fail(self._writer.error, "write failed")

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
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fh = fh
        error = append(fh.fileno(), [self._warcinfo(final.name)], self.gzip_level)  # before the writer starts
        if error is not None:
            self._fail(error, "write failed")
        else:
            index = self.index.path if self.index is not None else None
            stall = self.crawler.settings.getfloat("NEWSSPIDER_ARCHIVE_STALL_TIMEOUT", STALL_SECONDS)
            self._writer = WriterProcess(fh, self.gzip_level, index, stall)
            logger.info("Archiving into %s (writer process %d)", self.part_path, self._writer.process.pid)

    def _warcinfo(self, filename: str) -> bytes:
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
        writer = WARCWriter(None, gzip=False, warc_version="WARC/1.1")
        return _record_bytes(writer, writer.create_warcinfo_record(filename, info))

    # --- commit -------------------------------------------------------------------------
    def finish(self) -> Path | None:
        """Flush, fsync, rename the ``.part`` to its final name, fsync the directory.
        Returns the archive (None when nothing was archived).  Raises ``OSError`` when
        that fails or an earlier write failed (the archive then misses pages).
        Idempotent: later calls return the same path (or raise the same error)."""
        if not self._finished:
            self._finished = True
            if self._writer is not None:
                try:
                    self._written = self._writer.finish()
                except OSError as exc:
                    self._fail(exc, "write failed")
                self._stat("responses", self._writer.kinds["response"])
                self._stat("revisits", self._writer.kinds["revisit"])
            if self._fh is not None and self.part_path is not None:
                fh, self._fh = self._fh, None
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                    final = free_name(self.part_path.with_name(self.part_path.name[: -len(".part")]))
                    os.replace(self.part_path, final)  # still locked: no recovery takes it meanwhile
                    fh.close()
                    fsync_directory(self.directory)
                    self.path = final
                    self._stat("bytes", final.stat().st_size)
                except OSError as exc:
                    with contextlib.suppress(OSError):
                        fh.close()
                    self._fail(exc, "could not be finished")
                if self.path is not None and self.index is not None:
                    try:
                        self.index.add_file(self.path.name, self._written)
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
