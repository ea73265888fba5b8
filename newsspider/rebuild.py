"""Rebuild the dataset offline: ``reextract`` (WARC archives -> items) and ``compact``
(dated JSON Lines outputs -> one line per article).

``reextract`` reads the archives written by ``newsspider.crawl.archive`` once, in order
(files sorted by name = by time).  The reading process indexes every ``response``/
``revisit`` record (position, URIs, date, payload digest, the spider callback that parsed
it: ``X-Newsspider-Callback``) and hands each page the crawl gave its article callback,
with its payload (a revisit's from the original record, by digest), to ``-j N`` worker
processes while it reads on.  A worker rebuilds the Scrapy response the crawl had and runs
the crawl's own code: ``ArticlePage``, ``check_article``, ``load_article`` with
``crawled_at`` = the archived fetch time.  Multi-page posts are finished at the end, when
the whole archive is indexed: further pages joined from their archived ``/<slug>/N/``
records, ``crawled_at`` = the fetch time of the last page (as in the crawl).

Then the item pipelines: ``RequireFields`` on every version; by default the latest
version of each article (by ``modified``, then fetch time) among the fetches the crawl
emitted (an incremental run does not emit an unchanged article) goes through ``DropDuplicates``;
with ``all_versions`` every distinct version (equal items but for ``crawled_at`` count
once) is kept, ``DropDuplicates`` applied per archive file (one file = one crawl run, as
in the crawl).  Output order: the archive order of each version's first page.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem
from scrapy.http import Headers, Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.statscollectors import StatsCollector
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
from newsspider.crawl.pipelines import DropDuplicates, RequireFields
from newsspider.extraction import ArticlePage, NotAnArticle
from newsspider.extraction.loader import load_article
from newsspider.items import ArticleItem
from newsspider.urls import OriginMap

logger = logging.getLogger(__name__)

#: Callbacks whose responses may be article pages (records without the header: any HTML).
ARTICLE_CALLBACKS = frozenset({"parse_article", "parse_recheck"})
WARC_NAMES = (".warc.gz", ".warc", PART_SUFFIX)
_LOADER = ArcWarcRecordLoader()


class UnreadableInput(Exception):
    """An input path that is missing or not a readable WARC / JSON Lines file."""


# --- scan -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Entry:
    """One archived response (or revisit) record."""

    seq: int  # position over all inputs, in archive order
    file: int  # index into Archive.files
    offset: int
    kind: str  # "response" or "revisit"
    target: str  # WARC-Target-URI (the fetched URL)
    canonical: str  # the canonical URL it stands for
    date: str  # WARC-Date
    digest: str
    callback: str | None
    post_page: int | None
    status: int
    html: bool
    refers_to: str | None = None  # revisit: target URI of the original


@dataclass
class Archive:
    files: list[Path] = field(default_factory=list)
    origins: list[OriginMap] = field(default_factory=list)  # per file
    incremental: set[int] = field(default_factory=set)  # files of incremental runs
    entries: list[Entry] = field(default_factory=list)
    by_digest: dict[str, Entry] = field(default_factory=dict)  # first response record per payload
    by_canonical: dict[str, list[Entry]] = field(default_factory=dict)
    records: int = 0

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if entry.kind == "response" and entry.digest:
            self.by_digest.setdefault(entry.digest, entry)
        self.by_canonical.setdefault(entry.canonical, []).append(entry)

    @staticmethod
    def is_candidate(status: int, post_page: int | None, callback: str | None, html: bool) -> bool:
        """May be page 1 of an article, as the crawl handed it to its article callback."""
        return 200 <= status < 300 and not post_page and (callback in ARTICLE_CALLBACKS if callback else html)


def warc_files(paths: Sequence[str | Path]) -> list[Path]:
    """The WARC files named or inside the directories named (sorted by name, i.e. by
    time), ``.warc.gz.part`` files of unfinished runs included."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(WARC_NAMES))
            if not found:
                raise UnreadableInput(f"{path}: no .warc.gz files in this directory")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return files


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
    seq = 0
    done_bytes = 0
    for path in files:
        index = len(archive.files)
        archive.files.append(path)
        archive.origins.append(OriginMap())
        records_before = archive.records
        try:
            with path.open("rb") as fh:
                source: IO[bytes] | _Prefix = fh
                if path.name.endswith(PART_SUFFIX):
                    # a run still writing it, or killed: its complete records only
                    ends = list(complete_members(fh))
                    fh.seek(0)
                    source = _Prefix(fh, ends[-1] if ends else 0)
                    logger.warning("Unfinished archive %s (a crawl is running or was killed; the next crawl "
                                   "recovers it): reading its %d complete records", path, len(ends))
                # HTTP headers are parsed below, only where they are needed (a third of
                # the reading time went into parsing every request and listing record's)
                iterator = ArchiveIterator(source, no_record_parse=True)
                for record in iterator:
                    if record.format != "warc":  # warcio reads anything as an ARC record
                        raise UnreadableInput(f"{path}: not a readable WARC file (no WARC record at offset "
                                              f"{iterator.get_record_offset()})")
                    archive.records += 1
                    if progress is not None:
                        progress.scanned(archive.records, done_bytes + fh.tell())
                    kind = record.rec_type
                    if kind == "warcinfo" and archive.records == records_before + 1:
                        info = _info_fields(record.content_stream().read())
                        archive.origins[index] = _origins_from_info(info) or OriginMap()
                        if info.get("spider-mode") == "incremental":
                            archive.incremental.add(index)
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
                    # the payload before the offset: warcio finds the offset by reading to the end
                    body = record.content_stream().read() if candidate and kind == "response" else None
                    entry = Entry(
                        seq=seq, file=index, offset=iterator.get_record_offset(), kind=kind, target=target,
                        canonical=headers.get_header(CANONICAL_HEADER) or target,
                        date=headers.get_header("WARC-Date") or "",
                        digest=headers.get_header("WARC-Payload-Digest") or "",
                        callback=callback, post_page=post_page, status=status, html=html,
                        refers_to=headers.get_header("WARC-Refers-To-Target-URI"),
                    )
                    seq += 1
                    archive.add(entry)
                    if not candidate:
                        continue
                    if kind == "revisit":
                        original = archive.by_digest.get(entry.digest)
                        body = reader.payload(original) if reader is not None and original is not None else None
                    assert http is not None
                    yield Task(entry, list(http.headers), body, archive.origins[index])
        except UnreadableInput:
            raise
        except Exception as exc:  # warcio/zlib/OS errors: the file is not a readable WARC
            raise UnreadableInput(f"{path}: not a readable WARC file ({type(exc).__name__}: {exc})") from exc
        if archive.records == records_before and not path.name.endswith(PART_SUFFIX):
            raise UnreadableInput(f"{path}: not a readable WARC file (no records)")
        done_bytes += path.stat().st_size


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


