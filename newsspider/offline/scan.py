"""Reading the archives once, in order — whole (``scan_tasks``) or one span of a file at a
time (``plan_spans``, ``scan_span``: ``reextract -j N``): every ``response``/``revisit``
record indexed into an ``Archive`` (``Entry``: position, URIs, date, payload digest,
callback), each candidate page 1 yielded as a ``Task`` with its headers and payload."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

from newsspider.crawl.archive import (
    CALLBACK_HEADER,
    CANONICAL_HEADER,
    INFO_BASE_URL,
    INFO_CANONICAL,
    PART_SUFFIX,
    POST_PAGE_HEADER,
    complete_members,
)
from newsspider.crawl.archive.reading import GZIP_MAGIC, member_at_or_after
from newsspider.offline.files import UnreadableInput, warc_files
from newsspider.urls import OriginMap

if TYPE_CHECKING:
    from newsspider.offline.progress import Progress
    from newsspider.offline.reader import Reader

logger = logging.getLogger(__name__)


#: Callbacks whose responses may be article pages (records without the header: any HTML):
#: the article callback, and the spider's router ``parse``, which pages failing in an earlier
#: run are asked again through (a listing among them is turned down by ``check_article``).
ARTICLE_CALLBACKS = frozenset({"parse_article", "parse"})
_LOADER = ArcWarcRecordLoader()


@dataclass(frozen=True)
class Entry:
    """One archived response (or revisit) record."""

    file: int  # index into Archive.files
    offset: int  # of its gzip member in the file
    kind: str  # "response" or "revisit"
    target: str  # WARC-Target-URI (the fetched URL)
    canonical: str  # the canonical URL it stands for
    date: str  # WARC-Date
    digest: str
    status: int  # 200 for records whose HTTP headers were not read (reached a callback)
    post_page: int | None = None  # X-Newsspider-Post-Page: page N (2, 3 …) of a multi-page post

    @property
    def position(self) -> tuple[int, int]:
        """Where it is over all inputs (files in name order = time order)."""
        return (self.file, self.offset)


@dataclass
class Archive:
    files: list[Path] = field(default_factory=list)
    origins: list[OriginMap] = field(default_factory=list)  # per file
    incremental: set[int] = field(default_factory=set)  # files of incremental runs
    by_digest: dict[str, Entry] = field(default_factory=dict)  # first response record per payload
    by_canonical: dict[str, list[Entry]] = field(default_factory=dict)
    records: int = 0
    spans: int = 0  # ``-j N``: spans read by the workers
    spans_read_again: int = 0  # … of which read again from their true first record

    def add_file(self, path: Path) -> int:
        self.files.append(path)
        self.origins.append(OriginMap())
        return len(self.files) - 1

    def add(self, entry: Entry) -> None:
        if entry.kind == "response" and entry.digest:
            self.by_digest.setdefault(entry.digest, entry)
        self.by_canonical.setdefault(entry.canonical, []).append(entry)

    def entries(self) -> list[Entry]:
        """Every entry, in archive order."""
        return sorted((e for same in self.by_canonical.values() for e in same), key=lambda e: e.position)

    @staticmethod
    def is_candidate(status: int, post_page: int | None, callback: str | None, html: bool) -> bool:
        """May be page 1 of an article, as the crawl handed it to its article callback."""
        return 200 <= status < 300 and not post_page and (callback in ARTICLE_CALLBACKS if callback else html)


def _info_fields(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip().lower()] = value.strip()
    return fields


def _origins_from_info(fields: dict[str, str]) -> OriginMap | None:
    try:
        return OriginMap(fields.get(INFO_CANONICAL) or OriginMap.canonical,
                         fields.get(INFO_BASE_URL) or fields.get(INFO_CANONICAL) or OriginMap.fetch)
    except ValueError:
        return None


@dataclass
class Task:
    """A candidate page 1 with what the scan read of it, for a worker."""

    entry: Entry
    headers: list[tuple[str, str]]
    body: bytes | None  # None: a revisit whose original was not read yet
    origins: OriginMap


def scan_tasks(paths: Sequence[str | Path], archive: Archive, progress: Progress | None = None,
               reader: Reader | None = None) -> Iterator[Task]:
    """Read the inputs once, in order: index every response/revisit record into
    ``archive`` and yield each candidate page 1 with its headers and payload.  Raises
    ``UnreadableInput`` naming the file when one cannot be read."""
    files = warc_files(paths)
    if progress is not None:
        progress.start(sum(path.stat().st_size for path in files))
    done_bytes = 0
    for path in files:
        index = archive.add_file(path)
        records_before = archive.records
        with _reading(path), path.open("rb") as fh:
            limit = _complete_prefix(path, fh)
            fh.seek(0)
            source = fh if limit is None else _Prefix(fh, limit)
            yield from _records(source, path, index, archive, reader, progress, done_bytes)
        if archive.records == records_before and not path.name.endswith(PART_SUFFIX):
            raise UnreadableInput(f"{path}: not a readable WARC file (no records)")
        done_bytes += path.stat().st_size


@dataclass(frozen=True)
class Span:
    """The records of one archive file whose gzip members start in ``[start, end)``: a
    worker's share when ``reextract -j N`` cuts the files (one member per record)."""

    path: Path
    file: int
    start: int
    end: int
    limit: int | None  # a .part: where its complete records end


