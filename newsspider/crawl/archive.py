"""WARC archive of every page the spider parses (issue 10): crawl once, re-extract forever.

``WarcArchive`` (an extension) and ``WarcArchiveMiddleware`` (a spider middleware that hands
it exactly the responses reaching a callback) write one ``<UTC timestamp>.warc.gz`` per run
into ``NEWSSPIDER_ARCHIVE_DIR`` — only in a real crawl (``NEWSSPIDER_CRAWL_COMMAND`` true)
and only when that directory setting is not empty.

Format (WARC/1.1, written with warcio, one gzip member per record):

* one ``warcinfo`` record: software and versions, spider arguments, settings that matter;
* per parsed response a ``request`` record and a ``response`` record: the HTTP status line
  and headers as received (Scrapy's header-name case), the body as served after transfer
  and content decoding.  When the stored body is not the bytes on the wire, the headers say
  so the way Common Crawl does: ``Transfer-Encoding``/``Content-Encoding``/``Content-Length``
  become ``X-Crawler-Transfer-Encoding``/``X-Crawler-Content-Encoding``/
  ``X-Crawler-Content-Length`` and ``Content-Length`` is the stored payload's length;
* ``WARC-Date`` is the fetch time (the ``response_downloaded`` signal), microseconds;
* a payload already archived (same ``WARC-Payload-Digest``, this run or an earlier one) is a
  ``revisit`` record, profile ``identical-payload-digest``, pointing at the original;
* project fields: ``X-Newsspider-Canonical-URI`` (the ``https://georgiatoday.ge/...`` URL a
  mirror's ``WARC-Target-URI`` stands for), ``X-Newsspider-Callback`` (the spider callback
  that parsed it: ``parse_article``, ``parse_listing`` …) and ``X-Newsspider-Post-Page``
  (``2``, ``3`` … for the further pages of a multi-page post).

Writing: the reactor thread only hashes the body and decides response or revisit; one
writer thread builds the records (warcio), gzips them and appends them to the file with one
unbuffered ``write`` (zlib and hashlib release the GIL).  The middleware lets requests
through at once but holds a callback's items until that response's records are written.

Crash safety, as for the JSON Lines output: the run writes ``<name>.warc.gz.part`` (in the
OS after every record: ``kill -9`` loses at most the record being written, and never one
whose item was exported; locked with ``flock`` while the run lives), and ``finish()``
fsyncs and renames it — the lead's commit point calls it before committing the state.
``recover_archive_parts()`` turns the ``.part`` of a dead run into a readable ``.warc.gz``,
dropping a cut-off last record.  A write error is a WARNING, ``newsspider/archive/failed``
and ``WarcArchive.failed``; the crawl goes on without archiving.

Digest index: ``<archive dir>/digests.sqlite3`` maps each archived payload digest to the
first response record holding it (URI, date, file).  It is only a cache of the archives:
files not yet in it (a recovered ``.part``, a copied-in archive, a deleted index) are
scanned when the extension starts, files gone from the directory forgotten; a finished
file's digests are added by ``finish()``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import socket
import sqlite3
import zlib
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from scrapy.http.request import NO_CALLBACK
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from newsspider.crawl.stats import STAT

try:  # POSIX: a live run's .part is locked; elsewhere the run lock alone protects it
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

WARC_SUFFIX = ".warc.gz"
PART_SUFFIX = ".warc.gz.part"
INDEX_NAME = "digests.sqlite3"
CANONICAL_HEADER = "X-Newsspider-Canonical-URI"
CALLBACK_HEADER = "X-Newsspider-Callback"
POST_PAGE_HEADER = "X-Newsspider-Post-Page"
#: ``request.meta`` key: the fetch time (a UTC datetime) of the response to this request.
FETCHED_AT = "newsspider_fetched_at"
#: ``request.meta`` key: what the downloader received, before decompression (see ``_Fetch``).
_FETCH = "newsspider_fetch"
#: warcinfo fields naming the run's origins (``reextract`` maps URLs back with them).
INFO_BASE_URL = "base-url"
INFO_CANONICAL = "canonical-origin"
#: Settings recorded in the warcinfo record.
INFO_SETTINGS = ("USER_AGENT", "ROBOTSTXT_OBEY", "DOWNLOAD_DELAY", "CONCURRENT_REQUESTS_PER_DOMAIN",
                 "AUTOTHROTTLE_ENABLED", "NEWSSPIDER_ARCHIVE_DIR", "NEWSSPIDER_ARCHIVE_GZIP_LEVEL")
STAT_PREFIX = f"{STAT}/archive"
#: Default gzip level of each record (``NEWSSPIDER_ARCHIVE_GZIP_LEVEL``).  On Georgia Today
#: pages level 3 costs 0.37 ms per page against 0.86 ms at 6 and 2.5 ms at warcio's 9,
#: for ~15% more bytes than 9 (bench/archive.py).
GZIP_LEVEL = 3


def payload_digest(body: bytes) -> str:
    """``sha1:<base32>``, the form warcio writes and checks."""
    return "sha1:" + base64.b32encode(hashlib.sha1(body).digest()).decode("ascii")


def fetched_at(response: Response) -> datetime | None:
    """When the response was downloaded (set while archiving), else None."""
    try:
        value = response.meta.get(FETCHED_AT)
    except AttributeError:  # a response without request
        return None
    return value if isinstance(value, datetime) else None


def warc_date(moment: datetime) -> str:
    return str(datetime_to_iso_date(moment.astimezone(timezone.utc).replace(tzinfo=None), use_micros=True))


def _fsync_dir(directory: Path) -> None:
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _free_name(path: Path) -> Path:
    """``path`` or, if taken, ``<name>-1.warc.gz``, ``-2`` …"""
    candidate, n = path, 0
    stem = path.name[: -len(WARC_SUFFIX)] if path.name.endswith(WARC_SUFFIX) else path.stem
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{stem}-{n}{WARC_SUFFIX}")
    return candidate


# --- reading ----------------------------------------------------------------------------------
def complete_members(fh: IO[bytes], chunk: int = 1 << 16) -> Iterator[int]:
    """End offsets of the complete gzip members of ``fh``, in order; stops at the first
    incomplete or corrupt one."""
    fh.seek(0)
    offset = 0  # where the current member starts
    data = fh.read(chunk)
    while data:
        decomp = zlib.decompressobj(zlib.MAX_WBITS | 16)
        fed = 0  # bytes of this member fed before ``data``
        while True:
            try:
                decomp.decompress(data)
            except zlib.error:
                return
            if decomp.eof:
                rest = decomp.unused_data
                offset += fed + len(data) - len(rest)
                yield offset
                data = rest or fh.read(chunk)
                break
            fed += len(data)
            data = fh.read(chunk)
            if not data:
                return  # EOF inside a member


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
        final = _free_name(part.with_name(part.name[: -len(".part")]))
        os.replace(part, final)
        _fsync_dir(directory)
        written.append(final)
        logger.warning("Recovered %d records of an interrupted run's archive into %s (%d bytes cut off)",
                       intact, final, size - keep)
    return written


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


# --- writing ----------------------------------------------------------------------------------
def _record_bytes(writer: WARCWriter, record: Any) -> bytes:
    """One record, uncompressed (the writer thread gzips it)."""
    buffer = BytesIO()
    writer.out = buffer
    writer.write_record(record)
    return buffer.getvalue()


def _pair_bytes(url: str, body: bytes, digest: str, date: str, http: StatusAndHeaders,
                request_http: StatusAndHeaders, fields: dict[str, str],
                original: tuple[str, str] | None) -> list[bytes]:
    """The response (or revisit of ``original``) and request records of one fetch."""
    writer = WARCWriter(None, gzip=False, warc_version="WARC/1.1")
    if original is not None:
        record = writer.create_revisit_record(url, digest, original[0], original[1], http_headers=http,
                                              warc_headers_dict=fields)
    else:
        record = writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                           http_headers=http, warc_headers_dict=fields)
    request = writer.create_warc_record(url, "request", http_headers=request_http, warc_headers_dict={
        "WARC-Date": date, "WARC-Concurrent-To": record.rec_headers.get_header("WARC-Record-ID")})
    return [_record_bytes(writer, record), _record_bytes(writer, request)]


@dataclass(frozen=True)
class _Fetch:
    """What the downloader got, before Scrapy's middlewares decoded it."""

    at: datetime
    protocol: str
    headers: tuple[tuple[bytes, bytes], ...]
    method: str
    request_headers: tuple[tuple[bytes, bytes], ...]