# --- extract ----------------------------------------------------------------------------------
class Reader:
    """Reads archived records at their offsets (one open file per archive)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._files: dict[int, IO[bytes]] = {}

    def _record(self, entry: Entry) -> Any:
        fh = self._files.get(entry.file)
        if fh is None:
            fh = self._files[entry.file] = self.archive.files[entry.file].open("rb")
        fh.seek(entry.offset)
        return next(iter(ArchiveIterator(fh)))

    def payload(self, entry: Entry) -> bytes | None:
        """The entry's body; a revisit's comes from the record it refers to."""
        if entry.kind == "revisit":
            original = self.archive.by_digest.get(entry.digest)
            if original is None:
                return None
            entry = original
        data: bytes = self._record(entry).content_stream().read()
        return data

    def response(self, entry: Entry) -> Response | None:
        """The Scrapy response the crawl's callback received (same class, URL, headers,
        body); None for a revisit whose original is not in the inputs."""
        record = self._record(entry)
        if entry.kind == "revisit":
            body = self.payload(entry)
            if body is None:
                return None
        else:
            body = record.content_stream().read()
        return make_response(entry, record.http_headers.headers, body)

    def close(self) -> None:
        for fh in self._files.values():
            fh.close()
        self._files.clear()


def make_response(entry: Entry, headers: list[tuple[str, str]], body: bytes) -> Response:
    """The Scrapy response the crawl's callback received: same class (by headers, URL and
    body, as Scrapy's downloader picks it), URL, status, headers and body."""
    scrapy_headers = Headers(headers)
    cls = responsetypes.from_args(headers=scrapy_headers, url=entry.target, body=body)
    return cls(url=entry.target, status=entry.status, headers=scrapy_headers, body=body)