def plan_spans(paths: Sequence[str | Path], archive: Archive, span_bytes: int) -> list[Span]:
    """Register the inputs in ``archive`` (their warcinfo: origins, incremental run) and cut
    each into spans of about ``span_bytes``.  Raises ``UnreadableInput``."""
    spans = []
    for path in warc_files(paths):
        index = archive.add_file(path)
        with _reading(path), path.open("rb") as fh:
            limit = _complete_prefix(path, fh)
            size = path.stat().st_size if limit is None else limit
            fh.seek(0)
            first = next(iter(ArchiveIterator(fh if limit is None else _Prefix(fh, limit))), None)
            if first is None or first.format != "warc":
                if first is None and limit is not None:
                    continue  # a .part without a complete record
                raise UnreadableInput(f"{path}: not a readable WARC file (no WARC record at offset 0)")
            if first.rec_type == "warcinfo":
                _read_warcinfo(first.content_stream().read(), index, archive)
            fh.seek(0)
            step = span_bytes if fh.read(len(GZIP_MAGIC)) == GZIP_MAGIC else size  # a plain .warc: one span
        spans += [Span(path, index, start, min(start + step, size), limit) for start in range(0, size, max(1, step))]
    return spans


@dataclass
class SpanRead:
    """Where a span's reading started (None: no record starts in it) and stopped: the
    first gzip member at or after its end, as read from the member before (None: the
    end of the file)."""

    start: int | None = None
    stop: int | None = None


def scan_span(span: Span, archive: Archive, reader: Reader | None = None, read: SpanRead | None = None,
              start: int | None = None) -> Iterator[Task]:
    """``scan_tasks`` over one span: from its first gzip member (or from ``start``, a
    member known to begin there) to its last.  ``read`` gets where it started and stopped."""
    read = read if read is not None else SpanRead()
    with _reading(span.path), span.path.open("rb") as fh:
        read.start = start if start is not None else member_at_or_after(fh, span.start, span.end)
        if read.start is None:
            return  # one record longer than the span: the span before reads it
        fh.seek(read.start)
        source = fh if span.limit is None else _Prefix(fh, span.limit - read.start)
        yield from _records(source, span.path, span.file, archive, reader, stop_at=span.end, read=read)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    try:
        yield
    except UnreadableInput:
        raise
    except Exception as exc:  # warcio/zlib/OS errors: the file is not a readable WARC
        raise UnreadableInput(f"{path}: not a readable WARC file ({type(exc).__name__}: {exc})") from exc