def _header_pairs(headers: Any) -> tuple[tuple[bytes, bytes], ...]:
    return tuple((bytes(name), bytes(value)) for name, values in headers.items() for value in values)


def _text(value: bytes) -> str:
    return value.decode("latin-1")


def http_response_headers(fetch: _Fetch, body: bytes, decoded_encoding: bool, status: int) -> StatusAndHeaders:
    """Status line and headers as received, marked where the stored body differs from the
    wire (decoded chunks or content coding)."""
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    pairs: list[tuple[str, str]] = []
    differs = False
    for raw_name, raw_value in fetch.headers:
        name, value = _text(raw_name), _text(raw_value)
        lower = name.lower()
        if lower == "transfer-encoding" or (lower == "content-encoding" and decoded_encoding):
            pairs.append((f"X-Crawler-{name}", value))
            differs = True
            continue
        pairs.append((name, value))
    length_wrong = any(n.lower() == "content-length" and v.strip() != str(len(body)) for n, v in pairs)
    if differs or length_wrong:
        pairs = [(f"X-Crawler-{n}", v) if n.lower() == "content-length" else (n, v) for n, v in pairs]
        pairs.append(("Content-Length", str(len(body))))
    return StatusAndHeaders(f"{status} {reason}".strip(), pairs, protocol=fetch.protocol)