def warc_datetime(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def next_page_of_post(pages: Sequence[ArticlePage]) -> str | None:
    """URL of page N+1 of a multi-page post, as the spider follows it."""
    wanted = str(len(pages) + 1)
    for href in pages[-1].page_links():
        if href.strip().rstrip("/").rsplit("/", 1)[-1] == wanted:
            return href
    return None


@dataclass
class Result:
    """What one candidate record gave: an item, or why not."""

    seq: int
    item: ArticleItem | None = None
    skipped: str | None = None  # not_article reason / later_page / missing_revisit / ...
    fetched: str = ""  # WARC-Date of the last page
    file: int = 0
    deferred: bool = False


def _later_page(archive: Archive, canonical: str, after: Entry, number: int) -> Entry | None:
    """The archived record of page ``number`` of a post whose previous page is ``after``:
    the first one fetched after it in the same run, else the nearest in time."""
    options = [e for e in archive.by_canonical.get(canonical, ()) if 200 <= e.status < 300]
    if not options:
        return None
    same_run = [e for e in options if e.file == after.file and e.seq > after.seq]
    if same_run:
        return min(same_run, key=lambda e: e.seq)
    return min(options, key=lambda e: abs(warc_datetime(e.date).timestamp() - warc_datetime(after.date).timestamp()))


def _first_page(entry: Entry, response: Response | None, origins: OriginMap,
                result: Result) -> ArticlePage | None:
    if response is None:
        result.skipped = "missing_revisit_original"
        return None
    if not isinstance(response, TextResponse):
        result.skipped = "not_html"
        return None
    page = ArticlePage.from_response(response, origins.to_canonical(response.url))
    try:
        page.check_article()
    except NotAnArticle as exc:
        result.skipped = exc.reason
        return None
    if page.page_number() > 1:
        result.skipped = "later_page"
        return None
    return page


def extract_task(task: Task) -> Result:
    """A worker's job: the item of a single-page post; a multi-page post (its further
    pages may be anywhere in the archive) or an unresolved revisit is ``deferred`` to
    ``extract_entry`` once the whole archive is indexed."""
    entry = task.entry
    result = Result(seq=entry.seq, file=entry.file, fetched=entry.date)
    if task.body is None:
        result.deferred = True
        return result
    page = _first_page(entry, make_response(entry, task.headers, task.body), task.origins, result)
    if page is None:
        return result
    if next_page_of_post([page]) is not None:
        result.deferred = True
        return result
    result.item = load_article([page], task.origins, crawled_at=warc_datetime(entry.date))
    return result


def extract_entry(reader: Reader, entry: Entry) -> Result:
    """The item of the post whose page 1 is ``entry``, further pages joined from the
    archive (the first fetched after the previous page in the same run)."""
    archive = reader.archive
    origins = archive.origins[entry.file]
    result = Result(seq=entry.seq, file=entry.file, fetched=entry.date)
    page = _first_page(entry, reader.response(entry), origins, result)
    if page is None:
        return result
    pages = [page]
    last = entry
    while (href := next_page_of_post(pages)) is not None:
        if not origins.is_site(href):
            break
        try:
            canonical = origins.to_canonical(href)
        except ValueError:
            break
        following = _later_page(archive, canonical, last, len(pages) + 1)
        more = reader.response(following) if following is not None else None
        if following is None or not isinstance(more, TextResponse):
            result.skipped = "multipage_incomplete"
            return result
        pages.append(ArticlePage.from_response(more, origins.to_canonical(more.url)))
        last = following
    result.item = load_article(pages, origins, crawled_at=warc_datetime(last.date))
    result.fetched = last.date
    return result


def _init_worker() -> None:
    logging.getLogger("scrapy").setLevel(logging.WARNING)


def _extract_tasks(tasks: list[Task]) -> list[Result]:
    return [extract_task(task) for task in tasks]


def _chunks(tasks: Iterator[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def extract_all(paths: Sequence[str | Path], archive: Archive, jobs: int, progress: Progress | None = None,
                chunk_size: int = 8) -> Iterator[Result]:
    """Read the archives once and extract while reading: candidates go to ``jobs``
    processes (at most a few chunks in flight: memory stays bounded); deferred ones
    (multi-page posts) are done at the end with the whole archive indexed."""
    reader = Reader(archive)
    deferred: list[Entry] = []

    def finished(results: list[Result]) -> Iterator[Result]:
        for result in results:
            if result.deferred:
                deferred.append(archive.entries[result.seq])
            else:
                if progress is not None:
                    progress.extracted(result.item is not None)
                yield result

    try:
        chunks = _chunks(scan_tasks(paths, archive, progress, reader), chunk_size)
        if jobs <= 1:
            for chunk in chunks:
                yield from finished(_extract_tasks(chunk))
        else:
            methods = multiprocessing.get_all_start_methods()
            context = multiprocessing.get_context("fork" if "fork" in methods else None)
            with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker) as pool:
                inflight: deque[Future[list[Result]]] = deque()
                for chunk in chunks:
                    inflight.append(pool.submit(_extract_tasks, chunk))
                    while len(inflight) > jobs * 4 or (inflight and inflight[0].done()):
                        yield from finished(inflight.popleft().result())
                while inflight:
                    yield from finished(inflight.popleft().result())
        for entry in deferred:
            result = extract_entry(reader, entry)
            if progress is not None:
                progress.extracted(result.item is not None)
            yield result
    finally:
        reader.close()


# --- versions and pipelines -------------------------------------------------------------------
def _content(item: ArticleItem) -> str:
    data = asdict(item)
    data.pop("crawled_at", None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def _modified_key(item: ArticleItem) -> tuple[int, float]:
    if not item.modified:
        return (0, 0.0)
    try:
        moment = datetime.fromisoformat(item.modified)
    except ValueError:
        return (0, 0.0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (1, moment.timestamp())


class OfflineStats(StatsCollector):
    """Scrapy's stats collector without a crawler, for the pipelines run offline."""

    def __init__(self) -> None:
        self._dump = False
        self._stats: dict[str, Any] = {}


@dataclass
class Outcome:
    items: list[ArticleItem]
    stats: dict[str, Any]


def select_versions(results: Iterable[Result], all_versions: bool = False,
                    incremental_files: Collection[int] = ()) -> Outcome:
    """Pipelines and version choice over the extraction results (see module docstring)."""
    stats = OfflineStats()
    require = RequireFields(stats)
    skipped: dict[str, int] = {}
    valid: list[Result] = []
    for result in results:
        if result.item is None:
            reason = result.skipped or "unknown"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        try:
            require.process_item(result.item)
        except DropItem as exc:
            logger.warning("Dropped item: %s", exc)
            continue
        valid.append(result)
    valid.sort(key=lambda r: r.seq)
    chosen: list[Result]
    if all_versions:
        chosen = []
        per_run: dict[int, DropDuplicates] = {}
        seen: dict[str, set[str]] = {}
        for result in valid:
            assert result.item is not None
            dedupe = per_run.setdefault(result.file, DropDuplicates(stats))
            try:
                dedupe.process_item(result.item)
            except DropItem:
                continue
            versions = seen.setdefault(str(result.item.url), set())
            content = _content(result.item)
            if content in versions:
                stats.inc_value("newsspider/reextract/same_version")
                continue
            versions.add(content)
            chosen.append(result)
    else:
        # Per article, the fetches the crawl emitted: a new or changed version, or any
        # fetch of a full run (an incremental run skips an unchanged article); of those
        # the latest version (by modified, then fetch time) — the dataset's line.
        fetches: dict[str, list[Result]] = {}
        for result in valid:
            assert result.item is not None
            fetches.setdefault(str(result.item.url), []).append(result)
        latest: dict[str, Result] = {}
        for url, results in fetches.items():
            previous = None
            for result in sorted(results, key=lambda r: (r.fetched, r.seq)):
                assert result.item is not None
                content = _content(result.item)
                emitted = content != previous or result.file not in incremental_files
                previous = content
                if not emitted:
                    continue
                best = latest.get(url)
                key = (_modified_key(result.item), result.fetched, result.seq)
                if best is None or key > (_modified_key(best.item), best.fetched, best.seq):  # type: ignore[arg-type]
                    latest[url] = result
        dedupe = DropDuplicates(stats)
        chosen = []
        for result in sorted(latest.values(), key=lambda r: r.seq):
            try:
                dedupe.process_item(result.item)
            except DropItem as exc:
                logger.info("Dropped item: %s", exc)
                continue
            chosen.append(result)
    values = stats.get_stats()
    for reason, count in skipped.items():
        values[f"newsspider/reextract/skipped/{reason}"] = count
    return Outcome([r.item for r in chosen if r.item is not None], values)


def write_jsonl(items: Iterable[Any], output: Path) -> int:
    """Items as the crawl's feed writes them (Scrapy's JSON Lines exporter, UTF-8), into
    ``output`` atomically (temp file + rename)."""
    from scrapy.exporters import JsonLinesItemExporter

    output.parent.mkdir(parents=True, exist_ok=True)
    temp = output.with_name(f"{output.name}.{os.getpid()}.tmp")
    count = 0
    try:
        with temp.open("wb") as fh:
            exporter = JsonLinesItemExporter(fh, encoding="utf-8")  # type: ignore[arg-type]
            exporter.start_exporting()
            for item in items:
                exporter.export_item(item)
                count += 1
            exporter.finish_exporting()
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp, output)
    finally:
        if temp.exists():
            temp.unlink()
    return count


# --- progress ---------------------------------------------------------------------------------
class Progress:
    """Records read, articles extracted, rate and ETA (from the bytes of the inputs read): a
    live line on a TTY, an INFO log line every ``interval`` seconds otherwise."""

    def __init__(self, stream: IO[str] | None = None, interval: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = 0.2 if self.tty else interval
        self.clock = clock
        self.started = clock()
        self.last = self.started
        self.records = 0
        self.total_bytes = 0
        self.read_bytes = 0
        self.pages = 0
        self.articles = 0

    def start(self, total_bytes: int) -> None:
        self.started = self.last = self.clock()
        self.total_bytes = total_bytes

    def scanned(self, records: int, read_bytes: int) -> None:
        self.records = records
        self.read_bytes = read_bytes
        if records % 64 == 0:
            self._maybe_show()

    def extracted(self, article: bool) -> None:
        self.pages += 1
        self.articles += article
        self._maybe_show()

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        share = self.read_bytes / self.total_bytes if self.total_bytes else 0.0
        eta = elapsed * (1 - share) / share if share > 0 else 0.0
        return (f"reextract: {self.records} records read ({share:.0%}), {self.articles} articles, "
                f"{self.articles / elapsed:.0f} articles/s, ETA {int(eta) // 60}:{int(eta) % 60:02d}")

    def _maybe_show(self) -> None:
        if self.clock() - self.last >= self.interval:
            self._show()

    def _show(self) -> None:
        self.last = self.clock()
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
            self.stream.flush()
        else:
            logger.info(self.line())

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K\n")
            self.stream.flush()


def reextract(paths: Sequence[str | Path], output: Path, *, jobs: int = 1, all_versions: bool = False,
              progress: Progress | None = None) -> Outcome:
    """Rebuild the dataset from WARC archives into ``output``; raises ``UnreadableInput``."""
    archive = Archive()
    try:
        outcome = select_versions(extract_all(paths, archive, jobs, progress), all_versions=all_versions,
                                  incremental_files=archive.incremental)
    finally:
        if progress is not None:
            progress.close()
    write_jsonl(outcome.items, output)
    outcome.stats["newsspider/reextract/records"] = archive.records
    outcome.stats["newsspider/reextract/files"] = len(archive.files)
    outcome.stats["newsspider/reextract/articles"] = len(outcome.items)
    return outcome


# --- compact ----------------------------------------------------------------------------------
def jsonl_files(paths: Sequence[str | Path]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(".jsonl"))
        elif path.is_file():
            files.append(path)
        else:
            raise UnreadableInput(f"{path}: no such file or directory")
    return files


def compact(paths: Sequence[str | Path], output: Path) -> tuple[int, int]:
    """The dated outputs merged: one line per article, its latest version (by
    ``modified``, then ``crawled_at``, then file order).  Returns (lines read, written)."""
    latest: dict[str, tuple[tuple[Any, ...], int, dict[str, Any]]] = {}
    order = 0
    read = 0
    for path in jsonl_files(paths):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UnreadableInput(f"{path}: cannot read ({exc})") from exc
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise UnreadableInput(f"{path}:{number}: not a JSON line ({exc})") from exc
            if not isinstance(item, dict) or not item.get("url"):
                raise UnreadableInput(f"{path}:{number}: not an article item")
            read += 1
            order += 1
            article = ArticleItem(**{k: v for k, v in item.items() if k in ArticleItem.__dataclass_fields__})
            key = (_modified_key(article), str(item.get("crawled_at") or ""), order)
            best = latest.get(item["url"])
            if best is None or key > best[0]:
                latest[item["url"]] = (key, best[1] if best else order, item)
    items = [entry[2] for entry in sorted(latest.values(), key=lambda e: e[1])]
    written = write_jsonl((ItemAdapter(i).asdict() for i in items), output)
    return read, written
