"""``extract_all``: extraction while reading.  One process reads the archives in order and
extracts as it goes; with ``-j N`` the files are cut into spans (one gzip member per
record lets a reader start at any member) that ``N`` worker processes read and extract on
their own, the reading process only merging what they found.  Pages needing the whole
archive indexed (multi-page posts, a revisit whose original is in another span) are done
at the end — by the workers again when there are enough of them."""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from newsspider.offline.extract import Result, extract_entry, extract_task
from newsspider.offline.files import UnreadableInput
from newsspider.offline.reader import Reader
from newsspider.offline.scan import Archive, Entry, Span, SpanRead, plan_spans, scan_span, scan_tasks

if TYPE_CHECKING:
    from newsspider.offline.progress import Progress

#: Archive bytes per worker job with ``-j N`` (~65 article pages of Georgia Today: small
#: enough that the last jobs leave no worker idle for long, large enough that a job's
#: start — opening the file, finding its first record — costs nothing next to it).
SPAN_BYTES = 1 << 20
#: Pages per job of the final phase.
CHUNK = 32

logger = logging.getLogger(__name__)
_archive: Archive | None = None  # a worker's copy of the archive: its files; the index too in the final phase


def _init_worker(archive: Archive | None = None) -> None:
    global _archive
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    _archive = archive


def _pool(jobs: int, archive: Archive | None = None) -> ProcessPoolExecutor:
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                               initargs=(archive,))


@dataclass
class SpanOutcome:
    """What a worker found in one span."""

    read: SpanRead
    entries: list[Entry] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    records: int = 0
    error: UnreadableInput | None = None


def _scan_and_extract(span: Span, start: int | None = None, inputs: Archive | None = None) -> SpanOutcome:
    """A worker's job: read one span and extract its candidate pages (an unreadable span
    is reported, not raised: it may have started at a false boundary, see ``_follows``).
    ``inputs`` (default: the worker's copy, given once when it started) names the files
    and their origins."""
    inputs = inputs if inputs is not None else _archive
    assert inputs is not None
    archive = Archive(files=list(inputs.files), origins=list(inputs.origins))
    reader = Reader(archive)
    outcome = SpanOutcome(SpanRead())
    try:
        outcome.results = [extract_task(task) for task in scan_span(span, archive, reader, outcome.read, start)]
    except UnreadableInput as exc:
        outcome.error = exc
    finally:
        reader.close()
    outcome.entries, outcome.records = archive.entries(), archive.records
    return outcome


def _follows(outcome: SpanOutcome, span: Span, boundary: int | None) -> bool:
    """Did the span's reading start where the span before stopped (``boundary``, a member
    start found by reading on from the file's first record; None: the end of the file)?
    A payload may hold stored gzip members that look like records (an archived .warc.gz):
    a span starting inside one is read again from the true boundary."""
    if outcome.read.start is None:
        return boundary is None or boundary >= span.end
    return outcome.read.start == boundary


def _read_again(span: Span, archive: Archive, boundary: int | None) -> SpanOutcome:
    """The span read in this process from ``boundary``, the true start of its first record."""
    if boundary is None or boundary >= span.end:
        return SpanOutcome(SpanRead(None, boundary))  # the span before read to past its end
    return _scan_and_extract(span, start=boundary, inputs=archive)


def _extract_entries(entries: list[Entry]) -> list[Result]:
    assert _archive is not None
    reader = Reader(_archive)
    try:
        return [extract_entry(reader, entry) for entry in entries]
    finally:
        reader.close()


def extract_all(paths: Sequence[str | Path], archive: Archive, jobs: int, progress: Progress | None = None,
                span_bytes: int = SPAN_BYTES) -> Iterator[Result]:
    """Index the archives into ``archive`` and yield the extraction result of every
    candidate page 1 (see the module docstring)."""
    deferred: list[Entry] = []

    def finished(results: list[Result]) -> Iterator[Result]:
        for result in results:
            if result.deferred:
                deferred.append(result.entry)
            else:
                if progress is not None:
                    progress.extracted(result.item is not None)
                yield result

    if jobs <= 1:
        reader = Reader(archive)
        try:
            for task in scan_tasks(paths, archive, progress, reader):
                yield from finished([extract_task(task)])
        finally:
            reader.close()
    else:
        spans = plan_spans(paths, archive, span_bytes)
        if progress is not None:
            progress.start(sum(span.end - span.start for span in spans))
        read = 0
        boundary: int | None = 0
        with _pool(jobs, archive) as pool:  # the workers get the file list once, not with every span
            futures = [pool.submit(_scan_and_extract, span) for span in spans]
            for span, future in zip(spans, futures, strict=True):
                outcome = future.result()
                if span.start == 0:
                    boundary = 0  # a file's first span starts at its first record
                archive.spans += 1
                if not _follows(outcome, span, boundary):
                    logger.warning("%s: the span at byte %d did not start at a record; read again from byte %s",
                                   span.path, span.start, boundary)
                    archive.spans_read_again += 1
                    outcome = _read_again(span, archive, boundary)
                if outcome.error is not None:
                    raise outcome.error
                if outcome.read.start is not None:
                    boundary = outcome.read.stop
                for entry in outcome.entries:
                    archive.add(entry)
                archive.records += outcome.records
                read += span.end - span.start
                if progress is not None:
                    progress.scanned(archive.records, read)
                yield from finished(outcome.results)
    yield from _finish(archive, deferred, jobs, progress)


def _finish(archive: Archive, deferred: list[Entry], jobs: int, progress: Progress | None) -> Iterator[Result]:
    """The pages that needed the whole archive indexed, in worker processes when there are
    more than a job's worth (the workers start with a copy of the index)."""
    if jobs > 1 and len(deferred) > CHUNK:
        chunks = [deferred[i:i + CHUNK] for i in range(0, len(deferred), CHUNK)]
        with _pool(jobs, archive) as pool:
            batches: Iterator[list[Result]] = pool.map(_extract_entries, chunks)
            results = [result for batch in batches for result in batch]
    else:
        reader = Reader(archive)
        try:
            results = [extract_entry(reader, entry) for entry in deferred]
        finally:
            reader.close()
    for result in results:
        if progress is not None:
            progress.extracted(result.item is not None)
        yield result