def http_request_headers(url: str, fetch: _Fetch | None, request: Request) -> StatusAndHeaders:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    pairs = [(_text(n), _text(v)) for n, v in (fetch.request_headers if fetch else _header_pairs(request.headers))]
    if not any(n.lower() == "host" for n, _ in pairs):
        pairs.insert(0, ("Host", parts.netloc))
    method = fetch.method if fetch else request.method
    protocol = fetch.protocol if fetch else "HTTP/1.1"
    return StatusAndHeaders(f"{method} {target} {protocol}", pairs, is_http_request=True)


class WarcArchive:
    """The run's WARC file (see the module docstring).  ``finish()`` is the run's commit
    point for the archive; ``failed`` holds the first write error (the crawl goes on)."""

    def __init__(self, crawler: Crawler, directory: Path) -> None:
        self.crawler = crawler
        self.directory = directory
        self.failed: OSError | None = None
        self.gzip_level = min(9, max(1, crawler.settings.getint("NEWSSPIDER_ARCHIVE_GZIP_LEVEL", GZIP_LEVEL)))
        self.path: Path | None = None  # the finished file
        self.part_path: Path | None = None
        self._fh: IO[bytes] | None = None
        self._size = 0  # bytes of complete records in the .part
        self._finished = False
        self._digests: dict[str, tuple[str, str]] = {}  # this run's response payloads
        self._robots: dict[str, _Fetch] = {}  # robots.txt fetched by the robots middleware
        self._executor: ThreadPoolExecutor | None = None
        self._last_job: Future[None] | None = None
        self._writer_error: OSError | None = None
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
            raise NotConfigured("archiving is on in real crawls with NEWSSPIDER_ARCHIVE_DIR set")
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

    def record(self, response: Response, spider: Spider | None) -> Future[None] | None:
        """Archive a response that reaches a spider callback (request + response/revisit).

        Building, compressing and writing the records is the writer thread's job (zlib and
        hashlib release the GIL: the crawl goes on meanwhile); the returned future is done
        once they are in the file (None: nothing to wait for)."""
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
        digest = payload_digest(body)
        fields = {"WARC-Date": date, "WARC-Payload-Digest": digest}
        origins = getattr(spider, "origins", None)
        if origins is not None:
            with contextlib.suppress(ValueError):
                fields[CANONICAL_HEADER] = origins.to_canonical(response.url)
        callback = getattr(request.callback, "__name__", None)
        if callback:
            fields[CALLBACK_HEADER] = callback
        if request.meta.get("post_page"):
            fields[POST_PAGE_HEADER] = str(request.meta["post_page"])
        try:
            return self._write(response.url, request, fetch, body, digest, date, decoded, response.status, fields)
        except OSError as exc:
            self._fail(exc, "cannot be created")
            return None

    def _write(self, url: str, request: Request, fetch: _Fetch, body: bytes, digest: str, date: str,
               decoded: bool, status: int, fields: dict[str, str]) -> Future[None]:
        if self._fh is None:
            self._open()
        http = http_response_headers(fetch, body, decoded, status)
        request_http = http_request_headers(url, fetch, request)
        original = self._digests.get(digest) or (self.index.lookup(digest) if self.index else None)
        if original is None:
            self._digests[digest] = (url, date)
            self._stat("responses")
        else:
            self._stat("revisits")
        job = self._submit(partial(_pair_bytes, url, body, digest, date, http, request_http, fields, original),
                           None if original is not None else (digest, url, date))
        self.records += 1
        return job

    def _open(self) -> None:
        name = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H-%M-%S")
        final = _free_name(self.directory / f"{name}{WARC_SUFFIX}")
        self.part_path = final.with_name(final.name + ".part")
        fh = self.part_path.open("xb", buffering=0)
        if fcntl is not None:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._fh = fh
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warc-writer")
        warcinfo = self._warcinfo(final.name)
        self._submit(lambda: [warcinfo], None)

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

    # --- the writer thread --------------------------------------------------------------
    def _submit(self, build: Callable[[], list[bytes]], written: tuple[str, str, str] | None) -> Future[None]:
        assert self._executor is not None
        self._last_job = job = self._executor.submit(self._compress_and_write, build, written)
        return job

    def _compress_and_write(self, build: Callable[[], list[bytes]], written: tuple[str, str, str] | None) -> None:
        """Writer thread: build the records, one gzip member each, one ``write`` for them
        all; a failed write is cut off again and stops the archive (``check_writer``
        reports it)."""
        if self._writer_error is not None or self._fh is None:
            return
        members = []
        for data in build():
            compressor = zlib.compressobj(self.gzip_level, zlib.DEFLATED, zlib.MAX_WBITS | 16)
            members.append(compressor.compress(data) + compressor.flush())
        blob = b"".join(members)
        try:
            view = memoryview(blob)
            while view:  # unbuffered: in the OS once written, whatever happens to us
                count = self._fh.write(view)
                if not count:
                    raise OSError(f"short write to {self.part_path}")
                view = view[count:]
        except OSError as exc:
            with contextlib.suppress(OSError):
                self._fh.truncate(self._size)
            self._writer_error = exc
            return
        self._size += len(blob)
        if written is not None:
            self._written.append(written)

    def check_writer(self) -> None:
        """Report a write error the writer thread met (WARNING, stat, ``failed``)."""
        if self._writer_error is not None and self.failed is None:
            self._fail(self._writer_error, "write failed")

    def wait(self) -> None:
        """Block until the writer thread has written everything submitted."""
        job = self._last_job
        if job is not None:
            job.result()
        self.check_writer()

    # --- commit -------------------------------------------------------------------------
    def finish(self) -> Path | None:
        """Flush, fsync, rename the ``.part`` to its final name, fsync the directory.
        Returns the archive (None when nothing was archived).  Raises ``OSError`` when
        that fails or an earlier write failed (the archive then misses pages).
        Idempotent: later calls return the same path (or raise the same error)."""
        if not self._finished:
            self._finished = True
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self.check_writer()
            if self._fh is not None and self.part_path is not None:
                fh, self._fh = self._fh, None
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                    fh.close()
                    final = _free_name(self.part_path.with_name(self.part_path.name[: -len(".part")]))
                    os.replace(self.part_path, final)
                    _fsync_dir(self.directory)
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


class WarcArchiveMiddleware:
    """Spider middleware (after ``HttpErrorMiddleware``): every response that reaches a
    callback goes to the run's ``WarcArchive`` before the callback sees it."""

    def __init__(self, archive: WarcArchive) -> None:
        self.archive = archive
        self._jobs: WeakKeyDictionary[Response, Future[None]] = WeakKeyDictionary()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcArchiveMiddleware:
        archive = crawler.get_extension(WarcArchive)
        if archive is None:
            raise NotConfigured("no WARC archive in this run")
        return cls(archive)

    def process_spider_input(self, response: Response) -> None:
        if response.status == 304:
            return  # a revalidation answered "not modified": nothing was served to keep
        job = self.archive.record(response, self.archive.crawler.spider)
        if job is not None:
            self._jobs[response] = job

    async def process_spider_output(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """No item passes before its response is in the archive file (after ``kill -9``
        every exported article is archived); requests pass at once."""
        job = self._jobs.pop(response, None)
        async for output in result:
            if job is not None and not isinstance(output, Request):
                if not job.done():
                    await asyncio.wrap_future(job)
                job = None
                self.archive.check_writer()
            yield output