def _complete_prefix(path: Path, fh: IO[bytes]) -> int | None:
    """Where the complete records of a ``.part`` end (None: any other file, read whole)."""
    if not path.name.endswith(PART_SUFFIX):
        return None
    ends = list(complete_members(fh))
    logger.warning("Unfinished archive %s (a crawl is running or was killed; the next crawl "
                   "recovers it): reading its %d complete records", path, len(ends))
    return ends[-1] if ends else 0


def _read_warcinfo(payload: bytes, index: int, archive: Archive) -> None:
    info = _info_fields(payload)
    archive.origins[index] = _origins_from_info(info) or OriginMap()
    if info.get("spider-mode") == "incremental":
        archive.incremental.add(index)


def _records(source: IO[bytes] | _Prefix, path: Path, index: int, archive: Archive, reader: Reader | None,
             progress: Progress | None = None, done_bytes: int = 0, stop_at: int | None = None,
             read: SpanRead | None = None) -> Iterator[Task]:
    """Index the records of ``source`` (from a gzip member's start) into ``archive`` and
    yield each candidate page 1; stops before the first member at or after ``stop_at``."""
    # HTTP headers are parsed below, only where they are needed (a third of the reading
    # time went into parsing every request and listing record's)
    iterator = ArchiveIterator(source, no_record_parse=True)
    for record in iterator:
        offset = iterator.offset  # the record's start (get_record_offset() reads it to the end)
        if stop_at is not None and offset >= stop_at:
            if read is not None:
                read.stop = offset
            return
        if record.format != "warc":  # warcio reads anything as an ARC record
            raise UnreadableInput(f"{path}: not a readable WARC file (no WARC record at offset {offset})")
        archive.records += 1
        if progress is not None:
            progress.scanned(archive.records, done_bytes + source.tell())
        kind = record.rec_type
        if kind == "warcinfo" and offset == 0:
            _read_warcinfo(record.content_stream().read(), index, archive)
            continue
        if kind not in ("response", "revisit"):
            continue
        headers = record.rec_headers
        target = headers.get_header("WARC-Target-URI") or ""
        page = headers.get_header(POST_PAGE_HEADER)
        callback = headers.get_header(CALLBACK_HEADER)
        post_page = int(page) if page and page.isdigit() else None
        http: StatusAndHeaders | None = None
        status, html = 200, False  # reached a callback: Scrapy's HttpErrorMiddleware let it pass
        if callback is None or (callback in ARTICLE_CALLBACKS and not post_page):
            http = _LOADER.load_http_headers(kind, target, record.raw_stream, record.length)
            if http is None:
                continue
            record.http_headers = http  # content_stream() decodes by them
            try:
                status = int(http.get_statuscode() or 0)
            except ValueError:
                status = 0
            html = "html" in (http.get_header("Content-Type") or "").lower()
        candidate = http is not None and Archive.is_candidate(status, post_page, callback, html)
        body = record.content_stream().read() if candidate and kind == "response" else None
        entry = Entry(
            file=index, offset=offset, kind=kind, target=target,
            canonical=headers.get_header(CANONICAL_HEADER) or target,
            date=headers.get_header("WARC-Date") or "",
            digest=headers.get_header("WARC-Payload-Digest") or "", status=status, post_page=post_page,
        )
        archive.add(entry)
        if not candidate:
            continue
        if kind == "revisit":
            original = archive.by_digest.get(entry.digest)
            body = reader.payload(original) if reader is not None and original is not None else None
        assert http is not None
        yield Task(entry, list(http.headers), body, archive.origins[index])


class _Prefix:
    """The first ``limit`` bytes of a file, for warcio (the complete records of a .part)."""

    def __init__(self, fh: IO[bytes], limit: int) -> None:
        self.fh = fh
        self.left = limit

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0 or size > self.left:
            size = self.left
        data = self.fh.read(size)
        self.left -= len(data)
        return data

    def tell(self) -> int:
        return self.fh.tell()
